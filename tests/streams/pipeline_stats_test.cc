// The stats line's DLQ rate (issue 15, item 3): dead letters by reason since the
// previous stats line and per second, so an alert can fire on a rising rate.
#include "streams/pipeline_stats.h"

#include <chrono>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace recur {
namespace {

using std::chrono::seconds;

std::string Stats(const nlohmann::json& dlq) { return nlohmann::json{{"dlq", dlq}}.dump(); }

TEST(StatsIntervalTest, FirstLineCountsFromTheStart) {
  const auto t0 = StatsInterval::Clock::time_point{};
  StatsInterval interval(t0);
  auto j = nlohmann::json::parse(interval.Line(Stats({{"bad_proto", 4}}), t0 + seconds(2)));
  EXPECT_EQ(j["dlq_interval"], (nlohmann::json{{"bad_proto", 4}}));
  EXPECT_DOUBLE_EQ(j["dlq_interval_s"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(j["dlq_per_s"].get<double>(), 2.0);
  EXPECT_EQ(j["dlq"], (nlohmann::json{{"bad_proto", 4}}));  // the totals stay
}

TEST(StatsIntervalTest, LaterLinesCountOnlyTheirInterval) {
  const auto t0 = StatsInterval::Clock::time_point{};
  StatsInterval interval(t0);
  (void)interval.Line(Stats({{"bad_proto", 4}}), t0 + seconds(10));
  auto j = nlohmann::json::parse(
      interval.Line(Stats({{"bad_proto", 7}, {"too_late", 2}}), t0 + seconds(20)));
  EXPECT_EQ(j["dlq_interval"], (nlohmann::json{{"bad_proto", 3}, {"too_late", 2}}));
  EXPECT_DOUBLE_EQ(j["dlq_per_s"].get<double>(), 0.5);
  // A quiet interval: zero, and a reason that stopped is not listed.
  j = nlohmann::json::parse(
      interval.Line(Stats({{"bad_proto", 7}, {"too_late", 2}}), t0 + seconds(30)));
  EXPECT_EQ(j["dlq_interval"], nlohmann::json::object());
  EXPECT_DOUBLE_EQ(j["dlq_per_s"].get<double>(), 0.0);
}

TEST(StatsIntervalTest, DueOnlyAfterTheInterval) {
  const auto t0 = StatsInterval::Clock::time_point{};
  StatsInterval interval(t0);
  EXPECT_FALSE(interval.Due(5, t0 + seconds(4)));
  EXPECT_TRUE(interval.Due(5, t0 + seconds(5)));
  (void)interval.Line(Stats(nlohmann::json::object()), t0 + seconds(5));
  EXPECT_FALSE(interval.Due(5, t0 + seconds(9)));
  EXPECT_TRUE(interval.Due(5, t0 + seconds(10)));
}

TEST(StatsIntervalTest, NoDlqYetIsZeroAndNotJsonPassesThrough) {
  const auto t0 = StatsInterval::Clock::time_point{};
  StatsInterval interval(t0);
  auto j = nlohmann::json::parse(interval.Line("{}", t0 + seconds(1)));
  EXPECT_EQ(j["dlq_interval"], nlohmann::json::object());
  EXPECT_DOUBLE_EQ(j["dlq_per_s"].get<double>(), 0.0);
  EXPECT_EQ(interval.Line("not json", t0 + seconds(2)), "not json");
}

}  // namespace
}  // namespace recur
