#include "scorer/model.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>

#include "absl/strings/str_cat.h"
#include "scorer/registry.h"

namespace recur {

namespace fs = std::filesystem;

CategoryVocab CategoryVocab::Build(const std::vector<std::string>& names, size_t max_size) {
  std::map<std::string, int64_t> counts;
  for (const auto& n : names) {
    if (!n.empty()) ++counts[n];
  }
  std::vector<std::pair<std::string, int64_t>> order(counts.begin(), counts.end());
  // Descending count, ties by name (the map's order, kept by the stable sort).
  std::stable_sort(order.begin(), order.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (order.size() > max_size) order.resize(max_size);
  CategoryVocab v;
  for (auto& [name, count] : order) {
    v.codes_.emplace(name, static_cast<int>(v.names_.size()));
    v.names_.push_back(std::move(name));
  }
  return v;
}

absl::StatusOr<CategoryVocab> CategoryVocab::FromNames(std::vector<std::string> names) {
  CategoryVocab v;
  for (auto& name : names) {
    if (name.empty())
      return absl::InvalidArgumentError(
          absl::StrCat("category vocabulary: empty name at code ", v.size()));
    if (!v.codes_.emplace(name, static_cast<int>(v.names_.size())).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("category vocabulary: '", name, "' appears twice"));
    }
    v.names_.push_back(std::move(name));
  }
  return v;
}

float CategoryVocab::Code(const std::string& name) const {
  if (name.empty()) return NAN;
  auto it = codes_.find(name);
  return it == codes_.end() ? NAN : static_cast<float>(it->second);
}

bool IsCategorical(int feature) { return feature == kServiceTier || feature == kTopCategory6m; }

void FeatureRow(const Features& f, float* out, const CategoryVocab* vocab) {
  for (int i = 0; i < kNumFeatures; ++i) out[i] = static_cast<float>(f.values[i]);
  // Without a vocabulary the slot stays as Features holds it (NaN from the
  // store): what models trained before vocabularies existed were trained on.
  if (vocab != nullptr && vocab->size() > 0) out[kTopCategory6m] = vocab->Code(f.top_category_6m);
}

absl::StatusOr<std::unique_ptr<Model>> Model::LoadCurrent(const std::string& models_dir,
                                                          const std::string& target) {
  return ModelRegistry(models_dir).LoadCurrent(target);
}

absl::StatusOr<std::unique_ptr<Model>> Model::Load(const std::string& version_dir) {
  const fs::path dir(version_dir);
  auto meta = ModelMeta::Read(dir);
  if (!meta.ok()) return meta.status();
  const std::string& hash = meta->schema_hash;
  if (hash != SchemaHash()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "model ", version_dir, " was trained on feature schema '", hash, "', this recur computes '",
        SchemaHash(), "' (catalog ", std::string(kCatalogVersion), "): refused; retrain it"));
  }
  auto booster = XgbBooster::Load(ModelRegistry::ModelPath(dir).string());
  if (!booster.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "model ", version_dir,
        ": model.json is not an XGBoost model: ", booster.status().message().substr(0, 200)));
  }
  auto n = booster->NumFeatures();
  if (!n.ok()) return n.status();
  if (*n != kNumFeatures) {
    return absl::FailedPreconditionError(absl::StrCat("model ", version_dir, " expects ", *n,
                                                      " features, the catalog has ", kNumFeatures));
  }
  // One thread per prediction call: the pipeline scores partition stores in
  // parallel itself, and OpenMP teams on a busy 2-core machine spin.
  absl::Status nt =
      XgbCheck(XGBoosterSetParam(booster->handle(), "nthread", "1"), "parameter nthread");
  if (!nt.ok()) return nt;
  std::unique_ptr<Model> m(new Model());
  if (auto list = meta->categories.find(std::string(kFeatureNames[kTopCategory6m]));
      list != meta->categories.end()) {
    auto vocab = CategoryVocab::FromNames(list->second);
    if (!vocab.ok())
      return absl::InvalidArgumentError(
          absl::StrCat("model ", version_dir, ": meta.json ", vocab.status().message()));
    m->vocab_ = std::move(*vocab);
  }
  m->booster_ = std::move(*booster);
  m->version_ = meta->version.empty() ? dir.filename().string() : meta->version;
  return m;
}

namespace {
absl::StatusOr<XgbMatrix> Matrix(const std::vector<float>& rows) {
  if (rows.size() % kNumFeatures != 0)
    return absl::InvalidArgumentError("rows: not a multiple of the feature count");
  return XgbMatrix::FromRows(rows.data(), rows.size() / kNumFeatures, kNumFeatures, nullptr);
}
}  // namespace

absl::StatusOr<std::vector<float>> Model::Score(const std::vector<float>& rows) const {
  if (rows.size() % kNumFeatures != 0)
    return absl::InvalidArgumentError("rows: not a multiple of the feature count");
  return booster_.PredictDense(rows.data(), rows.size() / kNumFeatures, kNumFeatures);
}

absl::StatusOr<std::vector<float>> Model::Margins(const std::vector<float>& rows) const {
  auto m = Matrix(rows);
  if (!m.ok()) return m.status();
  return booster_.Predict(*m, 0, XgbBooster::Output::kMargin);
}

absl::StatusOr<std::vector<float>> Model::Contributions(const std::vector<float>& rows,
                                                        bool approximate) const {
  auto m = Matrix(rows);
  if (!m.ok()) return m.status();
  return booster_.Predict(
      *m, 0,
      approximate ? XgbBooster::Output::kApproxContributions : XgbBooster::Output::kContributions);
}

}  // namespace recur
