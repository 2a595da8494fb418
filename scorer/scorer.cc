#include "scorer/scorer.h"

#include <algorithm>
#include <numeric>

namespace recur {

absl::StatusOr<std::unique_ptr<Scorer>> Scorer::Create(const ScorerOptions& options) {
  std::unique_ptr<Scorer> s(new Scorer());
  s->options_ = options;
  auto risk = Model::LoadCurrent(options.models_dir, options.risk_target);
  if (!risk.ok()) return risk.status();
  auto repurchase = Model::LoadCurrent(options.models_dir, options.repurchase_target);
  if (!repurchase.ok()) return repurchase.status();
  s->risk_ = std::move(*risk);
  s->repurchase_ = std::move(*repurchase);
  return s;
}

absl::StatusOr<std::vector<v1::CustomerScore>> Scorer::Score(
    const std::vector<std::pair<CustomerKey, Features>>& batch, int64_t as_of_ms) const {
  std::vector<v1::CustomerScore> out;
  if (batch.empty()) return out;
  // Each model encodes category names with its own vocabulary (meta.json).
  auto assemble = [&](const Model& model) {
    std::vector<float> m(batch.size() * kNumFeatures);
    for (size_t i = 0; i < batch.size(); ++i) FeatureRow(batch[i].second, &m[i * kNumFeatures], &model.vocab());
    return m;
  };
  const std::vector<float> rows = assemble(*risk_);
  auto risk = risk_->Score(rows);
  if (!risk.ok()) return risk.status();
  auto repurchase = repurchase_->Score(repurchase_->vocab() == risk_->vocab() ? rows : assemble(*repurchase_));
  if (!repurchase.ok()) return repurchase.status();
  auto contrib = risk_->Contributions(rows, !options_.exact_reasons);
  if (!contrib.ok()) return contrib.status();
  const std::string hash = SchemaHash();
  out.reserve(batch.size());
  std::vector<int> order(kNumFeatures);
  for (size_t i = 0; i < batch.size(); ++i) {
    v1::CustomerScore s;
    s.set_shop_id(batch[i].first.shop_id);
    s.set_customer_id(batch[i].first.customer_id);
    s.set_as_of_ms(as_of_ms);
    s.set_risk_decline_90d((*risk)[i]);
    s.set_repurchase_30d((*repurchase)[i]);
    s.set_risk_model_version(risk_->version());
    s.set_repurchase_model_version(repurchase_->version());
    s.set_schema_hash(hash);
    s.set_reasons_method(options_.exact_reasons ? "exact_treeshap" : "approximate");
    const float* c = &(*contrib)[i * (kNumFeatures + 1)];
    std::iota(order.begin(), order.end(), 0);
    // The features pushing the risk up the most; ties by catalog order (deterministic).
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return c[a] > c[b]; });
    for (int k = 0; k < options_.reasons && k < kNumFeatures; ++k) {
      if (c[order[k]] <= 0) break;
      auto* r = s.add_reasons();
      r->set_feature(std::string(kFeatureNames[order[k]]));
      r->set_value(batch[i].second.values[order[k]]);
      r->set_contribution(c[order[k]]);
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace recur
