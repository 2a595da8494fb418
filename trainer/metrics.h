// Evaluation of binary scores: ROC-AUC, PR-AUC (average precision), log-loss,
// lift in the top decile, precision and recall at a threshold, a calibration
// table; overall or per group (shop). Ties are handled exactly (ranks
// of equal scores are averaged), so the figures do not depend on row order.
#ifndef RECUR_TRAINER_METRICS_H_
#define RECUR_TRAINER_METRICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace recur {

struct CalibrationBin {
  double mean_score = 0;
  double positive_rate = 0;
  int64_t rows = 0;
};

struct BinaryMetrics {
  double roc_auc = 0;
  double pr_auc = 0;
  double log_loss = 0;
  double base_rate = 0;
  double lift_top_decile = 0;
  int64_t rows = 0;
  // Scores >= threshold count as "predicted positive". NaN when undefined
  // (nothing predicted positive; no positives).
  double threshold = 0.5;
  double precision = 0;
  double recall = 0;
  std::vector<CalibrationBin> calibration;  // 10 equal-width score bins
};

BinaryMetrics Evaluate(const std::vector<float>& scores, const std::vector<float>& labels,
                       double threshold = 0.5);

// For scores that only rank (a baseline rule such as recency), not
// probabilities: log-loss and calibration measure a probability, so they are
// dropped (log_loss NaN, calibration empty) rather than reported as if they
// meant something.
BinaryMetrics AsRanking(BinaryMetrics m);

// Evaluate() over the rows of each group (e.g. shop), by group name.
std::map<std::string, BinaryMetrics> EvaluateByGroup(const std::vector<float>& scores,
                                                     const std::vector<float>& labels,
                                                     const std::vector<std::string>& groups,
                                                     double threshold = 0.5);

}  // namespace recur

#endif  // RECUR_TRAINER_METRICS_H_
