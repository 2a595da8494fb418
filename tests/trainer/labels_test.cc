// Labels and cutoffs on hand-built histories.
#include "trainer/labels.h"

#include <gtest/gtest.h>

#include "tests/testing/events.h"

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

TEST(LabelsTest, DeclineCutoffsAlsoNeedTheir90DaysBeforeInsideTheHistory) {
  const int32_t first = DayOf(Ms(2024, 1, 15)), last = DayOf(Ms(2024, 12, 31));
  std::vector<int64_t> c = MonthEndCutoffs(first, last, 90, 90);
  // (T - 90 days, T] must start on or after Jan 15: Mar 31 - 89 days = Jan 1 no, Apr 30 - 89 = Jan
  // 31 yes. T + 90 <= Dec 31: Sep 30 + 90 = Dec 29 yes, Oct 31 no.
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c.front(), EndOf(2024, 4, 30));
  EXPECT_EQ(c.back(), EndOf(2024, 9, 30));
  // Without a lookback (repurchase) January already counts.
  EXPECT_EQ(MonthEndCutoffs(first, last, 90, 0).front(), EndOf(2024, 1, 31));
}

TEST(LabelsTest, DaysBeforeTheHorizonCountTheSameWhetherPrunedYetOrNot) {
  // The store prunes a customer's old days only when it writes the customer,
  // so after the same events one store may still hold days another has
  // dropped. Labels read with the horizon must not tell them apart.
  EventFactory ev;
  const int32_t horizon = DayOf(Ms(2024, 3, 1));
  const CustomerState kept =
      Build({ev.Purchase(Ms(2024, 1, 10), 40), ev.Purchase(Ms(2024, 2, 20), 30),
             ev.Purchase(Ms(2024, 4, 2), 20), ev.Purchase(Ms(2024, 6, 15), 5)});
  CustomerState pruned = kept;
  pruned.Prune(horizon);
  ASSERT_LT(pruned.days().size(), kept.days().size());
  CustomerState only_old = Build({ev.Purchase(Ms(2024, 1, 10), 40)});
  CustomerState only_old_pruned = only_old;
  only_old_pruned.Prune(horizon);
  for (Target target : {Target::kRepurchase30d, Target::kActivityDecline90d}) {
    LabelOptions o;
    o.target = target;
    for (int64_t t : {EndOf(2024, 3, 31), EndOf(2024, 4, 30), EndOf(2024, 5, 31)}) {
      EXPECT_EQ(Label(kept, t, o, horizon), Label(pruned, t, o, horizon))
          << TargetName(target) << " " << t;
      EXPECT_EQ(Label(only_old, t, o, horizon), Label(only_old_pruned, t, o, horizon))
          << TargetName(target) << " " << t;
    }
  }
  // By hand: decline at Apr 30 reads (Jan 31, Apr 30] from the horizon (Mar 1)
  // on: 20 before, 5 after (Jun 15, within 90 days) -> 5 < 0.8 x 20: declined.
  LabelOptions decline;
  decline.target = Target::kActivityDecline90d;
  EXPECT_EQ(*Label(kept, EndOf(2024, 4, 30), decline, horizon), 1.0f);
  // Without the horizon the Feb 20 purchase counts too: 50 before.
  EXPECT_EQ(*Label(kept, EndOf(2024, 4, 30), decline), 1.0f);
  // A lapsed customer, whose only purchase is before the horizon, stays in the
  // population (its lifetime aggregates survive pruning, and the scorer keeps
  // scoring it: one rule, CustomerState::InPopulation), pruned or not; one whose
  // only activity before the horizon is visits is not.
  EXPECT_EQ(Label(only_old, EndOf(2024, 3, 31), LabelOptions{}, horizon), 0.0f);
  EXPECT_EQ(Label(only_old_pruned, EndOf(2024, 3, 31), LabelOptions{}, horizon), 0.0f);
  const CustomerState only_visits = Build({ev.Session(Ms(2024, 1, 10), 1, 1, 0, 0)});
  EXPECT_FALSE(Label(only_visits, EndOf(2024, 3, 31), LabelOptions{}, horizon).has_value());
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
  CustomerState silent =
      Build({ev.Profile(Ms(2023, 5, 1), v1::SERVICE_TIER_STANDARD, true, Ms(2023, 5, 1))});
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
  EXPECT_EQ(
      *Label(Build({ev.Purchase(Ms(2024, 3, 1), 100), ev.Purchase(Ms(2024, 5, 1), 79)}), t, o),
      1.0f);
  // 80 after: not below 80 -> no decline.
  EXPECT_EQ(
      *Label(Build({ev.Purchase(Ms(2024, 3, 1), 100), ev.Purchase(Ms(2024, 5, 1), 80)}), t, o),
      0.0f);
  // Window edges: Jan 2 is day 89 before Mar 31 (in), Jun 29 is day 90 after (in), Jun 30 out.
  EXPECT_EQ(
      *Label(Build({ev.Purchase(Ms(2024, 1, 2), 100), ev.Purchase(Ms(2024, 6, 29), 100)}), t, o),
      0.0f);
  EXPECT_EQ(
      *Label(Build({ev.Purchase(Ms(2024, 1, 2), 100), ev.Purchase(Ms(2024, 6, 30), 100)}), t, o),
      1.0f);
  o.decline_ratio = 0.5;
  EXPECT_EQ(
      *Label(Build({ev.Purchase(Ms(2024, 3, 1), 100), ev.Purchase(Ms(2024, 5, 1), 60)}), t, o),
      0.0f);
}

TEST(LabelsTest, TargetNames) {
  EXPECT_EQ(*ParseTarget("repurchase_30d"), Target::kRepurchase30d);
  EXPECT_EQ(*ParseTarget("activity_decline_90d"), Target::kActivityDecline90d);
  EXPECT_EQ(ParseTarget("churn").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recur
