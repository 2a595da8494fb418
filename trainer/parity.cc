#include "trainer/parity.h"

#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "featurestore/catalog.h"
#include "featurestore/state_dir.h"
#include "proto/recur.pb.h"
#include "scorer/model.h"
#include "scorer/registry.h"
#include "scorer/targets.h"
#include "trainer/business_labels.h"
#include "trainer/training_set.h"

namespace recur {
namespace {

// Bit-exact equality of two model inputs, NaN equal to NaN.
bool SameValue(float a, float b) {
  if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b);
  return a == b;
}

std::string ValueString(double v) { return std::isnan(v) ? "missing" : absl::StrFormat("%.9g", v); }

// One customer to compare: its last delivered score and the scorer's row.
struct Scored {
  CustomerKey key;
  v1::CustomerScore score;
  std::vector<float> online;  // FeatureRow without a vocabulary (category slot NaN)
  std::string online_category;
};

// The registry's models, loaded once per version; nullptr when not there.
class Models {
 public:
  explicit Models(std::string dir) : registry_(std::move(dir)) {}
  const Model* Get(std::string_view target, const std::string& version) {
    if (version.empty()) return nullptr;
    const std::string name = std::string(target) + "/" + version;  // as the report lists it
    auto it = models_.find(name);
    if (it != models_.end()) return it->second.get();
    auto m = registry_.Load(target, version);
    auto& slot = models_[name];
    if (m.ok()) slot = std::move(*m);
    return slot.get();
  }
  std::vector<std::string> Loaded() const {
    std::vector<std::string> out;
    for (const auto& [name, m] : models_) {
      if (m) out.push_back(name);
    }
    return out;
  }

 private:
  ModelRegistry registry_;
  std::map<std::string, std::unique_ptr<Model>> models_;
};

// Each target's probability for every scored customer, from the model version
// its score names applied to the trainer's row (`offline`, row i = scored[i]);
// NaN where that version is not in the registry (counted in no_model).
absl::StatusOr<std::vector<std::vector<double>>> OfflineProbabilities(
    const std::vector<Scored>& scored, const TrainingSet& offline, Models& models,
    ParityReport* report) {
  std::vector<std::vector<double>> offline_p(kTargets.size(),
                                             std::vector<double>(scored.size(), std::nan("")));
  for (size_t t = 0; t < kTargets.size(); ++t) {
    std::map<const Model*, std::vector<size_t>> by_model;
    for (size_t i = 0; i < scored.size(); ++i) {
      const Model* m =
          models.Get(kTargets[t].name, ModelVersion(scored[i].score, kTargets[t].target));
      if (m == nullptr) {
        ++report->no_model;
        continue;
      }
      by_model[m].push_back(i);
    }
    for (const auto& [m, idx] : by_model) {
      // The trainer's encoding (EncodeCategories) with this model's vocabulary.
      TrainingSet sub;
      sub.x.resize(idx.size() * kNumFeatures);
      for (size_t j = 0; j < idx.size(); ++j) {
        std::memcpy(&sub.x[j * kNumFeatures], &offline.x[idx[j] * kNumFeatures],
                    kNumFeatures * sizeof(float));
        sub.y.push_back(0);
        sub.top_category.push_back(offline.top_category[idx[j]]);
      }
      EncodeCategories(&sub, m->vocab());
      auto p = m->Score(sub.x);
      if (!p.ok()) return p.status();
      for (size_t j = 0; j < idx.size(); ++j) offline_p[t][idx[j]] = (*p)[j];
    }
  }
  return offline_p;
}

}  // namespace

absl::StatusOr<ParityReport> CheckParity(const ParityOptions& o) {
  FeatureStore::Options store_options;
  store_options.retention_days = o.retention_days;
  auto dir = StateDir::OpenReadOnly(o.state_dir, store_options);
  if (!dir.ok()) return dir.status();

  // Online: every scored, settled customer, with the row the scorer builds.
  ParityReport report;
  std::vector<Scored> scored;
  for (int32_t p = 0; p < (*dir)->partitions(); ++p) {
    FeatureStore* store = (*dir)->store(p);
    auto pending = store->ledger().ReadPending();
    if (!pending.ok()) return pending.status();
    std::unordered_set<std::string> pending_keys;
    for (const auto& k : *pending) pending_keys.insert(k.Encode());
    const int32_t horizon = store->horizon_first_day();
    absl::Status s = store->ledger().ForEachCustomerWithScore(
        [&](const CustomerKey& key, const CustomerState& state,
            const std::string* last) -> absl::Status {
          ++report.customers;
          if (last == nullptr) return absl::OkStatus();
          if (pending_keys.count(key.Encode())) {
            ++report.pending_skipped;
            return absl::OkStatus();
          }
          Scored c;
          c.key = key;
          if (!c.score.ParseFromString(*last)) {
            return absl::DataLossError(absl::StrCat("state dir ", o.state_dir,
                                                    ": the last score of ", key.Encode(),
                                                    " does not parse as recur.v1.CustomerScore"));
          }
          const Features f = state.ComputeFeatures(c.score.as_of_ms(), horizon);
          c.online.resize(kNumFeatures);
          FeatureRow(f, c.online.data());
          c.online_category = f.top_category_6m;
          scored.push_back(std::move(c));
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
  }
  report.checked = static_cast<int64_t>(scored.size());

  // Offline: the trainer's rows as of each score's time, one label row each.
  std::vector<LabelRow> rows;
  rows.reserve(scored.size());
  for (size_t i = 0; i < scored.size(); ++i) {
    rows.push_back({scored[i].key, 0.0f, scored[i].score.as_of_ms(), static_cast<int>(i + 1)});
  }
  std::vector<int> missing;
  auto set = BuildLabelledSet(**dir, rows, &missing, o.progress);
  if (!set.ok()) return set.status();
  // Both scans run in store order with one row per customer, so row i is
  // scored[i]; checked, not assumed.
  if (!missing.empty() || set->rows() != scored.size()) {
    return absl::InternalError(
        absl::StrCat("parity: ", set->rows(), " offline rows for ", scored.size(),
                     " scored customers (the state dir changed while it was read?)"));
  }

  // Probabilities: each model version named by the scores, over the offline rows.
  Models models(o.models_dir);
  auto offline_p = OfflineProbabilities(scored, *set, models, &report);
  if (!offline_p.ok()) return offline_p.status();
  report.model_versions = models.Loaded();

  // Compare.
  for (size_t i = 0; i < scored.size(); ++i) {
    const Scored& c = scored[i];
    const float* offline = &set->x[i * kNumFeatures];
    const size_t before = report.differences.size();
    auto add = [&](const char* kind, std::string field, std::string online, std::string off) {
      report.differences.push_back(
          {c.key, c.score.as_of_ms(), kind, std::move(field), std::move(online), std::move(off)});
    };
    for (int f = 0; f < kNumFeatures; ++f) {
      if (f == kTopCategory6m) {
        if (c.online_category != set->top_category[i]) {
          add("feature", std::string(kFeatureNames[f]), c.online_category, set->top_category[i]);
        }
      } else if (!SameValue(c.online[f], offline[f])) {
        add("feature", std::string(kFeatureNames[f]), ValueString(c.online[f]),
            ValueString(offline[f]));
      }
    }
    for (const auto& r : c.score.reasons()) {
      const int f = FeatureIndex(r.feature());
      if (f < 0) {
        add("reason", r.feature(), ValueString(r.value()), "not a catalog feature");
      } else if (f != kTopCategory6m && !SameValue(static_cast<float>(r.value()), offline[f])) {
        add("reason", r.feature(), ValueString(r.value()), ValueString(offline[f]));
      }
    }
    for (size_t t = 0; t < kTargets.size(); ++t) {
      const Target target = kTargets[t].target;
      const double want = (*offline_p)[t][i];
      const double got = Probability(c.score, target);
      if (!std::isnan(want) && !(std::fabs(want - got) <= o.tolerance)) {
        add("score", ScoreFieldName(target), ValueString(got),
            absl::StrCat(ValueString(want), " (", std::string(kTargets[t].name), "/",
                         ModelVersion(c.score, target), ")"));
      }
    }
    if (report.differences.size() > before) ++report.customers_differing;
  }
  return report;
}

}  // namespace recur
