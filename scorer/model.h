// Model: one registered XGBoost model (a version directory of the registry,
// scorer/registry.h), loaded only if its meta.json names this build's feature
// schema.
//
//   auto m = recur::ModelRegistry("models").LoadCurrent(recur::TargetName(target));
//   if (!m.ok()) LOG(...) << m.status();   // e.g. schema mismatch, not an XGBoost model
//   std::vector<float> rows(kNumFeatures);
//   recur::FeatureRow(features, rows.data(), &(*m)->vocab());   // category names -> this model's
//   codes auto p = (*m)->Score(rows);             // probabilities, row-major kNumFeatures floats
//
// Thread-safety: Score/Contributions may be called concurrently (XGBoost's
// prediction is thread-safe); Load* create new objects, so a swap is a pointer swap.
#ifndef RECUR_SCORER_MODEL_H_
#define RECUR_SCORER_MODEL_H_

#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/catalog.h"
#include "scorer/drift.h"
#include "scorer/tree_ensemble.h"
#include "scorer/xgb.h"

namespace recur {

// The codes of a categorical feature's names (top_category_6m): a model's
// vocabulary, built by the trainer from its training rows (most frequent name
// first, ties by name, so the same rows give the same codes), stored in the
// model's meta.json and loaded with it. A name's code is its index; an empty or
// unseen name is NaN (missing), never a made-up code. A value type.
class CategoryVocab {
 public:
  static constexpr size_t kDefaultMaxSize = 1000;

  CategoryVocab() = default;  // empty: every name is unseen
  // The vocabulary of `names` (one per training row, "" = none): at most
  // `max_size` names, by descending count, ties by name.
  static CategoryVocab Build(const std::vector<std::string>& names,
                             size_t max_size = kDefaultMaxSize);
  // From a stored list (meta.json); InvalidArgument on an empty or repeated name.
  static absl::StatusOr<CategoryVocab> FromNames(std::vector<std::string> names);

  // The code of `name`: its index in names(), or NaN when empty or unseen.
  float Code(const std::string& name) const;
  const std::vector<std::string>& names() const { return names_; }
  size_t size() const { return names_.size(); }
  friend bool operator==(const CategoryVocab& a, const CategoryVocab& b) {
    return a.names_ == b.names_;
  }

 private:
  std::vector<std::string> names_;
  std::unordered_map<std::string, int> codes_;
};

// The catalog features XGBoost treats as categorical ("c"; the rest "q"):
// service_tier (codes 0/1) and top_category_6m (codes of a CategoryVocab).
bool IsCategorical(int feature);

// The model input of one customer: the catalog's values in catalog order, as
// floats, NaN for missing; top_category_6m encoded with `vocab`. Without a
// vocabulary (nullptr or empty) that slot is copied from Features like the
// others — NaN from the store, which is what a model trained without a
// vocabulary saw. The one place a feature vector is assembled; the trainer and
// the scorer both call it.
void FeatureRow(const Features& f, float* out, const CategoryVocab* vocab = nullptr);

class Model {
 public:
  // The version the target's CURRENT names: ModelRegistry(models_dir).LoadCurrent(target).
  static absl::StatusOr<std::unique_ptr<Model>> LoadCurrent(const std::string& models_dir,
                                                            const std::string& target);
  // A version directory holding model.json and meta.json (ModelMeta).
  static absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& version_dir);

  absl::StatusOr<std::vector<float>> Score(const std::vector<float>& rows) const;
  // Per row kNumFeatures + 1 values (the last is the bias); they sum to the margin.
  absl::StatusOr<std::vector<float>> Contributions(const std::vector<float>& rows,
                                                   bool approximate) const;
  absl::StatusOr<std::vector<float>> Margins(const std::vector<float>& rows) const;
  // Score, Margins and approximate Contributions run on recur's own evaluator
  // (scorer/tree_ensemble.h) when Load built it and it agreed bit for bit with
  // XGBoost on the probe rows; otherwise, and for exact contributions, on
  // XGBoost. "own" or "xgboost (why)".
  const std::string& evaluator() const { return evaluator_; }
  void UseXgboostOnly();  // drops the own evaluator (comparisons, benchmarks)
  // Mixes into `h` (HashMix) the side of every split that each value of `row`
  // (FeatureRow's, this model's vocabulary) falls on: for a numeric feature the
  // number of the model's thresholds at or below the value, for a categorical
  // one the code, NaN apart. Rows that mix alike take the same path through
  // every tree, so their margins and contributions are bit-identical. False
  // (h unchanged) when the splits are not known: the own evaluator was never
  // built or disagreed with XGBoost, so recur did not read the trees.
  bool MixSplitSides(const float* row, uint64_t* h) const;
  const std::string& version() const { return version_; }
  // The top_category_6m vocabulary of meta.json ("categories"); empty for a
  // model trained without one. Pass it to FeatureRow for this model's rows.
  const CategoryVocab& vocab() const { return vocab_; }
  // meta.json's reference distributions (scorer/drift.h); nullptr for a model
  // trained before they were recorded.
  const DriftReference* drift() const { return drift_ ? &*drift_ : nullptr; }

 private:
  Model() = default;
  void TryOwnEvaluator();  // sets own_ when it agrees with XGBoost on probe rows
  XgbBooster booster_;
  std::unique_ptr<const TreeEnsemble> own_;
  // Per feature the sorted thresholds of its splits (TreeEnsemble::Thresholds)
  // once the own evaluator agreed with XGBoost; empty: not known.
  std::vector<std::vector<float>> splits_;
  std::string evaluator_ = "xgboost";
  std::string version_;
  CategoryVocab vocab_;
  std::optional<DriftReference> drift_;
};

}  // namespace recur

#endif  // RECUR_SCORER_MODEL_H_
