#include "scorer/drift.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "featurestore/catalog.h"

namespace recur {

namespace {
constexpr double kShareFloor = 1e-4;
}  // namespace

DriftBins DriftBins::FromValues(const std::vector<double>& values, int bins) {
  std::vector<double> finite;
  finite.reserve(values.size());
  for (double v : values) {
    if (std::isfinite(v)) finite.push_back(v);
  }
  std::sort(finite.begin(), finite.end());
  DriftBins b;
  const size_t n = finite.size();
  for (int q = 1; q < bins && n > 0; ++q) {
    // The q-th decile: the smallest value with at least q/bins of the rows at or below it.
    const size_t at = (static_cast<size_t>(q) * n + bins - 1) / bins - 1;
    const double e = finite[std::min(at, n - 1)];
    // No cut at the largest value: the bin above it would hold nothing.
    if (e < finite.back() && (b.edges.empty() || e > b.edges.back())) b.edges.push_back(e);
  }
  b.shares.assign(b.size(), 0.0);
  if (values.empty()) return b;
  for (double v : values) b.shares[b.BinOf(v)] += 1.0;
  for (double& s : b.shares) s /= static_cast<double>(values.size());
  return b;
}

size_t DriftBins::BinOf(double v) const {
  if (std::isnan(v)) return 0;
  return 1 + static_cast<size_t>(std::lower_bound(edges.begin(), edges.end(), v) - edges.begin());
}

double Psi(const std::vector<double>& reference_shares, const std::vector<int64_t>& counts) {
  int64_t total = 0;
  for (int64_t c : counts) total += c;
  if (total == 0 || counts.size() != reference_shares.size())
    return std::numeric_limits<double>::quiet_NaN();
  double psi = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const double live = std::max(static_cast<double>(counts[i]) / total, kShareFloor);
    const double ref = std::max(reference_shares[i], kShareFloor);
    psi += (live - ref) * std::log(live / ref);
  }
  return psi;
}

DriftReference DriftReference::FromRows(const std::vector<float>& x,
                                        const std::vector<float>& scores, std::string population) {
  DriftReference r;
  r.population = std::move(population);
  const size_t n = scores.size();
  std::vector<double> column(n);
  for (int f = 0; f < kNumFeatures; ++f) {
    for (size_t i = 0; i < n; ++i) column[i] = x[i * kNumFeatures + f];
    r.features.push_back(DriftBins::FromValues(column));
  }
  r.score = DriftBins::FromValues(std::vector<double>(scores.begin(), scores.end()));
  r.rows = static_cast<int64_t>(n);
  return r;
}

bool DriftReference::Includes(const float* row) const {
  if (population == "revenue_90d > 0") return row[kRevenue90d] > 0;
  return true;
}

DriftTally::DriftTally(const DriftReference& reference) : reference_(&reference) {
  for (const DriftBins& b : reference.features) features_.emplace_back(b.size(), 0);
  score_.assign(reference.score.size(), 0);
}

void DriftTally::Add(const float* row, double probability) {
  if (reference_ == nullptr || !reference_->Includes(row)) return;
  for (size_t f = 0; f < features_.size(); ++f)
    ++features_[f][reference_->features[f].BinOf(row[f])];
  ++score_[reference_->score.BinOf(probability)];
  ++rows_;
}

void DriftTally::Merge(const DriftTally& other) {
  if (reference_ == nullptr) {
    *this = other;
    return;
  }
  if (other.reference_ != reference_) return;
  for (size_t f = 0; f < features_.size(); ++f) {
    for (size_t b = 0; b < features_[f].size(); ++b) features_[f][b] += other.features_[f][b];
  }
  for (size_t b = 0; b < score_.size(); ++b) score_[b] += other.score_[b];
  rows_ += other.rows_;
}

std::vector<double> DriftTally::FeaturePsi() const {
  std::vector<double> out;
  for (size_t f = 0; f < features_.size(); ++f)
    out.push_back(Psi(reference_->features[f].shares, features_[f]));
  return out;
}

double DriftTally::ScorePsi() const {
  if (reference_ == nullptr) return std::numeric_limits<double>::quiet_NaN();
  return Psi(reference_->score.shares, score_);
}

DriftReport DriftReport::Of(const DriftTally& tally, std::string target, std::string version) {
  DriftReport r;
  r.target = std::move(target);
  r.version = std::move(version);
  r.rows = tally.rows();
  r.feature_psi = tally.FeaturePsi();
  r.score_psi = tally.ScorePsi();
  return r;
}

}  // namespace recur
