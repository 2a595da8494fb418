// Drift (scorer/drift.h): decile bins, PSI by hand, the live tally against an
// independent computation, and meta.json's "drift" through the registry.
#include "scorer/drift.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "featurestore/catalog.h"
#include "scorer/registry.h"

namespace recur {
namespace {

TEST(DriftBinsTest, DecilesOfDistinctValues) {
  const DriftBins b = DriftBins::FromValues({10, 9, 8, 7, 6, 5, 4, 3, 2, 1});
  EXPECT_EQ(b.edges, (std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8, 9}));
  ASSERT_EQ(b.shares.size(), 11u);
  EXPECT_EQ(b.shares[0], 0.0);  // missing
  for (size_t i = 1; i < b.shares.size(); ++i) EXPECT_DOUBLE_EQ(b.shares[i], 0.1) << i;
  EXPECT_EQ(b.BinOf(NAN), 0u);
  EXPECT_EQ(b.BinOf(-5), 1u);  // (-inf, 1]
  EXPECT_EQ(b.BinOf(1), 1u);
  EXPECT_EQ(b.BinOf(1.5), 2u);  // (1, 2]
  EXPECT_EQ(b.BinOf(9.5), 10u);
  EXPECT_EQ(b.BinOf(INFINITY), 10u);
}

TEST(DriftBinsTest, RepeatedValuesShareOneBin) {
  // Six zeros: the first six deciles are 0, one cut; then 1, 2, 3; no cut at the maximum.
  const DriftBins b = DriftBins::FromValues({0, 0, 0, 0, 0, 0, 1, 2, 3, 4});
  EXPECT_EQ(b.edges, (std::vector<double>{0, 1, 2, 3}));
  const std::vector<double> want = {0, 0.6, 0.1, 0.1, 0.1, 0.1};
  ASSERT_EQ(b.shares.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(b.shares[i], want[i]) << i;
}

TEST(DriftBinsTest, MissingValuesHaveTheirOwnBin) {
  const DriftBins b = DriftBins::FromValues({NAN, NAN, 1, 2});
  EXPECT_EQ(b.edges, (std::vector<double>{1}));
  EXPECT_EQ(b.shares, (std::vector<double>{0.5, 0.25, 0.25}));
  const DriftBins constant = DriftBins::FromValues({7, 7, 7});
  EXPECT_TRUE(constant.edges.empty());
  EXPECT_EQ(constant.shares, (std::vector<double>{0, 1}));
}

TEST(PsiTest, HandComputed) {
  // Reference 50/50, live 25/75: (0.25 - 0.5) ln(0.5) + (0.75 - 0.5) ln(1.5).
  const double want = 0.25 * std::log(2.0) + 0.25 * std::log(1.5);
  EXPECT_NEAR(Psi({0, 0.5, 0.5}, {0, 1, 3}), want, 1e-12);
  EXPECT_NEAR(want, 0.274653, 1e-6);
  EXPECT_EQ(Psi({0, 0.5, 0.5}, {0, 5, 5}), 0.0);
  EXPECT_TRUE(std::isnan(Psi({0, 0.5, 0.5}, {0, 0, 0})));
  // A bin the reference never saw counts as 1e-4, not as impossible:
  // (1 - 1e-4) ln(1e4) + (1e-4 - 1) ln(1e-4) = 2 (1 - 1e-4) ln(1e4).
  EXPECT_NEAR(Psi({0, 1, 0}, {0, 0, 4}), 2 * (1 - 1e-4) * std::log(1e4), 1e-9);
}

// Independent of DriftBins: each value's bin found by scanning the edges.
int ScanBin(const std::vector<double>& edges, double v) {
  if (std::isnan(v)) return 0;
  int bin = 1;
  for (double e : edges) {
    if (v > e) ++bin;
  }
  return bin;
}

double PsiByHand(const std::vector<double>& ref, const std::vector<double>& live_values,
                 const std::vector<double>& edges) {
  std::vector<double> live(ref.size(), 0);
  for (double v : live_values) live[ScanBin(edges, v)] += 1.0 / live_values.size();
  double psi = 0;
  for (size_t i = 0; i < ref.size(); ++i) {
    const double a = std::max(live[i], 1e-4), e = std::max(ref[i], 1e-4);
    psi += (a - e) * std::log(a / e);
  }
  return psi;
}

TEST(DriftTallyTest, MatchesAnIndependentComputationOnRandomRows) {
  std::mt19937_64 rng(17);
  for (int round = 0; round < 20; ++round) {
    const size_t n = 200 + rng() % 2000, m = 100 + rng() % 3000;
    std::normal_distribution<double> ref_dist(0, 1), live_dist(0.3 * (round % 4), 1 + 0.2 * round);
    std::vector<float> x(n * kNumFeatures), scores(n);
    for (size_t i = 0; i < n; ++i) {
      for (int f = 0; f < kNumFeatures; ++f) {
        // Feature f: rounded to f % 4 decimals (ties), 1 in 10 missing for odd f.
        const double v = std::round(ref_dist(rng) * std::pow(10, f % 4)) / std::pow(10, f % 4);
        x[i * kNumFeatures + f] = (f % 2 == 1 && rng() % 10 == 0) ? NAN : static_cast<float>(v);
      }
      scores[i] = static_cast<float>(1 / (1 + std::exp(-ref_dist(rng))));
    }
    const DriftReference ref = DriftReference::FromRows(x, scores, "all");
    DriftTally tally(ref);
    std::vector<std::vector<double>> live_columns(kNumFeatures);
    std::vector<double> live_scores;
    std::vector<float> row(kNumFeatures);
    for (size_t i = 0; i < m; ++i) {
      for (int f = 0; f < kNumFeatures; ++f) {
        row[f] = (rng() % 7 == 0) ? NAN : static_cast<float>(live_dist(rng));
        live_columns[f].push_back(row[f]);
      }
      const double p = 1 / (1 + std::exp(-live_dist(rng)));
      live_scores.push_back(p);
      tally.Add(row.data(), p);
    }
    ASSERT_EQ(tally.rows(), static_cast<int64_t>(m));
    const std::vector<double> psi = tally.FeaturePsi();
    for (int f = 0; f < kNumFeatures; ++f) {
      EXPECT_GE(psi[f], 0.0);
      // The reference's shares themselves, recomputed by scanning.
      std::vector<double> column;
      for (size_t i = 0; i < n; ++i) column.push_back(x[i * kNumFeatures + f]);
      std::vector<double> shares(ref.features[f].size(), 0);
      for (double v : column) shares[ScanBin(ref.features[f].edges, v)] += 1.0 / n;
      for (size_t b = 0; b < shares.size(); ++b)
        EXPECT_NEAR(ref.features[f].shares[b], shares[b], 1e-9);
      EXPECT_NEAR(psi[f], PsiByHand(shares, live_columns[f], ref.features[f].edges), 1e-9)
          << "round " << round << " feature " << f;
    }
    EXPECT_NEAR(tally.ScorePsi(), PsiByHand(ref.score.shares, live_scores, ref.score.edges), 1e-9);
  }
}

TEST(DriftTallyTest, TheSameDistributionIsStableAndAShiftIsNot) {
  std::mt19937_64 rng(5);
  std::lognormal_distribution<double> minutes(2, 0.7);
  std::vector<double> ref_values(20000);
  for (double& v : ref_values) v = minutes(rng);
  const DriftBins bins = DriftBins::FromValues(ref_values);
  std::vector<int64_t> same(bins.size()), tripled(bins.size());
  for (int i = 0; i < 20000; ++i) {
    const double v = minutes(rng);
    ++same[bins.BinOf(v)];
    ++tripled[bins.BinOf(3 * v)];
  }
  EXPECT_LT(Psi(bins.shares, same), 0.01);
  EXPECT_GT(Psi(bins.shares, tripled), 0.25);
}

TEST(DriftTallyTest, TheDeclinePopulationCountsOnlyCustomersWithRevenue) {
  std::vector<float> x(2 * kNumFeatures, 1.0f);
  const DriftReference ref = DriftReference::FromRows(x, {0.2f, 0.4f}, "revenue_90d > 0");
  DriftTally tally(ref);
  std::vector<float> row(kNumFeatures, 1.0f);
  tally.Add(row.data(), 0.3);
  row[kRevenue90d] = 0;
  tally.Add(row.data(), 0.3);
  row[kRevenue90d] = NAN;
  tally.Add(row.data(), 0.3);
  EXPECT_EQ(tally.rows(), 1);
  DriftTally other(ref);
  other.Merge(tally);
  other.Merge(tally);
  EXPECT_EQ(other.rows(), 2);
  EXPECT_EQ(other.FeaturePsi(), tally.FeaturePsi());  // shares, not counts
}

TEST(DriftMetaTest, RoundTripsThroughMetaJsonAndRefusesBrokenBins) {
  std::vector<float> x(3 * kNumFeatures);
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i % 5);
  ModelMeta m;
  m.target = "repurchase_30d";
  m.drift = DriftReference::FromRows(x, {0.1f, 0.5f, 0.9f}, "all");
  const std::string text = m.ToJson();
  auto back = ModelMeta::Parse(text, "meta.json");
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_TRUE(back->drift.has_value());
  EXPECT_EQ(back->drift->rows, 3);
  EXPECT_EQ(back->drift->score.edges, m.drift->score.edges);
  EXPECT_EQ(back->ToJson(), text);
  auto without = ModelMeta::Parse(R"({"target": "repurchase_30d"})", "old.json");
  ASSERT_TRUE(without.ok());
  EXPECT_FALSE(without->drift.has_value());  // older files: no drift reported

  auto broken = [&](const std::string& from, const std::string& to) {
    std::string t = text;
    const size_t at = t.find(from);
    EXPECT_NE(at, std::string::npos) << from;
    t.replace(at, from.size(), to);
    return ModelMeta::Parse(t, "meta.json").status();
  };
  absl::Status s = broken("\"population\": \"all\"", "\"population\": \"vip\"");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("unknown population"), std::string::npos) << s;
  s = broken("\"tenure_days\"", "\"tenure_dayz\"");
  EXPECT_NE(s.message().find("no bins for feature tenure_days"), std::string::npos) << s;
  s = broken("\"shares\": [", "\"shares\": [0.5, ");
  EXPECT_NE(s.message().find("one share more"), std::string::npos) << s;
}

}  // namespace
}  // namespace recur
