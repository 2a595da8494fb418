// The XGBoost C API behind RAII owners; every -1 becomes a Status carrying
// XGBGetLastError(), in exactly one place (Check()).
//
//   auto m = recur::XgbMatrix::FromRows(x.data(), rows, cols, &y);
//   auto b = recur::XgbBooster::Create({m->handle()}, {{"objective", "binary:logistic"}});
//   RETURN_IF_ERROR(b->UpdateOneIter(0, *m));
#ifndef RECUR_SCORER_XGB_H_
#define RECUR_SCORER_XGB_H_

#include <xgboost/c_api.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace recur {

absl::Status XgbCheck(int rc, const char* what);

struct XgbMatrixDeleter {
  void operator()(void* h) const { XGDMatrixFree(h); }
};
struct XgbBoosterDeleter {
  void operator()(void* h) const { XGBoosterFree(h); }
};

class XgbMatrix {
 public:
  // Row-major float matrix, NaN = missing; labels optional.
  static absl::StatusOr<XgbMatrix> FromRows(const float* x, size_t rows, size_t cols,
                                            const std::vector<float>* y);
  // One of "q" (quantitative) or "c" (categorical: non-negative integer codes,
  // trained with partition splits under tree_method hist) per column.
  absl::Status SetFeatureTypes(const std::vector<std::string>& types);
  DMatrixHandle handle() const { return h_.get(); }

 private:
  std::unique_ptr<void, XgbMatrixDeleter> h_;
};

class XgbBooster {
 public:
  static absl::StatusOr<XgbBooster> Create(const std::vector<DMatrixHandle>& cache,
                                           const std::map<std::string, std::string>& params);
  static absl::StatusOr<XgbBooster> Load(const std::string& path);
  absl::Status UpdateOneIter(int iter, const XgbMatrix& train);
  enum class Output { kProbability = 0, kMargin = 1, kContributions = 2, kApproxContributions = 3 };
  // One value per row (probability or margin), or per row (features + 1 bias)
  // contributions to the margin; trees [0, iteration_end) (0 = all).
  absl::StatusOr<std::vector<float>> Predict(const XgbMatrix& m, int iteration_end = 0,
                                             Output output = Output::kProbability) const;
  // In-place prediction on a dense row-major float matrix (NaN = missing),
  // without building a DMatrix: the scoring path.
  absl::StatusOr<std::vector<float>> PredictDense(const float* x, size_t rows, size_t cols,
                                                  Output output = Output::kProbability) const;
  // The model's feature count (XGBoosterGetNumFeature).
  absl::StatusOr<int> NumFeatures() const;
  absl::Status Save(const std::string& path) const;  // .json: XGBoost's JSON model
  absl::StatusOr<std::string> ToJson() const;        // the same JSON, in memory
  // Feature importance of a tree model, one value per feature (0 for a feature
  // no split uses); `type` is XGBoost's importance_type: "gain",
  // "total_gain", "weight", "cover" or "total_cover".
  absl::StatusOr<std::vector<float>> FeatureScores(const std::string& type) const;
  // Keeps only the first `rounds` boosting rounds (early stopping).
  absl::StatusOr<XgbBooster> Slice(int rounds) const;
  BoosterHandle handle() const { return h_.get(); }

 private:
  std::unique_ptr<void, XgbBoosterDeleter> h_;
};

}  // namespace recur

#endif  // RECUR_SCORER_XGB_H_
