// How the trainer splits its rows so that the figures it reports come from rows
// the reported model never saw in any way (docs/DESIGN.md, "Trainer and model
// registry"). Internal to the trainer.
//
// Time split (several cutoffs, in time order): the earliest train, the next one
// early-stops (chooses the number of rounds), the last --test-cutoffs are only
// predicted and reported on. The registered model is the one trained on the
// train cutoffs with the early-stopped round count (no refit).
//
// k-fold (one cutoff): each outer fold's model trains on the other folds minus
// an inner stratified early-stopping share (1/(k-1) of them, seeded) and
// predicts its held-out fold; the registered model trains on every row for the
// median (lower, when k is even) of the folds' round counts.
#ifndef RECUR_TRAINER_SPLIT_H_
#define RECUR_TRAINER_SPLIT_H_

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "scorer/model.h"
#include "scorer/xgb.h"
#include "trainer/trainer.h"
#include "trainer/training_set.h"

namespace recur {

// What a split hands to evaluation, the registry and --export.
struct Fitted {
  XgbBooster model;  // the model to register
  int rounds = 0;
  // The rows reported on (test cutoffs, or every row in the set's order) and
  // their test or out-of-fold predictions.
  TrainingSet eval;
  std::vector<float> scores;
  std::vector<int> eval_part;           // each eval row's index in part_names (k-fold: its fold)
  std::vector<std::string> part_names;  // test cutoff days, or "fold 1" ..
  CategoryVocab vocab;                  // the registered model's vocabulary
  int64_t train_rows = 0;               // rows the registered model trained on
  int64_t early_stop_rows = 0;          // time split: rows of the early-stopping cutoff
  std::string early_stop_cutoff;        // time split: its day
  TrainingSet early_stop;               // time split, with keep_rows: those rows
  std::vector<int> fold_rounds;         // k-fold: each fold's early-stopped rounds
};

// `cutoffs`: the distinct cutoffs of `set`'s rows, ascending. FailedPrecondition
// (naming how many exist and how many are needed) when there are fewer than 3.
// The test and early-stopping rows move out of `set`; the training rows stay
// (no second copy of the matrix) and are freed once XGBoost holds them unless
// `keep_rows` (--export), which also keeps fit.early_stop.
absl::StatusOr<Fitted> FitTimeSplit(TrainingSet& set, const std::vector<int64_t>& cutoffs,
                                    const TrainOptions& o, bool keep_rows);

// Every row of `set` moves into fit.eval (same order).
absl::StatusOr<Fitted> FitKFold(TrainingSet& set, const TrainOptions& o);

// The XGBoost parameters (defaults, then o.params) and the feature types.
std::map<std::string, std::string> Params(const TrainOptions& o);
std::vector<std::string> FeatureTypes();

}  // namespace recur

#endif  // RECUR_TRAINER_SPLIT_H_
