#include "scorer/xgb.h"

#include <cmath>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace recur {

absl::Status XgbCheck(int rc, const char* what) {
  if (rc == 0) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("XGBoost ", what, ": ", XGBGetLastError()));
}

absl::StatusOr<XgbMatrix> XgbMatrix::FromRows(const float* x, size_t rows, size_t cols,
                                              const std::vector<float>* y) {
  DMatrixHandle h = nullptr;
  absl::Status s = XgbCheck(XGDMatrixCreateFromMat(x, rows, cols, NAN, &h), "create matrix");
  if (!s.ok()) return s;
  XgbMatrix m;
  m.h_.reset(h);
  if (y != nullptr) {
    s = XgbCheck(XGDMatrixSetFloatInfo(h, "label", y->data(), y->size()), "set labels");
    if (!s.ok()) return s;
  }
  return m;
}

absl::Status XgbMatrix::SetFeatureTypes(const std::vector<std::string>& types) {
  std::vector<const char*> c;
  for (const auto& t : types) c.push_back(t.c_str());
  return XgbCheck(XGDMatrixSetStrFeatureInfo(h_.get(), "feature_type", c.data(), c.size()),
                  "set feature types");
}

absl::StatusOr<XgbBooster> XgbBooster::Create(const std::vector<DMatrixHandle>& cache,
                                              const std::map<std::string, std::string>& params) {
  BoosterHandle h = nullptr;
  absl::Status s = XgbCheck(XGBoosterCreate(cache.data(), cache.size(), &h), "create booster");
  if (!s.ok()) return s;
  XgbBooster b;
  b.h_.reset(h);
  for (const auto& [k, v] : params) {
    s = XgbCheck(XGBoosterSetParam(h, k.c_str(), v.c_str()), ("parameter " + k).c_str());
    if (!s.ok()) return s;
  }
  return b;
}

absl::StatusOr<XgbBooster> XgbBooster::Load(const std::string& path) {
  auto b = Create({}, {});
  if (!b.ok()) return b.status();
  absl::Status s =
      XgbCheck(XGBoosterLoadModel(b->handle(), path.c_str()), ("load model " + path).c_str());
  if (!s.ok()) return s;
  return b;
}

absl::Status XgbBooster::UpdateOneIter(int iter, const XgbMatrix& train) {
  return XgbCheck(XGBoosterUpdateOneIter(h_.get(), iter, train.handle()), "boosting round");
}

absl::StatusOr<std::vector<float>> XgbBooster::Predict(const XgbMatrix& m, int iteration_end,
                                                       Output output) const {
  const std::string config =
      absl::StrCat(R"({"type": )", static_cast<int>(output),
                   R"(, "training": false, "iteration_begin": 0, "iteration_end": )", iteration_end,
                   R"(, "strict_shape": false})");
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  absl::Status s = XgbCheck(
      XGBoosterPredictFromDMatrix(h_.get(), m.handle(), config.c_str(), &shape, &dim, &out),
      "predict");
  if (!s.ok()) return s;
  size_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  return std::vector<float>(out, out + n);
}

absl::StatusOr<std::vector<float>> XgbBooster::PredictDense(const float* x, size_t rows,
                                                            size_t cols, Output output) const {
  if (rows == 0) return std::vector<float>();
  const std::string array =
      absl::StrCat(R"({"data": [)", reinterpret_cast<uintptr_t>(x), R"(, true], "shape": [)", rows,
                   ", ", cols, R"(], "typestr": "<f4", "version": 3})");
  const std::string config =
      absl::StrCat(R"({"type": )", static_cast<int>(output),
                   R"(, "training": false, "iteration_begin": 0, "iteration_end": 0, )"
                   R"("strict_shape": false, "missing": NaN, "cache_id": 0})");
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* out = nullptr;
  absl::Status s = XgbCheck(XGBoosterPredictFromDense(h_.get(), array.c_str(), config.c_str(),
                                                      nullptr, &shape, &dim, &out),
                            "predict");
  if (!s.ok()) return s;
  size_t n = 1;
  for (bst_ulong i = 0; i < dim; ++i) n *= shape[i];
  return std::vector<float>(out, out + n);
}

absl::StatusOr<int> XgbBooster::NumFeatures() const {
  bst_ulong n = 0;
  absl::Status s = XgbCheck(XGBoosterGetNumFeature(h_.get(), &n), "feature count");
  if (!s.ok()) return s;
  return static_cast<int>(n);
}

absl::StatusOr<std::vector<float>> XgbBooster::FeatureScores(const std::string& type) const {
  auto n = NumFeatures();
  if (!n.ok()) return n.status();
  const std::string config = absl::StrCat(R"({"importance_type": ")", type, R"("})");
  bst_ulong n_out = 0, dim = 0;
  const char** names = nullptr;
  const bst_ulong* shape = nullptr;
  const float* scores = nullptr;
  absl::Status s = XgbCheck(
      XGBoosterFeatureScore(h_.get(), config.c_str(), &n_out, &names, &dim, &shape, &scores),
      "feature importance");
  if (!s.ok()) return s;
  // Without feature names in the model XGBoost names features "f<index>".
  std::vector<float> out(*n, 0.0f);
  for (bst_ulong i = 0; i < n_out; ++i) {
    int index = -1;
    if (names[i][0] != 'f' || !absl::SimpleAtoi(names[i] + 1, &index) || index < 0 || index >= *n) {
      return absl::InternalError(
          absl::StrCat("XGBoost feature importance: unexpected feature name '", names[i], "'"));
    }
    out[index] = scores[i];
  }
  return out;
}

absl::StatusOr<std::string> XgbBooster::ToJson() const {
  bst_ulong len = 0;
  const char* buf = nullptr;
  absl::Status s = XgbCheck(
      XGBoosterSaveModelToBuffer(h_.get(), R"({"format": "json"})", &len, &buf), "model JSON");
  if (!s.ok()) return s;
  return std::string(buf, len);
}

absl::Status XgbBooster::Save(const std::string& path) const {
  return XgbCheck(XGBoosterSaveModel(h_.get(), path.c_str()), ("save model " + path).c_str());
}

absl::StatusOr<XgbBooster> XgbBooster::Slice(int rounds) const {
  BoosterHandle out = nullptr;
  absl::Status s = XgbCheck(XGBoosterSlice(h_.get(), 0, rounds, 1, &out), "slice");
  if (!s.ok()) return s;
  XgbBooster b;
  b.h_.reset(out);
  return b;
}

}  // namespace recur
