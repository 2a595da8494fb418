// The promotion gate: whether a freshly registered version becomes CURRENT.
// Internal to the trainer (trainer.cc calls it between writing the version
// directory and promoting it).
#ifndef RECUR_TRAINER_PROMOTION_H_
#define RECUR_TRAINER_PROMOTION_H_

#include <string>

#include "absl/status/status.h"
#include "scorer/registry.h"
#include "trainer/trainer.h"
#include "trainer/training_set.h"

namespace recur {

// Why `m` (the model's evaluation) cannot judge a model — no rows, one class,
// a NaN ROC-AUC — or "" when it can. `what` names the rows ("test set").
std::string WhyUnjudgeable(const BinaryMetrics& m, const std::string& what);

// Sets r->promoted and r->promotion_note, saying why. Never promoted without
// o.force: an evaluation that cannot judge (WhyUnjudgeable), or a model worse
// than CURRENT's ROC-AUC on the same rows `eval`: the time split's test
// cutoffs, or with k-fold every row (the new model's out-of-fold scores against
// CURRENT's scores). A version equal to CURRENT (same data, options and seed) stays CURRENT.
// Promote is the caller's, after the version directory is complete.
absl::Status Gate(const ModelRegistry& registry, const std::string& target, const TrainingSet& eval,
                  const TrainOptions& o, TrainResult* r);

}  // namespace recur

#endif  // RECUR_TRAINER_PROMOTION_H_
