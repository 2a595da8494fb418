#include "scorer/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <random>

#include "absl/base/casts.h"
#include "absl/strings/str_cat.h"
#include "featurestore/types.h"
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

namespace {
absl::StatusOr<XgbMatrix> Matrix(const std::vector<float>& rows) {
  if (rows.size() % kNumFeatures != 0)
    return absl::InvalidArgumentError("rows: not a multiple of the feature count");
  return XgbMatrix::FromRows(rows.data(), rows.size() / kNumFeatures, kNumFeatures, nullptr);
}
}  // namespace

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
  m->drift_ = std::move(meta->drift);
  m->TryOwnEvaluator();
  return m;
}

namespace {
// Probe rows for the load-time check: every feature drawn from NaN, its split
// thresholds, their neighbouring floats, other values and invalid categories,
// from a fixed seed.
std::vector<float> ProbeRows(const TreeEnsemble& e, size_t rows) {
  const auto thresholds = e.Thresholds();
  std::mt19937_64 rng(20261203);
  std::vector<float> x(rows * kNumFeatures);
  for (size_t r = 0; r < rows; ++r) {
    for (int f = 0; f < kNumFeatures; ++f) {
      const auto& t = thresholds[f];
      const uint64_t pick = rng() % 8;
      float v = static_cast<float>(rng() % 1000) / 7.0f;
      if (!t.empty() && pick < 5) {
        v = t[rng() % t.size()];
        if (pick == 1) v = std::nextafter(v, -INFINITY);
        if (pick == 2) v = std::nextafter(v, INFINITY);
      }
      if (pick == 5) v = NAN;
      if (pick == 6 && r % 2 == 0) v = -1.0f;
      x[r * kNumFeatures + f] = v;
    }
  }
  return x;
}
bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}
}  // namespace

void Model::TryOwnEvaluator() {
  auto json = booster_.ToJson();
  if (!json.ok()) {
    evaluator_ = absl::StrCat("xgboost (", json.status().message(), ")");
    return;
  }
  auto e = TreeEnsemble::FromJson(*json, kNumFeatures);
  if (!e.ok()) {
    evaluator_ = absl::StrCat("xgboost (", e.status().message(), ")");
    return;
  }
  auto own = std::make_unique<const TreeEnsemble>(std::move(*e));
  const std::vector<float> probe = ProbeRows(*own, 512);
  auto margins =
      booster_.PredictDense(probe.data(), 512, kNumFeatures, XgbBooster::Output::kMargin);
  auto probs = booster_.PredictDense(probe.data(), 512, kNumFeatures);
  auto m = Matrix(probe);
  if (!margins.ok() || !probs.ok() || !m.ok()) {
    evaluator_ = "xgboost (the probe prediction failed)";
    return;
  }
  auto contribs = booster_.Predict(*m, 0, XgbBooster::Output::kApproxContributions);
  if (!contribs.ok()) {
    evaluator_ = "xgboost (the probe contributions failed)";
    return;
  }
  std::vector<float> my_margins(512), my_probs(512), my_contribs(512 * (kNumFeatures + 1));
  own->Margins(probe.data(), 512, my_margins.data());
  for (size_t r = 0; r < 512; ++r) my_probs[r] = TreeEnsemble::Probability(my_margins[r]);
  own->Contributions(probe.data(), 512, my_contribs.data());
  if (!SameBits(my_margins, *margins) || !SameBits(my_probs, *probs) ||
      !SameBits(my_contribs, *contribs)) {
    evaluator_ = "xgboost (the own evaluator disagreed with XGBoost on the probe rows)";
    return;
  }
  splits_ = own->Thresholds();
  own_ = std::move(own);
  evaluator_ = "own";
}

bool Model::MixSplitSides(const float* row, uint64_t* h) const {
  if (splits_.empty()) return false;
  for (int i = 0; i < kNumFeatures; ++i) {
    const std::vector<float>& t = splits_[static_cast<size_t>(i)];
    if (t.empty()) continue;  // no split reads it
    const float v = row[i];
    uint64_t side;
    if (std::isnan(v)) {
      side = UINT64_MAX;
    } else if (IsCategorical(i)) {
      side = absl::bit_cast<uint32_t>(v);
    } else {  // XGBoost goes right when v >= threshold
      side = static_cast<uint64_t>(std::upper_bound(t.begin(), t.end(), v) - t.begin());
    }
    *h = HashMix(HashMix(*h, static_cast<uint64_t>(i)), side);
  }
  return true;
}

void Model::UseXgboostOnly() {
  own_.reset();
  evaluator_ = "xgboost (asked for)";
}

absl::StatusOr<std::vector<float>> Model::Score(const std::vector<float>& rows) const {
  if (rows.size() % kNumFeatures != 0)
    return absl::InvalidArgumentError("rows: not a multiple of the feature count");
  const size_t n = rows.size() / kNumFeatures;
  if (own_) {
    std::vector<float> out(n);
    own_->Margins(rows.data(), n, out.data());
    for (float& v : out) v = TreeEnsemble::Probability(v);
    return out;
  }
  return booster_.PredictDense(rows.data(), n, kNumFeatures);
}

absl::StatusOr<std::vector<float>> Model::Margins(const std::vector<float>& rows) const {
  if (own_ && rows.size() % kNumFeatures == 0) {
    std::vector<float> out(rows.size() / kNumFeatures);
    own_->Margins(rows.data(), out.size(), out.data());
    return out;
  }
  auto m = Matrix(rows);
  if (!m.ok()) return m.status();
  return booster_.Predict(*m, 0, XgbBooster::Output::kMargin);
}

absl::StatusOr<std::vector<float>> Model::Contributions(const std::vector<float>& rows,
                                                        bool approximate) const {
  if (own_ && approximate && rows.size() % kNumFeatures == 0) {
    const size_t n = rows.size() / kNumFeatures;
    std::vector<float> out(n * (kNumFeatures + 1));
    own_->Contributions(rows.data(), n, out.data());
    return out;
  }
  auto m = Matrix(rows);
  if (!m.ok()) return m.status();
  return booster_.Predict(
      *m, 0,
      approximate ? XgbBooster::Output::kApproxContributions : XgbBooster::Output::kContributions);
}

}  // namespace recur
