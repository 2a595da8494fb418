// Drift: how far the customers a model scores today have moved from the rows it
// was trained on, per feature and for its score, as the population stability
// index (PSI) over quantile bins.
//
//   // trainer: the reference, from the rows it reported on and their predictions
//   recur::DriftReference ref = recur::DriftReference::FromRows(x, scores, "all");
//   // pipeline: the live rows in the same bins
//   recur::DriftTally live(ref);
//   live.Add(row, probability);                 // row: kNumFeatures floats (FeatureRow)
//   std::vector<double> psi = live.FeaturePsi();   // catalog order; NaN while empty
//
// Bins: up to ten per feature, cut at the reference's deciles (repeated cut
// points merge, so a feature that is 0 for 60% of rows has one bin for them),
// bin i = (edge[i-1], edge[i]], plus one bin for missing values (NaN). PSI =
// sum over bins of (live - reference) * ln(live / reference), shares floored at
// 1e-4 so an empty bin counts as rare, not impossible. Rule of thumb: < 0.1
// stable, 0.1-0.25 moved, > 0.25 shifted (the alert's threshold).
// Thread-safety: DriftReference is a value; a DriftTally belongs to one thread.
#ifndef RECUR_SCORER_DRIFT_H_
#define RECUR_SCORER_DRIFT_H_

#include <cstdint>
#include <string>
#include <vector>

namespace recur {

struct DriftBins {
  std::vector<double> edges;   // ascending, distinct, finite
  std::vector<double> shares;  // edges.size() + 2: missing, then each value bin

  // Cut points at the deciles of `values` (NaN: missing) and the shares of
  // `values` in the resulting bins.
  static DriftBins FromValues(const std::vector<double>& values, int bins = 10);
  // 0 for NaN, else 1 + the number of edges below v.
  size_t BinOf(double v) const;
  size_t size() const { return edges.size() + 2; }
};

// PSI of the live `counts` (one per bin) against the reference shares; NaN
// when the counts sum to 0.
double Psi(const std::vector<double>& reference_shares, const std::vector<int64_t>& counts);

// What meta.json's "drift" holds for one model.
struct DriftReference {
  // Which live rows are comparable with the training rows: "all", or
  // "revenue_90d > 0" for the 90-day decline model, whose rows are customers
  // with revenue in the 90 days before the cutoff (trainer/labels.h).
  std::string population = "all";
  int64_t rows = 0;
  std::vector<DriftBins> features;  // kNumFeatures, catalog order
  DriftBins score;                  // the rows' predicted probabilities

  // `x`: rows x kNumFeatures floats (the model's input), `scores`: one per row.
  static DriftReference FromRows(const std::vector<float>& x, const std::vector<float>& scores,
                                 std::string population);
  // Whether a live row belongs to `population`.
  bool Includes(const float* row) const;
};

// Live rows counted in a reference's bins.
class DriftTally {
 public:
  DriftTally() = default;
  explicit DriftTally(const DriftReference& reference);

  // Counts the row if it is in the reference's population.
  void Add(const float* row, double probability);
  void Merge(const DriftTally& other);  // same reference
  int64_t rows() const { return rows_; }
  std::vector<double> FeaturePsi() const;  // kNumFeatures, catalog order
  double ScorePsi() const;

 private:
  const DriftReference* reference_ = nullptr;
  int64_t rows_ = 0;
  std::vector<std::vector<int64_t>> features_;
  std::vector<int64_t> score_;
};

// One model's drift as reported: /metrics, the status page, `recur inspect --drift`.
struct DriftReport {
  std::string target, version;
  int64_t rows = 0;                 // live rows counted
  std::vector<double> feature_psi;  // catalog order (NaN: no rows)
  double score_psi = 0;

  static DriftReport Of(const DriftTally& tally, std::string target, std::string version);
};

}  // namespace recur

#endif  // RECUR_SCORER_DRIFT_H_
