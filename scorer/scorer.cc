#include "scorer/scorer.h"

#include <algorithm>
#include <numeric>

#include "scorer/registry.h"

namespace recur {

absl::StatusOr<std::unique_ptr<Scorer>> Scorer::Create(const ScorerOptions& options) {
  std::unique_ptr<Scorer> s(new Scorer());
  s->options_ = options;
  const ModelRegistry registry(options.models_dir);
  auto risk = registry.LoadCurrent(options.risk_target);
  if (!risk.ok()) return risk.status();
  auto repurchase = registry.LoadCurrent(options.repurchase_target);
  if (!repurchase.ok()) return repurchase.status();
  s->risk_ = std::move(*risk);
  s->repurchase_ = std::move(*repurchase);
  if (options.xgboost_only) {
    s->risk_->UseXgboostOnly();
    s->repurchase_->UseXgboostOnly();
  }
  return s;
}

std::optional<uint64_t> Scorer::InputsKey(const Features& f) const {
  float row[kNumFeatures];
  uint64_t h = 0;
  for (const Model* m : {risk_.get(), repurchase_.get()}) {
    FeatureRow(f, row, &m->vocab());
    if (!m->MixSplitSides(row, &h)) return std::nullopt;
  }
  return h;
}

std::string Scorer::evaluators() const {
  if (risk_->evaluator() == repurchase_->evaluator()) return risk_->evaluator();
  return "risk " + risk_->evaluator() + ", repurchase " + repurchase_->evaluator();
}

namespace {
template <typename Row>
std::vector<float> Matrix(const std::vector<Row>& rows, const Features& (*get)(const Row&),
                          const CategoryVocab* vocab) {
  std::vector<float> m(rows.size() * kNumFeatures);
  for (size_t i = 0; i < rows.size(); ++i) FeatureRow(get(rows[i]), &m[i * kNumFeatures], vocab);
  return m;
}
const Features& OfRow(const ScoreRow& r) { return r.features; }
const Features& OfPtr(const ScoreRow* const& r) { return r->features; }
}  // namespace

absl::StatusOr<std::vector<v1::CustomerScore>> Scorer::Score(
    const std::vector<ScoreRow>& rows) const {
  std::vector<v1::CustomerScore> out;
  if (rows.empty()) return out;
  // Each model encodes category names with its own vocabulary (meta.json).
  const std::vector<float> m = Matrix(rows, &OfRow, &risk_->vocab());
  auto risk = risk_->Score(m);
  if (!risk.ok()) return risk.status();
  auto repurchase = repurchase_->Score(
      repurchase_->vocab() == risk_->vocab() ? m : Matrix(rows, &OfRow, &repurchase_->vocab()));
  if (!repurchase.ok()) return repurchase.status();
  const std::string& hash = SchemaHash();
  out.resize(rows.size());
  for (size_t i = 0; i < rows.size(); ++i) {
    v1::CustomerScore& s = out[i];
    s.set_shop_id(rows[i].key.shop_id);
    s.set_customer_id(rows[i].key.customer_id);
    s.set_as_of_ms(rows[i].as_of_ms);
    SetPrediction(&s, Target::kActivityDecline90d, (*risk)[i], risk_->version());
    SetPrediction(&s, Target::kRepurchase30d, (*repurchase)[i], repurchase_->version());
    s.set_schema_hash(hash);
  }
  return out;
}

absl::Status Scorer::AddReasons(const std::vector<const ScoreRow*>& rows,
                                const std::vector<v1::CustomerScore*>& scores) const {
  if (rows.size() != scores.size())
    return absl::InvalidArgumentError("AddReasons: rows and scores differ in size");
  if (rows.empty()) return absl::OkStatus();
  auto contrib =
      risk_->Contributions(Matrix(rows, &OfPtr, &risk_->vocab()), !options_.exact_reasons);
  if (!contrib.ok()) return contrib.status();
  std::vector<int> order(kNumFeatures);
  for (size_t i = 0; i < rows.size(); ++i) {
    v1::CustomerScore& s = *scores[i];
    s.clear_reasons();
    s.set_reasons_method(options_.exact_reasons ? "exact_treeshap" : "approximate");
    const float* c = &(*contrib)[i * (kNumFeatures + 1)];
    std::iota(order.begin(), order.end(), 0);
    // The features pushing the risk up the most; ties by catalog order (deterministic).
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return c[a] > c[b]; });
    for (int k = 0; k < options_.reasons && k < kNumFeatures; ++k) {
      if (c[order[k]] <= 0) break;
      auto* r = s.add_reasons();
      r->set_feature(std::string(kFeatureNames[order[k]]));
      r->set_value(rows[i]->features.values[order[k]]);
      r->set_contribution(c[order[k]]);
    }
  }
  return absl::OkStatus();
}

ScoreDrift::ScoreDrift(const Scorer& scorer) : scorer_(&scorer) {
  if (const DriftReference* r = scorer.risk().drift()) risk_ = DriftTally(*r);
  if (const DriftReference* r = scorer.repurchase().drift()) repurchase_ = DriftTally(*r);
}

void ScoreDrift::Add(const std::vector<ScoreRow>& rows,
                     const std::vector<v1::CustomerScore>& scores) {
  if (scorer_ == nullptr) return;
  std::vector<float> x(kNumFeatures);
  for (size_t i = 0; i < rows.size() && i < scores.size(); ++i) {
    FeatureRow(rows[i].features, x.data(), &scorer_->risk().vocab());
    risk_.Add(x.data(), Probability(scores[i], Target::kActivityDecline90d));
    FeatureRow(rows[i].features, x.data(), &scorer_->repurchase().vocab());
    repurchase_.Add(x.data(), Probability(scores[i], Target::kRepurchase30d));
  }
}

void ScoreDrift::Merge(const ScoreDrift& other) {
  if (scorer_ == nullptr) scorer_ = other.scorer_;
  risk_.Merge(other.risk_);
  repurchase_.Merge(other.repurchase_);
}

std::vector<DriftReport> ScoreDrift::Reports() const {
  std::vector<DriftReport> out;
  if (scorer_ == nullptr) return out;
  if (scorer_->risk().drift() != nullptr) {
    out.push_back(
        DriftReport::Of(risk_, TargetName(Target::kActivityDecline90d), scorer_->risk_version()));
  }
  if (scorer_->repurchase().drift() != nullptr) {
    out.push_back(DriftReport::Of(repurchase_, TargetName(Target::kRepurchase30d),
                                  scorer_->repurchase_version()));
  }
  return out;
}

}  // namespace recur
