#include "trainer/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace recur {
namespace {

TEST(MetricsTest, HandComputedAucPrAucLift) {
  // Scores 0.9(+) 0.8(-) 0.7(+) 0.1(-): pairs (+,-): (0.9,0.8) (0.9,0.1) (0.7,0.8) (0.7,0.1) -> 3 of 4.
  BinaryMetrics m = Evaluate({0.9f, 0.8f, 0.7f, 0.1f}, {1, 0, 1, 0});
  EXPECT_DOUBLE_EQ(m.roc_auc, 0.75);
  // AP = 0.5 x 1/1 + 0.5 x 2/3.
  EXPECT_NEAR(m.pr_auc, 0.5 + 0.5 * 2.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(m.base_rate, 0.5);
  EXPECT_DOUBLE_EQ(m.lift_top_decile, 2.0);  // top row (0.9) is positive: 1 / 0.5
  EXPECT_NEAR(m.log_loss, -(std::log(0.9) + std::log(0.2) + std::log(0.7) + std::log(0.9)) / 4, 1e-6);
}

TEST(MetricsTest, TiesCountHalf) {
  BinaryMetrics m = Evaluate({0.5f, 0.5f}, {1, 0});
  EXPECT_DOUBLE_EQ(m.roc_auc, 0.5);
}

}  // namespace
}  // namespace recur
