// Online/offline parity: do the scores the pipeline published match what the
// trainer's own code computes from the same store?
//
//   recur::ParityOptions o;  o.state_dir = "snapshot";  o.models_dir = "models";
//   auto r = recur::CheckParity(o);          // StatusOr<ParityReport>
//   for (const auto& d : r->differences) ... // by customer and field
//
// For every customer of the state dir (a `recur snapshot`, or the dir of a
// stopped `recur run`) with a delivered last score and no pending mark:
//  - offline: the trainer's point-in-time row as of the score's as_of
//    (BuildLabelledSet, the path of business-label training; EncodeCategories'
//    encoding with each model's vocabulary);
//  - online: the scorer's row, CustomerState::ComputeFeatures with the store's
//    own horizon, FeatureRow with the model's vocabulary, as streams/scoring does;
//  - compared: every catalog feature (exact, NaN equals NaN; top_category_6m by
//    name), each reason's value in the score against the offline row, and each
//    published probability against the model version the score names applied
//    to the offline row (within `tolerance`).
// Customers with a pending mark are skipped (their state is newer than their
// last delivered score). Read-only: never writes to the state dir.
#ifndef RECUR_TRAINER_PARITY_H_
#define RECUR_TRAINER_PARITY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/feature_store.h"
#include "featurestore/types.h"

namespace recur {

struct ParityOptions {
  std::string state_dir;
  std::string models_dir = "models";
  int32_t retention_days = 0;  // the horizon, as TrainOptions::retention_days (0: the store's)
  double tolerance = 1e-6;     // on probabilities
  // (customers read, customers in the store) while building the offline rows.
  std::function<void(int64_t, int64_t)> progress;
};

struct ParityDifference {
  CustomerKey key;
  int64_t as_of_ms = 0;
  std::string kind;     // "feature", "reason" or "score"
  std::string field;    // catalog feature name, or the score field
  std::string online;   // value the pipeline used / published
  std::string offline;  // value the trainer's code gives
};

struct ParityReport {
  int64_t customers = 0;        // customers in the state dir
  int64_t checked = 0;          // customers with a last score, compared
  int64_t pending_skipped = 0;  // customers with a last score and a pending mark
  int64_t no_model =
      0;  // probabilities not checked: the score's model version is not in the registry
  int64_t customers_differing = 0;
  std::vector<std::string> model_versions;    // "target/version" of every model used
  std::vector<ParityDifference> differences;  // in store order
};

// NotFound / FailedPrecondition for a missing or unreadable state dir;
// DataLoss for a stored score that does not parse.
absl::StatusOr<ParityReport> CheckParity(const ParityOptions& options);

}  // namespace recur

#endif  // RECUR_TRAINER_PARITY_H_
