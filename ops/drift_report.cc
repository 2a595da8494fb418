#include "ops/drift_report.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "featurestore/catalog.h"
#include "nlohmann/json.hpp"
#include "scorer/policy.h"
#include "scorer/targets.h"

namespace recur {

namespace {

constexpr size_t kChunk = 8192;

std::string Verdict(double psi, double threshold) {
  if (std::isnan(psi)) return "no rows";
  if (psi > threshold) return "shifted";
  return psi > 0.1 ? "moved" : "stable";
}

nlohmann::json Number(double v) { return std::isnan(v) ? nlohmann::json() : nlohmann::json(v); }

}  // namespace

absl::StatusOr<std::vector<DriftReport>> MeasureDrift(StateDir& dir, const ScorerOptions& models) {
  auto scorer = Scorer::Create(models);
  if (!scorer.ok()) return scorer.status();
  if ((*scorer)->risk().drift() == nullptr && (*scorer)->repurchase().drift() == nullptr) {
    return absl::FailedPreconditionError(
        "neither model's meta.json has a drift reference (trained before recur recorded one): "
        "retrain them");
  }
  ScoreDrift drift(**scorer);
  std::vector<ScoreRow> rows;
  auto flush = [&]() -> absl::Status {
    auto scores = (*scorer)->Score(rows);
    if (!scores.ok()) return scores.status();
    drift.Add(rows, *scores);
    rows.clear();
    return absl::OkStatus();
  };
  for (int32_t p = 0; p < dir.partitions(); ++p) {
    FeatureStore* store = dir.store(p);
    const int64_t watermark = store->watermark_ms();
    if (watermark <= 0) continue;  // no pass has a day to score as of
    const int32_t day = DayOf(watermark);
    const int32_t horizon = store->horizon_first_day();
    absl::Status s = store->ForEachCustomer([&](const CustomerKey& k, const CustomerState& st) {
      const int64_t as_of = RescoreAsOf(st.last_event_ms(), day);
      if (!st.InPopulation(as_of, horizon)) return absl::OkStatus();
      rows.push_back({k, st.ComputeFeatures(as_of, horizon), as_of});
      return rows.size() >= kChunk ? flush() : absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  if (absl::Status s = flush(); !s.ok()) return s;
  return drift.Reports();
}

std::string DriftText(const std::vector<DriftReport>& reports, double threshold) {
  std::string out;
  for (const DriftReport& r : reports) {
    absl::StrAppend(&out, r.target, " model ", r.version, ": ", r.rows,
                    " customers against its training rows (PSI; > ", threshold, " shifted)\n");
    for (size_t i = 0; i < r.feature_psi.size() && i < kFeatureNames.size(); ++i) {
      absl::StrAppend(&out,
                      absl::StrFormat("  %-26s %8.4f  %s\n", kFeatureNames[i], r.feature_psi[i],
                                      Verdict(r.feature_psi[i], threshold)));
    }
    absl::StrAppend(&out, absl::StrFormat("  %-26s %8.4f  %s\n", "(score)", r.score_psi,
                                          Verdict(r.score_psi, threshold)));
  }
  return out;
}

std::string DriftJson(const std::vector<DriftReport>& reports) {
  nlohmann::json out = nlohmann::json::array();
  for (const DriftReport& r : reports) {
    nlohmann::json features = nlohmann::json::object();
    for (size_t i = 0; i < r.feature_psi.size() && i < kFeatureNames.size(); ++i)
      features[std::string(kFeatureNames[i])] = Number(r.feature_psi[i]);
    out.push_back({{"target", r.target},
                   {"version", r.version},
                   {"customers", r.rows},
                   {"features", features},
                   {"score_psi", Number(r.score_psi)}});
  }
  return out.dump(2) + "\n";
}

}  // namespace recur
