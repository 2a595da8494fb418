// Trainer: a snapshot (or any state dir) in, a model in the registry out.
//   models/<target>/<version>/{model.json, meta.json, report.html}, models/<target>/CURRENT
//
//   recur::TrainOptions o;  o.state_dir = "snapshot"; o.models_dir = "models";
//   auto result = recur::Train(o);   // StatusOr<TrainResult>
//
// Same snapshot, options and seed give a byte-identical model.json.
#ifndef RECUR_TRAINER_TRAINER_H_
#define RECUR_TRAINER_TRAINER_H_

#include <map>
#include <string>

#include "absl/status/statusor.h"
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
  bool force = false;  // promote even when worse than CURRENT
};

struct TrainResult {
  std::string version;
  std::string model_dir;
  BinaryMetrics model;
  BinaryMetrics baseline;
  std::string baseline_name;
  int rounds = 0;
  int64_t train_rows = 0;
  int64_t valid_rows = 0;
  bool promoted = false;
  std::string promotion_note;
};

absl::StatusOr<TrainResult> Train(const TrainOptions& options);

}  // namespace recur

#endif  // RECUR_TRAINER_TRAINER_H_
