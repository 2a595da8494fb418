// Histogram: counts of observations in fixed buckets, with their sum, in the
// shape Prometheus exposes (`_bucket{le=...}` cumulative, `_sum`, `_count`).
// A value type: the owner observes, readers get a copy.
//
//   recur::Histogram h(recur::Histogram::LatencyBounds());
//   h.Observe(0.004);        // seconds
//   h.Cumulative()[i];       // observations <= h.bounds()[i]; the last is +Inf
//
// Not thread-safe: one owner observes; copy it to hand it to another thread.
#ifndef RECUR_BASE_HISTOGRAM_H_
#define RECUR_BASE_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace recur {

class Histogram {
 public:
  Histogram() = default;
  // Upper bounds, ascending; a last +Inf bucket is implied.
  explicit Histogram(std::vector<double> bounds);

  // 1 ms .. 60 s, roughly x2.5 apart: batch commits and event-to-score times.
  static std::vector<double> LatencyBounds();
  // 0.1, 0.2, .. 0.9: probabilities in ten bins.
  static std::vector<double> ProbabilityBounds();

  // `times` observations of the same value (a group of scores delivered together).
  void Observe(double value, int64_t times = 1);

  const std::vector<double>& bounds() const { return bounds_; }
  // Per bound, the observations <= it; one more entry for +Inf (== count()).
  std::vector<int64_t> Cumulative() const;
  double sum() const { return sum_; }
  int64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<int64_t> counts_;  // per bucket, bounds_.size() + 1 (the +Inf bucket)
  double sum_ = 0;
  int64_t count_ = 0;
};

}  // namespace recur

#endif  // RECUR_BASE_HISTOGRAM_H_
