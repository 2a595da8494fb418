// The time rules: days, the retention horizon, lateness, formatting and parsing,
// each checked against values worked out by hand.
#include "base/time.h"

#include <gtest/gtest.h>

namespace recur {
namespace {

// 2026-01-31T00:00:00Z = 20484 days after 1970-01-01.
constexpr int64_t kJan31 = 1'769'817'600'000;

TEST(TimeTest, DayOfFloorsBeforeTheEpoch) {
  EXPECT_EQ(DayOf(0), 0);
  EXPECT_EQ(DayOf(kMillisPerDay - 1), 0);
  EXPECT_EQ(DayOf(-1), -1);
  EXPECT_EQ(DayOf(kJan31), 20484);
}

TEST(TimeTest, HorizonHoldsExactlyRetentionDays) {
  const int64_t max = kJan31 + 5 * 3'600'000;  // 05:00 on day 20484
  EXPECT_EQ(HorizonFirstDay(max, 400), 20484 - 399);
  // The first day of the horizon is inside, the day before it is not.
  const int64_t first = int64_t{20484 - 399} * kMillisPerDay;
  EXPECT_TRUE(WithinHorizon(first, max, 400));
  EXPECT_FALSE(WithinHorizon(first - 1, max, 400));
  // An empty store (max 0) takes anything.
  EXPECT_TRUE(WithinHorizon(-5 * kMillisPerDay, 0, 400));
}

TEST(TimeTest, LateMeansOlderThanStreamTimeMinusAllowedLateness) {
  const int64_t stream = kJan31 + 10 * 3'600'000;
  EXPECT_FALSE(IsLate(stream - kDefaultAllowedLatenessMs, stream));
  EXPECT_TRUE(IsLate(stream - kDefaultAllowedLatenessMs - 1, stream));
  EXPECT_FALSE(IsLate(0, 0));  // nothing seen yet: nothing is late
  EXPECT_TRUE(IsLate(stream - 61'000, stream, 60'000));
}

TEST(TimeTest, FormatsUtcDaysAndTimes) {
  EXPECT_EQ(FormatDay(20484), "2026-01-31");
  EXPECT_EQ(FormatDay(0), "1970-01-01");
  EXPECT_EQ(FormatDayOfMs(kJan31 + kMillisPerDay - 1), "2026-01-31");
  EXPECT_EQ(FormatTimeMs(kJan31 + 3'723'000), "2026-01-31T01:02:03Z");
}

TEST(TimeTest, ParsesMillisDatesAndRfc3339) {
  EXPECT_EQ(*ParseTime("1769817600000"), kJan31);
  EXPECT_EQ(*ParseTime("-1000"), -1000);
  EXPECT_EQ(*ParseTime("2026-01-31"), kJan31);
  EXPECT_EQ(*ParseTime("2026-01-31", DayBound::kStart), kJan31);
  EXPECT_EQ(*ParseTime("2026-01-31", DayBound::kEnd), kJan31 + kMillisPerDay - 1);
  EXPECT_EQ(*ParseTime("2026-01-31T01:02:03Z"), kJan31 + 3'723'000);
  EXPECT_EQ(*ParseTime("2026-01-31T02:02:03+01:00", DayBound::kEnd), kJan31 + 3'723'000);
}

TEST(TimeTest, RejectsWhatIsNotATimeWithoutThrowing) {
  for (const char* bad :
       {"", "tomorrow", "2026-13-01", "2026-1-5", "99999999999999999999999", "12ab", "-"}) {
    auto t = ParseTime(bad);
    ASSERT_FALSE(t.ok()) << bad;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(t.status().message().find(bad), std::string::npos) << t.status();
  }
}

}  // namespace
}  // namespace recur
