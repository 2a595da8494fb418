// Labels given by the business instead of derived from events (docs/DESIGN.md,
// "Labels"): a CSV of shop_id,customer_id,label[,as_of]. A header line (a first
// line naming any of shop_id/shop, customer_id/customer, label, as_of, case-
// insensitive) gives the columns in any order; without one the order is that.
// The separator is ';' when the first line has ';' and no ',' (a comma-decimal
// locale's spreadsheet), else ','. label is 0 or 1, also 0.0/1.0 or true/false;
// as_of is YYYY-MM-DD (features as of the end of that UTC day) or milliseconds
// since the epoch, and defaults to the snapshot's last day. Every bad row is an
// InvalidArgument naming the file, the line and the column:
//
//   auto rows = recur::ReadLabelsCsv("labels.csv", default_as_of_ms);
//   // "labels.csv:7: column 3 (label): must be 0 or 1 (...), got 'yes'"
#ifndef RECUR_TRAINER_BUSINESS_LABELS_H_
#define RECUR_TRAINER_BUSINESS_LABELS_H_

#include <cstdint>
#include <istream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "featurestore/types.h"

namespace recur {

// An as_of or cutoff: YYYY-MM-DD (the end of that UTC day) or milliseconds
// since the epoch; InvalidArgument naming the text otherwise.
absl::StatusOr<int64_t> ParseAsOf(const std::string& text);

struct LabelRow {
  CustomerKey key;
  float label = 0;
  int64_t as_of_ms = 0;  // the cutoff: features as of it
  int line = 0;          // 1-based line in the file, for messages
};

// Parses the CSV text of `in`; `name` is how messages call the file. Fields may
// be quoted ("a,b", "" for a quote); blank lines are skipped; a repeated
// (shop, customer, as_of) is an error naming both lines; no rows is an error.
absl::StatusOr<std::vector<LabelRow>> ParseLabelsCsv(std::istream& in, const std::string& name,
                                                     int64_t default_as_of_ms);
// The same for a file (NotFound when it cannot be opened).
absl::StatusOr<std::vector<LabelRow>> ReadLabelsCsv(const std::string& path,
                                                    int64_t default_as_of_ms);

// InvalidArgument naming the first row whose as_of day lies outside the history
// a snapshot holds: from first_day (the horizon) to the end of the month of
// last_day (its last event's day), so a month-end label is accepted when the
// month's last event came a few days before its end.
absl::Status CheckAsOfRange(const std::vector<LabelRow>& rows, const std::string& name,
                            int32_t first_day, int32_t last_day);

}  // namespace recur

#endif  // RECUR_TRAINER_BUSINESS_LABELS_H_
