// The table of targets: names, parsing, rule operands and the CustomerScore
// fields each target's model fills.
#include "scorer/targets.h"

#include <gtest/gtest.h>

namespace recur {
namespace {

TEST(TargetsTest, NamesRoundTripAndAnUnknownNameIsRefusedWithTheKnownOnes) {
  for (const TargetInfo& t : kTargets) {
    EXPECT_EQ(*ParseTarget(t.name), t.target);
    EXPECT_EQ(TargetName(t.target), t.name);
    EXPECT_EQ(&InfoOf(t.target), &t);
  }
  EXPECT_EQ(TargetName(Target::kActivityDecline90d), "activity_decline_90d");
  EXPECT_EQ(TargetName(Target::kRepurchase30d), "repurchase_30d");
  auto bad = ParseTarget("churn");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "target 'churn': expected repurchase_30d or activity_decline_90d");
}

TEST(TargetsTest, RuleOperandsAndScoreFieldNames) {
  EXPECT_EQ(InfoOf(Target::kActivityDecline90d).operand, "risk");
  EXPECT_EQ(InfoOf(Target::kRepurchase30d).operand, "repurchase");
  EXPECT_EQ(ScoreFieldName(Target::kActivityDecline90d), "risk_decline_90d");
  EXPECT_EQ(ScoreFieldName(Target::kRepurchase30d), "repurchase_30d");
}

TEST(TargetsTest, EachTargetFillsItsOwnFields) {
  v1::CustomerScore s;
  SetPrediction(&s, Target::kActivityDecline90d, 0.25, "r7");
  SetPrediction(&s, Target::kRepurchase30d, 0.75, "p9");
  EXPECT_EQ(s.risk_decline_90d(), 0.25);
  EXPECT_EQ(s.risk_model_version(), "r7");
  EXPECT_EQ(s.repurchase_30d(), 0.75);
  EXPECT_EQ(s.repurchase_model_version(), "p9");
  EXPECT_EQ(Probability(s, Target::kActivityDecline90d), 0.25);
  EXPECT_EQ(ModelVersion(s, Target::kRepurchase30d), "p9");
}

}  // namespace
}  // namespace recur
