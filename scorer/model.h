// Model: one registered XGBoost model (models/<target>/<version>/), loaded only
// if its meta.json names this build's feature schema.
//
//   auto m = recur::Model::LoadCurrent("models", "activity_decline_90d");
//   if (!m.ok()) LOG(...) << m.status();   // e.g. schema mismatch, not an XGBoost model
//   auto p = (*m)->Score(rows, n);          // probabilities, row-major kNumFeatures floats
//
// Thread-safety: Score/Contributions may be called concurrently (XGBoost's
// prediction is thread-safe); Load* create new objects, so a swap is a pointer swap.
#ifndef RECUR_SCORER_MODEL_H_
#define RECUR_SCORER_MODEL_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/catalog.h"
#include "scorer/xgb.h"

namespace recur {

// The model input of one customer: the catalog's values in catalog order, as
// floats, NaN for missing. The one place a feature vector is assembled.
void FeatureRow(const Features& f, float* out);

class Model {
 public:
  // The version named by models/<target>/CURRENT.
  static absl::StatusOr<std::unique_ptr<Model>> LoadCurrent(const std::string& models_dir, const std::string& target);
  // A version directory holding model.json and meta.json.
  static absl::StatusOr<std::unique_ptr<Model>> Load(const std::string& version_dir);

  absl::StatusOr<std::vector<float>> Score(const std::vector<float>& rows) const;
  // Per row kNumFeatures + 1 values (the last is the bias); they sum to the margin.
  absl::StatusOr<std::vector<float>> Contributions(const std::vector<float>& rows, bool approximate) const;
  absl::StatusOr<std::vector<float>> Margins(const std::vector<float>& rows) const;
  const std::string& version() const { return version_; }

 private:
  Model() = default;
  XgbBooster booster_;
  std::string version_;
};

}  // namespace recur

#endif  // RECUR_SCORER_MODEL_H_
