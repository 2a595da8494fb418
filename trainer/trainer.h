// Trainer: a snapshot (or any state dir) in, a model in the registry out: a new
// version directory of the target (model.json, meta.json, report.html) and,
// when it passes the promotion gate, CURRENT (scorer/registry.h owns the layout).
//
//   recur::TrainOptions o;  o.state_dir = "snapshot"; o.models_dir = "models";
//   auto result = recur::Train(o);   // StatusOr<TrainResult>
//
// Same snapshot, options and seed give a byte-identical model.json.
#ifndef RECUR_TRAINER_TRAINER_H_
#define RECUR_TRAINER_TRAINER_H_

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/feature_store.h"
#include "trainer/labels.h"
#include "trainer/metrics.h"

namespace recur {

struct TrainOptions {
  std::string state_dir;
  std::string models_dir = "models";
  LabelOptions labels;
  int max_rounds = 300;
  int early_stopping_rounds = 20;
  uint64_t seed = 42;
  std::map<std::string, std::string> params;  // override XGBoost parameters
  bool force = false;  // promote even when worse than CURRENT or unjudgeable (promotion.h)
  // Labels given by the business (trainer/business_labels.h) instead of the
  // event-derived ones; `labels.target` still names the registry slot.
  std::string labels_csv;
  int folds = 5;  // k of the stratified k-fold used when there is one cutoff
  // Time split: the last N cutoffs are reported on (never trained or
  // early-stopped on); fewer when there are too few cutoffs (trainer/split.h).
  int test_cutoffs = 3;
  // Non-empty: write the training set as trained, with the test or out-of-fold
  // predictions, to <export_dir>/training_set.csv (trainer/export.h).
  std::string export_dir;
  int max_cutoffs = 0;  // event labels: only the latest N month-end cutoffs (0 = all)
  // Event labels at these cutoffs (ms, e.g. ParseAsOf("2025-03-15")) instead of
  // month ends; each must lie in the snapshot with its label window complete.
  std::vector<int64_t> cutoffs;
  // The horizon training uses: 0, the retention recorded in the snapshot's
  // stores; a shorter one ignores the older days; a longer one is refused (the
  // stores pruned those days: featurestore/retention.h).
  int32_t retention_days = 0;
  double threshold = 0.5;  // precision and recall count scores >= threshold as predicted positive
};

struct ShopMetrics {
  BinaryMetrics model;
  BinaryMetrics baseline;
};

// Model and baseline on the rows of one test cutoff or one fold.
struct PartMetrics {
  std::string part;  // "2025-06-30" (time split) or "fold 1" (k-fold)
  BinaryMetrics model;
  BinaryMetrics baseline;
};

struct TrainResult {
  std::string version;
  std::string model_dir;
  BinaryMetrics model;
  BinaryMetrics baseline;
  std::string baseline_name;
  std::map<std::string, ShopMetrics> by_shop;  // the same rows, per shop
  std::vector<float> importance;               // total gain per catalog feature
  int rounds = 0;
  std::string split;  // "time" or "<k>-fold"
  int64_t train_rows = 0;
  int64_t missing_labels = 0;   // business label rows whose customer is not in the snapshot
  int64_t valid_rows = 0;       // rows reported on: the test cutoffs', or all (k-fold, out of fold)
  int64_t early_stop_rows = 0;  // time split: the early-stopping cutoff's rows
  std::string early_stop_cutoff;   // time split: its day
  std::vector<PartMetrics> parts;  // per test cutoff, or per fold, in order
  double fold_roc_auc_mean = NAN;  // k-fold: mean and sample sd of the folds' ROC-AUC
  double fold_roc_auc_sd = NAN;
  std::vector<int> fold_rounds;  // k-fold: each fold's early-stopped round count
  std::string export_path;       // the CSV written for --export
  double set_seconds = 0;        // wall time building the training set
  double train_seconds = 0;      // wall time boosting and predicting (registry writes excluded)
  bool promoted = false;
  std::string promotion_note;
};

absl::StatusOr<TrainResult> Train(const TrainOptions& options);

}  // namespace recur

#endif  // RECUR_TRAINER_TRAINER_H_
