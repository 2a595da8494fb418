// Stratified k-fold assignment for cross-validation with a single cutoff
// (docs/DESIGN.md, "Trainer and model registry"): each fold gets the same share
// of positives and of negatives (within one row), rows shuffled by a seeded
// generator of recur's own, so the folds are the same on every machine.
//
//   auto folds = recur::StratifiedFolds(labels, 5, seed);   // fold of every row
#ifndef RECUR_TRAINER_FOLDS_H_
#define RECUR_TRAINER_FOLDS_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"

namespace recur {

// The fold (0..k-1) of every row. FailedPrecondition when k < 2 or when there
// are fewer than k rows of either label (a fold would see only one class).
absl::StatusOr<std::vector<int>> StratifiedFolds(const std::vector<float>& labels, int k,
                                                 uint64_t seed);

}  // namespace recur

#endif  // RECUR_TRAINER_FOLDS_H_
