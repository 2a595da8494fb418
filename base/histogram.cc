#include "base/histogram.h"

#include <algorithm>
#include <utility>

namespace recur {

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {
  std::sort(bounds_.begin(), bounds_.end());
}

std::vector<double> Histogram::LatencyBounds() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

std::vector<double> Histogram::ProbabilityBounds() {
  return {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9};
}

void Histogram::Observe(double value, int64_t times) {
  if (counts_.empty()) counts_.assign(bounds_.size() + 1, 0);
  // The first bound >= value (Prometheus' `le`: less than or equal).
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i] += times;
  sum_ += value * static_cast<double>(times);
  count_ += times;
}

std::vector<int64_t> Histogram::Cumulative() const {
  std::vector<int64_t> out(bounds_.size() + 1, 0);
  int64_t running = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    running += i < counts_.size() ? counts_[i] : 0;
    out[i] = running;
  }
  return out;
}

}  // namespace recur
