// Labels and cutoffs on hand-built histories.
#include "trainer/labels.h"

#include <gtest/gtest.h>

#include "tests/featurestore/test_events.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;

CustomerState Build(const std::vector<v1::Event>& events) {
  CustomerState s;
  for (const auto& e : events) s.Apply(e);
  return s;
}

int64_t EndOf(int y, int m, int d) { return Ms(y, m, d, 0) + kMillisPerDay - 1; }

TEST(LabelsTest, MonthEndCutoffsKeepOnlyCompleteLabelWindows) {
  const int32_t first = DayOf(Ms(2024, 1, 15)), last = DayOf(Ms(2024, 5, 10));
  std::vector<int64_t> c = MonthEndCutoffs(first, last, 30);
  // Jan 31, Feb 29, Mar 31 (+30 days = Apr 30 <= May 10); Apr 30 + 30 = May 30 > May 10.
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0], EndOf(2024, 1, 31));
  EXPECT_EQ(c[1], EndOf(2024, 2, 29));
  EXPECT_EQ(c[2], EndOf(2024, 3, 31));
  EXPECT_TRUE(MonthEndCutoffs(first, last, 120).empty());
}

TEST(LabelsTest, RepurchaseWithin30DaysAfterTheCutoff) {
  EventFactory ev;
  LabelOptions o;
  const int64_t t = EndOf(2024, 1, 31);
  // A purchase on T's own day is a feature, not a label; Mar 1 is day 30 after Jan 31.
  CustomerState buys_on_t = Build({ev.Purchase(Ms(2024, 1, 31, 23), 10)});
  EXPECT_EQ(*Label(buys_on_t, t, o), 0.0f);
  CustomerState day30 = Build({ev.Purchase(Ms(2024, 1, 5), 10), ev.Purchase(Ms(2024, 3, 1), 10)});
  EXPECT_EQ(*Label(day30, t, o), 1.0f);
  CustomerState day31 = Build({ev.Purchase(Ms(2024, 1, 5), 10), ev.Purchase(Ms(2024, 3, 2), 10)});
  EXPECT_EQ(*Label(day31, t, o), 0.0f);
}

TEST(LabelsTest, CustomersWithoutActivityBeforeTheCutoffAreNotInThePopulation) {
  EventFactory ev;
  CustomerState later = Build({ev.Purchase(Ms(2024, 2, 5), 10)});
  EXPECT_FALSE(Label(later, EndOf(2024, 1, 31), LabelOptions{}).has_value());
  // Known by a profile alone (no activity at all): in the population, label 0.
  CustomerState silent = Build({ev.Profile(Ms(2023, 5, 1), v1::SERVICE_TIER_STANDARD, true, Ms(2023, 5, 1))});
  EXPECT_EQ(*Label(silent, EndOf(2024, 1, 31), LabelOptions{}), 0.0f);
}

TEST(LabelsTest, ActivityDeclineComparesTheNext90DaysWithTheLast90) {
  EventFactory ev;
  LabelOptions o;
  o.target = Target::kActivityDecline90d;
  const int64_t t = EndOf(2024, 3, 31);
  // No revenue in (T-90d, T]: not in the population.
  EXPECT_FALSE(Label(Build({ev.Purchase(Ms(2023, 12, 1), 100)}), t, o).has_value());
  // 100 before; 79 after: below 0.8 x 100 -> decline.
  EXPECT_EQ(*Label(Build({ev.Purchase(Ms(2024, 3, 1), 100), ev.Purchase(Ms(2024, 5, 1), 79)}), t, o), 1.0f);
  // 80 after: not below 80 -> no decline.
  EXPECT_EQ(*Label(Build({ev.Purchase(Ms(2024, 3, 1), 100), ev.Purchase(Ms(2024, 5, 1), 80)}), t, o), 0.0f);
  // Window edges: Jan 2 is day 89 before Mar 31 (in), Jun 29 is day 90 after (in), Jun 30 out.
  EXPECT_EQ(*Label(Build({ev.Purchase(Ms(2024, 1, 2), 100), ev.Purchase(Ms(2024, 6, 29), 100)}), t, o), 0.0f);
  EXPECT_EQ(*Label(Build({ev.Purchase(Ms(2024, 1, 2), 100), ev.Purchase(Ms(2024, 6, 30), 100)}), t, o), 1.0f);
  o.decline_ratio = 0.5;
  EXPECT_EQ(*Label(Build({ev.Purchase(Ms(2024, 3, 1), 100), ev.Purchase(Ms(2024, 5, 1), 60)}), t, o), 0.0f);
}

TEST(LabelsTest, TargetNames) {
  EXPECT_EQ(*ParseTarget("repurchase_30d"), Target::kRepurchase30d);
  EXPECT_EQ(*ParseTarget("activity_decline_90d"), Target::kActivityDecline90d);
  EXPECT_EQ(ParseTarget("churn").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recur
