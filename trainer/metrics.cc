#include "trainer/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>

namespace recur {

BinaryMetrics Evaluate(const std::vector<float>& scores, const std::vector<float>& labels,
                       double threshold) {
  BinaryMetrics m;
  const size_t n = scores.size();
  m.rows = static_cast<int64_t>(n);
  m.threshold = threshold;
  if (n == 0) {
    m.roc_auc = m.pr_auc = m.log_loss = m.lift_top_decile = m.precision = m.recall = NAN;
    return m;
  }
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] < scores[b]; });
  double pos = 0;
  for (float y : labels) pos += y > 0.5f;
  const double neg = static_cast<double>(n) - pos;
  m.base_rate = pos / static_cast<double>(n);
  // ROC-AUC from average ranks (Mann-Whitney U).
  double rank_sum = 0;
  for (size_t i = 0; i < n;) {
    size_t j = i;
    while (j < n && scores[order[j]] == scores[order[i]]) ++j;
    const double avg_rank = (static_cast<double>(i) + static_cast<double>(j - 1)) / 2.0 + 1.0;
    for (size_t k = i; k < j; ++k) rank_sum += labels[order[k]] > 0.5f ? avg_rank : 0;
    i = j;
  }
  m.roc_auc = (pos == 0 || neg == 0) ? NAN : (rank_sum - pos * (pos + 1) / 2.0) / (pos * neg);
  // Average precision, descending score, tie groups taken together.
  double tp = 0, fp = 0, ap = 0, prev_recall = 0;
  for (size_t i = n; i > 0;) {
    size_t j = i;
    while (j > 0 && scores[order[j - 1]] == scores[order[i - 1]]) --j;
    for (size_t k = j; k < i; ++k) (labels[order[k]] > 0.5f ? tp : fp) += 1;
    const double recall = pos == 0 ? 0 : tp / pos;
    ap += (recall - prev_recall) * (tp / (tp + fp));
    prev_recall = recall;
    i = j;
  }
  m.pr_auc = pos == 0 ? NAN : ap;
  double ll = 0;
  for (size_t i = 0; i < n; ++i) {
    const double p = std::clamp(static_cast<double>(scores[i]), 1e-15, 1 - 1e-15);
    ll -= labels[i] > 0.5f ? std::log(p) : std::log(1 - p);
  }
  m.log_loss = ll / static_cast<double>(n);
  // Top decile, tie groups averaged: a group straddling the decile boundary
  // contributes its positive rate times the rows of it inside the decile, so
  // the lift does not depend on how the sort ordered equal scores (a constant
  // score has lift exactly 1).
  const size_t top = std::max<size_t>(1, n / 10);
  double top_pos = 0;
  for (size_t i = n, taken = 0; i > 0 && taken < top;) {
    size_t j = i;
    while (j > 0 && scores[order[j - 1]] == scores[order[i - 1]]) --j;
    double group_pos = 0;
    for (size_t k = j; k < i; ++k) group_pos += labels[order[k]] > 0.5f;
    const size_t in_top = std::min(i - j, top - taken);
    top_pos += group_pos * static_cast<double>(in_top) / static_cast<double>(i - j);
    taken += in_top;
    i = j;
  }
  m.lift_top_decile = m.base_rate == 0 ? NAN : (top_pos / static_cast<double>(top)) / m.base_rate;
  double predicted = 0, hit = 0;
  for (size_t i = 0; i < n; ++i) {
    if (scores[i] >= threshold) {
      ++predicted;
      hit += labels[i] > 0.5f;
    }
  }
  m.precision = predicted == 0 ? NAN : hit / predicted;
  m.recall = pos == 0 ? NAN : hit / pos;
  m.calibration.resize(10);
  for (size_t i = 0; i < n; ++i) {
    // Clamped: a score outside [0, 1] (a ranking) must not index out of range.
    auto& bin = m.calibration[static_cast<size_t>(std::clamp(scores[i] * 10.0f, 0.0f, 9.0f))];
    bin.mean_score += scores[i];
    bin.positive_rate += labels[i] > 0.5f;
    ++bin.rows;
  }
  for (auto& b : m.calibration) {
    if (b.rows > 0) {
      b.mean_score /= static_cast<double>(b.rows);
      b.positive_rate /= static_cast<double>(b.rows);
    }
  }
  return m;
}

BinaryMetrics AsRanking(BinaryMetrics m) {
  m.log_loss = NAN;
  m.calibration.clear();
  return m;
}

std::map<std::string, BinaryMetrics> EvaluateByGroup(const std::vector<float>& scores,
                                                     const std::vector<float>& labels,
                                                     const std::vector<std::string>& groups,
                                                     double threshold) {
  std::map<std::string, std::pair<std::vector<float>, std::vector<float>>> split;
  for (size_t i = 0; i < scores.size(); ++i) {
    auto& [s, y] = split[groups[i]];
    s.push_back(scores[i]);
    y.push_back(labels[i]);
  }
  std::map<std::string, BinaryMetrics> out;
  for (const auto& [g, sy] : split) out[g] = Evaluate(sy.first, sy.second, threshold);
  return out;
}

}  // namespace recur
