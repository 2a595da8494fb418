// The model registry: the one place that knows its layout and meta.json.
//
//   <models_dir>/<target>/CURRENT                  the promoted version, one line
//   <models_dir>/<target>/<version>/model.json     XGBoost's JSON model
//   <models_dir>/<target>/<version>/meta.json      ModelMeta
//   <models_dir>/<target>/<version>/report.html    the trainer's report
//
//   recur::ModelRegistry registry("models");
//   auto model = registry.LoadCurrent("activity_decline_90d");  // NotFound: none promoted
//   auto meta = recur::ModelMeta::Read(registry.VersionDir(target, version));
//   absl::Status s = registry.Promote(target, version);        // atomic CURRENT replace
//
//   recur::CurrentWatch watch(registry, {"activity_decline_90d", "repurchase_30d"});
//   if (watch.Changed()) ...                                     // hot reload
//
// Writers (the trainer) build a version directory, then Promote it: CURRENT is
// replaced by a rename, so a reader (the pipeline's hot reload) sees the old
// version or the new one, never a torn file.
// Thread-safety: ModelRegistry is an immutable value (its methods touch only
// the file system); a CurrentWatch belongs to one thread.
#ifndef RECUR_SCORER_REGISTRY_H_
#define RECUR_SCORER_REGISTRY_H_

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "scorer/drift.h"

namespace recur {

class Model;

// meta.json of one registered model: what the trainer records and what the
// scorer and the parity check read back. Write() produces exactly the bytes the
// trainer has always written (keys sorted, two-space indent, final newline), so
// readers of meta.json outside recur see no change. Parse() accepts any subset
// of the keys (older or hand-written files): a missing key keeps its default.
struct ModelMeta {
  // One "metrics" object; NaN is written as null and read back as NaN.
  struct Metrics {
    struct Bin {
      double mean_score = 0;
      double positive_rate = 0;
      int64_t rows = 0;
    };
    double roc_auc = 0, pr_auc = 0, log_loss = 0, base_rate = 0, lift_top_decile = 0;
    int64_t rows = 0;
    double threshold = 0.5, precision = 0, recall = 0;
    std::optional<std::vector<Bin>> calibration;  // absent in metrics_by_shop
  };
  struct ShopMetrics {
    Metrics model, baseline;
  };
  struct Importance {
    std::string feature;
    double total_gain = 0;
    double share = 0;
  };
  // "split": {"kind": "time", "early_stop_cutoff", "test_cutoffs"} or
  // {"kind": "stratified_kfold", "folds", "seed", "fold_rounds", "roc_auc_mean",
  // "roc_auc_sd"}; files written before the honest split (issue 16) have
  // "validation_cutoff" instead, or no fold figures. Empty keys are not written.
  struct Split {
    std::string kind = "time";
    std::string validation_cutoff;  // older files only
    std::string early_stop_cutoff;
    std::vector<std::string> test_cutoffs;  // UTC days, reported on
    int folds = 0;
    uint64_t seed = 0;
    std::vector<int> fold_rounds;             // each outer fold's early-stopped round count
    double roc_auc_mean = 0, roc_auc_sd = 0;  // over the folds (NaN when undefined)
  };
  // One entry of "metrics_by_part": a test cutoff ("2025-06-30") or a fold
  // ("fold 1"), model and baseline on its rows only.
  struct Part {
    std::string part;
    ShopMetrics metrics;
  };
  // "label": {"source": "events", "repurchase_days", "decline_days",
  // "decline_ratio"} or {"source": "csv", "file", "rows", "not_in_snapshot"}.
  struct Label {
    std::string source = "events";
    int repurchase_days = 0, decline_days = 0;
    double decline_ratio = 0;
    std::string file;
    int64_t rows = 0, not_in_snapshot = 0;
  };

  std::string version;  // empty: the version directory's name
  std::string target;
  std::string schema_hash;  // must equal SchemaHash() for the scorer to load it
  std::string catalog_version;
  std::vector<std::string> features, feature_types;
  // Vocabulary per categorical feature ("top_category_6m": names, code = index).
  std::map<std::string, std::vector<std::string>> categories;
  std::vector<std::string> cutoffs;  // UTC days
  Split split;
  Label label;
  std::map<std::string, std::string> params;  // XGBoost parameters
  int rounds = 0;
  uint64_t seed = 0;
  std::string first_day, last_day;  // "data_range"
  // "rows": "train", "valid" (the rows reported on: test cutoffs or every row
  // out of fold) and, when there is one, "early_stop".
  int64_t train_rows = 0, valid_rows = 0, early_stop_rows = 0;
  Metrics metrics;
  std::string baseline_name;
  Metrics baseline;
  std::map<std::string, ShopMetrics> metrics_by_shop;
  std::vector<Part> metrics_by_part;  // absent when empty
  std::vector<Importance> feature_importance;
  std::string promotion;
  // "drift": the reference distributions (scorer/drift.h); absent in files
  // written before issue 17, whose models then report no drift.
  std::optional<DriftReference> drift;

  // The JSON text (every key).
  std::string ToJson() const;
  // InvalidArgument when `json` is not a JSON object or a key has the wrong
  // type (an integer key: anything but an integer in its type's range);
  // `source` names the file in the message.
  static absl::StatusOr<ModelMeta> Parse(std::string_view json, const std::string& source);
  // <version_dir>/meta.json: NotFound when missing, else as Parse.
  static absl::StatusOr<ModelMeta> Read(const std::filesystem::path& version_dir);
  // Writes <version_dir>/meta.json; Unavailable when it can not.
  absl::Status Write(const std::filesystem::path& version_dir) const;
};

class ModelRegistry {
 public:
  explicit ModelRegistry(std::filesystem::path models_dir) : dir_(std::move(models_dir)) {}

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path TargetDir(std::string_view target) const { return dir_ / target; }
  std::filesystem::path VersionDir(std::string_view target, std::string_view version) const {
    return dir_ / target / version;
  }
  std::filesystem::path CurrentPath(std::string_view target) const {
    return dir_ / target / "CURRENT";
  }
  // Where a writer saves a model before its version (a hash of the bytes) is
  // known; renamed to ModelPath once it is. ".json": XGBoost picks the format
  // from the extension.
  std::filesystem::path StagingModelPath(std::string_view target) const {
    return TargetDir(target) / ".tmp-model.json";
  }
  static std::filesystem::path ModelPath(const std::filesystem::path& version_dir) {
    return version_dir / "model.json";
  }
  static std::filesystem::path MetaPath(const std::filesystem::path& version_dir) {
    return version_dir / "meta.json";
  }
  static std::filesystem::path ReportPath(const std::filesystem::path& version_dir) {
    return version_dir / "report.html";
  }

  // The version CURRENT names (its first line); NotFound when CURRENT is
  // missing or empty.
  absl::StatusOr<std::string> Current(std::string_view target) const;
  // The model CURRENT names (Model::Load's checks apply).
  absl::StatusOr<std::unique_ptr<Model>> LoadCurrent(std::string_view target) const;
  // One version of a target.
  absl::StatusOr<std::unique_ptr<Model>> Load(std::string_view target,
                                              std::string_view version) const;
  // Makes `version` the target's CURRENT: written aside and renamed over, so a
  // reader never sees a partial file. Unavailable when it can not.
  absl::Status Promote(std::string_view target, std::string_view version) const;

 private:
  std::filesystem::path dir_;
};

// The hot-reload check: has the CURRENT of any of `targets` changed since the
// watch was made or last reported a change? A missing CURRENT reads as empty,
// so its appearance is a change too. Reading CURRENT is cheap; how often to
// ask is the caller's choice.
class CurrentWatch {
 public:
  CurrentWatch(ModelRegistry registry, std::vector<std::string> targets);
  // True once per change (a refused model is then not retried every check).
  bool Changed();

 private:
  std::string Read() const;
  ModelRegistry registry_;
  std::vector<std::string> targets_;
  std::string seen_;  // "<target>=<CURRENT>;" of every target when last read
};

}  // namespace recur

#endif  // RECUR_SCORER_REGISTRY_H_
