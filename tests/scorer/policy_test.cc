// The scoring policy on hand-worked cases: the as-of times of event-driven and
// re-scoring passes, when a re-scoring pass is due, and which re-scores are
// published.
#include "scorer/policy.h"

#include <gtest/gtest.h>

#include <cmath>

namespace recur {
namespace {

// UTC day 20000 is 2024-10-04; it starts at 20000 x 86,400,000 ms.
constexpr int32_t kDay = 20000;
constexpr int64_t kDayStart = 1'728'000'000'000;
constexpr int64_t kHour = 3'600'000;

TEST(PolicyTest, EventScoreIsAsOfTheCustomersLatestEvent) {
  // Last re-scored the day before: the event's own time wins.
  EXPECT_EQ(EventScoreAsOf(kDayStart + 5 * kHour, kDayStart + 9 * kHour, kDay - 1),
            kDayStart + 5 * kHour);
  // Never re-scored (day 0).
  EXPECT_EQ(EventScoreAsOf(kDayStart + 5 * kHour, kDayStart + 9 * kHour, 0), kDayStart + 5 * kHour);
}

TEST(PolicyTest, EventScoreOfALateEventIsNotTakenBackBeforeTheLastRescoredDay) {
  // The event is from noon of day 19999; the store was re-scored as of day 20000.
  EXPECT_EQ(EventScoreAsOf(kDayStart - 12 * kHour, kDayStart + 9 * kHour, kDay), kDayStart);
}

TEST(PolicyTest, EventScoreOfACustomerWithoutEventsIsAsOfTheWatermark) {
  EXPECT_EQ(EventScoreAsOf(0, kDayStart + 9 * kHour, kDay - 1), kDayStart + 9 * kHour);
  // ... and still never before the last re-scored day.
  EXPECT_EQ(EventScoreAsOf(0, kDayStart - kHour, kDay), kDayStart);
}

TEST(PolicyTest, RescoreIsAsOfTheStartOfTheDayOrALaterEvent) {
  EXPECT_EQ(RescoreAsOf(kDayStart - 12 * kHour, kDay), kDayStart);
  EXPECT_EQ(RescoreAsOf(0, kDay + 1), kDayStart + 24 * kHour);
  // An event later on the pass's own day keeps its time.
  EXPECT_EQ(RescoreAsOf(kDayStart + 3 * kHour, kDay), kDayStart + 3 * kHour);
}

TEST(PolicyTest, RescoreIsDueWhenTheWatermarkReachesALaterDay) {
  EXPECT_FALSE(RescoreDue(0, 0));                              // no event yet
  EXPECT_FALSE(RescoreDue(kDayStart + 23 * kHour, kDay));      // same day
  EXPECT_FALSE(RescoreDue(kDayStart + 23 * kHour, kDay + 1));  // watermark behind
  EXPECT_TRUE(RescoreDue(kDayStart, kDay - 1));                // first ms of the next day
  EXPECT_TRUE(RescoreDue(kDayStart + 23 * kHour, 0));          // never re-scored
}

v1::CustomerScore Score(double risk, double repurchase) {
  v1::CustomerScore s;
  s.set_risk_decline_90d(risk);
  s.set_repurchase_30d(repurchase);
  s.set_risk_model_version("r1");
  s.set_repurchase_model_version("p1");
  s.add_segments("at_risk_high_profit");
  s.add_segments("promo_driven_at_risk");
  return s;
}

TEST(PolicyTest, PublishesWithoutAComparableLastScore) {
  EXPECT_TRUE(ShouldPublish(nullptr, Score(0.5, 0.5), 0.01));
}

TEST(PolicyTest, DoesNotPublishTheSameScoreOrAMoveWithinEpsilon) {
  const v1::CustomerScore last = Score(0.5, 0.25);
  EXPECT_FALSE(ShouldPublish(&last, Score(0.5, 0.25), 0.01));
  EXPECT_FALSE(ShouldPublish(&last, Score(0.505, 0.245), 0.01));
  // Exactly epsilon apart (0.25 and 0.5 are exact in binary) is within.
  EXPECT_FALSE(ShouldPublish(&last, Score(0.75, 0.5), 0.25));
  // Reasons and as_of are not part of the decision.
  v1::CustomerScore next = Score(0.5, 0.25);
  next.set_as_of_ms(kDayStart);
  next.add_reasons()->set_feature("orders_90d");
  EXPECT_FALSE(ShouldPublish(&last, next, 0.01));
}

TEST(PolicyTest, PublishesAProbabilityThatMovedMoreThanEpsilon) {
  const v1::CustomerScore last = Score(0.5, 0.25);
  EXPECT_TRUE(ShouldPublish(&last, Score(0.52, 0.25), 0.01));   // risk
  EXPECT_TRUE(ShouldPublish(&last, Score(0.5, 0.23), 0.01));    // repurchase
  EXPECT_TRUE(ShouldPublish(&last, Score(0.75, 0.25), 0.125));  // 0.25 > 0.125
  EXPECT_TRUE(ShouldPublish(&last, Score(NAN, 0.25), 0.01));    // NaN counts as moved
}

TEST(PolicyTest, PublishesChangedSegmentsOrTheirOrder) {
  const v1::CustomerScore last = Score(0.5, 0.25);
  v1::CustomerScore fewer = Score(0.5, 0.25);
  fewer.mutable_segments()->RemoveLast();
  EXPECT_TRUE(ShouldPublish(&last, fewer, 0.01));
  v1::CustomerScore swapped = Score(0.5, 0.25);
  swapped.mutable_segments()->SwapElements(0, 1);
  EXPECT_TRUE(ShouldPublish(&last, swapped, 0.01));
}

TEST(PolicyTest, PublishesWhenEitherModelVersionChanged) {
  const v1::CustomerScore last = Score(0.5, 0.25);
  v1::CustomerScore risk = Score(0.5, 0.25);
  risk.set_risk_model_version("r2");
  EXPECT_TRUE(ShouldPublish(&last, risk, 0.01));
  v1::CustomerScore repurchase = Score(0.5, 0.25);
  repurchase.set_repurchase_model_version("p2");
  EXPECT_TRUE(ShouldPublish(&last, repurchase, 0.01));
}

}  // namespace
}  // namespace recur
