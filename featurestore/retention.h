// Retention is a store setting (issue 16): the UTC days of history a store
// keeps (its horizon, base/time.h), chosen when the store is created
// (`--retention-days` of recur import, run and replay) and recorded in it, so
// later commands need not repeat it and cannot silently disagree with it.
//
// FeatureStore::Open applies these rules to Options::retention_days:
//  - 0: the recorded value; kDefaultRetentionDays for a new store and for one
//    made by a recur that did not record it (that recur always kept 400 days);
//  - a writable open with another value than the recorded one: refused
//    (FailedPrecondition naming both) — a store pruned at one horizon cannot
//    become another's; replay or re-import into a new state dir instead;
//  - a read-only open (the trainer, inspect): a shorter value is a view that
//    ignores the older days; a longer one is refused, the days are gone.
//
//   auto days = recur::StateDirRetention("state", /*requested=*/0);  // the dir's
#ifndef RECUR_FEATURESTORE_RETENTION_H_
#define RECUR_FEATURESTORE_RETENTION_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace recur {

// The retention a writable open of the state dir at `path` would use with
// `requested` (0: the recorded one): what `recur run` and `replay` give their
// decoder before any store is opened. Reads the existing partition stores
// read-only (safe beside a running pipeline); a dir without stores gets
// `requested` or kDefaultRetentionDays. FailedPrecondition when `requested`
// differs from the recorded value, or the stores disagree.
absl::StatusOr<int32_t> StateDirRetention(const std::string& path, int32_t requested);

}  // namespace recur

#endif  // RECUR_FEATURESTORE_RETENTION_H_
