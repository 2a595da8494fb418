// Time rules of recur, in one place: UTC days, the retention horizon, lateness,
// and the formatting and parsing of the times people type or read. Every
// component (store, pipeline, trainer, tools) asks this file, so "is this event
// inside the horizon", "is it late" and "which day is 2026-01-31" have one answer.
//
//   int32_t day = recur::DayOf(event_time_ms);
//   if (!recur::WithinHorizon(t, max_t, recur::kDefaultRetentionDays)) ...
//   auto as_of = recur::ParseTime("2026-01-31", recur::DayBound::kEnd);  // last ms of that day
//   std::cout << recur::FormatDay(day);                                 // "2026-01-31"
//
// Event time drives everything in recur: nothing here reads the wall clock.
#ifndef RECUR_BASE_TIME_H_
#define RECUR_BASE_TIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace recur {

inline constexpr int64_t kMillisPerDay = 86'400'000;

// Retention of a store, in UTC days, unless the store was created with another
// (--retention-days of import, run and replay; recorded in the store).
inline constexpr int32_t kDefaultRetentionDays = 400;
// The shortest retention: the feature catalog looks back 365 days.
inline constexpr int32_t kMinRetentionDays = 366;
// An event older than its source partition's stream time minus this is "late"
// (still applied, counted).
inline constexpr int64_t kDefaultAllowedLatenessMs = 3'600'000;

// Floor division that is correct for negative numerators (times before 1970).
inline constexpr int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// A UTC calendar day, counted from 1970-01-01 (day 0).
inline constexpr int32_t DayOf(int64_t time_ms) {
  return static_cast<int32_t>(FloorDiv(time_ms, kMillisPerDay));
}

// The first UTC day inside a horizon of `retention_days` days that ends with the
// day of `max_event_time_ms` (the newest event a store holds).
inline constexpr int32_t HorizonFirstDay(int64_t max_event_time_ms, int32_t retention_days) {
  return DayOf(max_event_time_ms) - retention_days + 1;
}

// True when an event at `event_time_ms` may still be applied to a store whose
// newest event is at `max_event_time_ms` (0: an empty store, everything fits).
inline constexpr bool WithinHorizon(int64_t event_time_ms, int64_t max_event_time_ms,
                                    int32_t retention_days) {
  return max_event_time_ms <= 0 ||
         DayOf(event_time_ms) >= HorizonFirstDay(max_event_time_ms, retention_days);
}

// True when an event is older than `reference_ms` (its source partition's stream
// time; 0 when nothing was seen yet) minus the allowed lateness.
inline constexpr bool IsLate(int64_t event_time_ms, int64_t reference_ms,
                             int64_t allowed_lateness_ms = kDefaultAllowedLatenessMs) {
  return reference_ms > 0 && event_time_ms < reference_ms - allowed_lateness_ms;
}

// "2026-01-31" for a day number.
std::string FormatDay(int32_t day);
// "2026-01-31": the UTC day holding `time_ms`.
std::string FormatDayOfMs(int64_t time_ms);
// "2026-01-31T12:00:00Z" (second precision, UTC).
std::string FormatTimeMs(int64_t time_ms);

// What a bare date means where a point in time is wanted.
enum class DayBound {
  kStart,  // 00:00:00.000 of that UTC day (a start position, a simulation start)
  kEnd,    // 23:59:59.999 of that UTC day (an "as of" that includes the whole day)
};

// Parses a time as people type it: milliseconds since the epoch ("1767225600000",
// optionally negative), a UTC date "YYYY-MM-DD" (its start or end, per `bound`) or
// RFC 3339 ("2026-01-31T12:00:00Z"). Never throws; InvalidArgument names the text.
absl::StatusOr<int64_t> ParseTime(std::string_view text, DayBound bound = DayBound::kStart);

}  // namespace recur

#endif  // RECUR_BASE_TIME_H_
