#include "trainer/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace recur {
namespace {

TEST(MetricsTest, HandComputedAucPrAucLift) {
  // Scores 0.9(+) 0.8(-) 0.7(+) 0.1(-): pairs (+,-): (0.9,0.8) (0.9,0.1) (0.7,0.8) (0.7,0.1) -> 3
  // of 4.
  BinaryMetrics m = Evaluate({0.9f, 0.8f, 0.7f, 0.1f}, {1, 0, 1, 0});
  EXPECT_DOUBLE_EQ(m.roc_auc, 0.75);
  // AP = 0.5 x 1/1 + 0.5 x 2/3.
  EXPECT_NEAR(m.pr_auc, 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.base_rate, 0.5);
  EXPECT_DOUBLE_EQ(m.lift_top_decile, 2.0);  // top row (0.9) is positive: 1 / 0.5
  EXPECT_NEAR(m.log_loss, -(std::log(0.9) + std::log(0.2) + std::log(0.7) + std::log(0.9)) / 4,
              1e-6);
}

TEST(MetricsTest, PrecisionAndRecallAtTheThreshold) {
  // Scores 0.9(+) 0.8(-) 0.7(+) 0.1(-).
  BinaryMetrics m =
      Evaluate({0.9f, 0.8f, 0.7f, 0.1f}, {1, 0, 1, 0});  // threshold 0.5: 0.9, 0.8, 0.7
  EXPECT_DOUBLE_EQ(m.threshold, 0.5);
  EXPECT_DOUBLE_EQ(m.precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m.recall, 1.0);
  m = Evaluate({0.9f, 0.8f, 0.7f, 0.1f}, {1, 0, 1, 0}, 0.75);  // 0.9(+), 0.8(-)
  EXPECT_DOUBLE_EQ(m.precision, 0.5);
  EXPECT_DOUBLE_EQ(m.recall, 0.5);
  m = Evaluate({0.9f, 0.8f, 0.7f, 0.1f}, {1, 0, 1, 0}, 0.95);  // nothing predicted positive
  EXPECT_TRUE(std::isnan(m.precision));
  EXPECT_DOUBLE_EQ(m.recall, 0.0);
}

TEST(MetricsTest, PerGroupMetricsUseOnlyTheGroupsRows) {
  // Overall AUC 0.75 (above); within each shop the positive ranks first: 1.0.
  auto by = EvaluateByGroup({0.9f, 0.8f, 0.7f, 0.1f}, {1, 0, 1, 0}, {"a", "a", "b", "b"});
  ASSERT_EQ(by.size(), 2u);
  EXPECT_DOUBLE_EQ(by["a"].roc_auc, 1.0);
  EXPECT_DOUBLE_EQ(by["b"].roc_auc, 1.0);
  EXPECT_EQ(by["a"].rows, 2);
  EXPECT_DOUBLE_EQ(by["a"].precision, 0.5);  // 0.9(+) and 0.8(-) above 0.5
  EXPECT_DOUBLE_EQ(by["b"].precision, 1.0);  // only 0.7(+)
  EXPECT_DOUBLE_EQ(by["a"].lift_top_decile, 2.0);
  EXPECT_NEAR(by["b"].log_loss, -(std::log(0.7) + std::log(0.9)) / 2, 1e-6);
  // A shop with one class has no AUC.
  auto one = EvaluateByGroup({0.2f, 0.4f}, {0, 0}, {"c", "c"});
  EXPECT_TRUE(std::isnan(one["c"].roc_auc));
  EXPECT_TRUE(std::isnan(one["c"].recall));
}

TEST(MetricsTest, LiftOfAConstantScoreIsOne) {
  // Every row ties: the top decile is any tenth of them, so its expected
  // outcome rate is the base rate whatever order the rows come in.
  std::vector<float> labels(20, 0.0f);
  for (int i = 15; i < 20; ++i) labels[i] = 1;  // positives last, where an unstable top-k looks
  BinaryMetrics m = Evaluate(std::vector<float>(20, 0.3f), labels);
  EXPECT_DOUBLE_EQ(m.lift_top_decile, 1.0);
  labels.assign(10, 0.0f);
  labels[9] = 1;
  EXPECT_DOUBLE_EQ(Evaluate(std::vector<float>(10, 0.7f), labels).lift_top_decile, 1.0);
}

TEST(MetricsTest, LiftAveragesTheTieGroupAcrossTheDecileBoundary) {
  // 20 rows, top decile = 2: the single 0.9 (negative) and one of the 19 rows
  // tied at 0.5, of which 4 are positive: expected positives 4/19.
  std::vector<float> scores(20, 0.5f), labels(20, 0.0f);
  scores[0] = 0.9f;
  for (int i = 16; i < 20; ++i) labels[i] = 1;
  BinaryMetrics m = Evaluate(scores, labels);
  EXPECT_NEAR(m.lift_top_decile, (4.0 / 19.0 / 2.0) / 0.2, 1e-12);
}

TEST(MetricsTest, TiesCountHalf) {
  BinaryMetrics m = Evaluate({0.5f, 0.5f}, {1, 0});
  EXPECT_DOUBLE_EQ(m.roc_auc, 0.5);
}

}  // namespace
}  // namespace recur
