// Segment rules: parsing with errors that name the line, evaluation on
// hand-built customers, quantiles per shop, the shipped default set.
#include "scorer/rules.h"

#include <gtest/gtest.h>

namespace recur {
namespace {

Features With(std::initializer_list<std::pair<const char*, double>> values, std::string top = "") {
  Features f;
  for (const auto& [name, v] : values) f.values[FeatureIndex(name)] = v;
  f.top_category_6m = std::move(top);
  return f;
}

TEST(RulesTest, TheDefaultSetParsesWithTheFiveSegmentsOfTheIssue) {
  auto r = Rules::Load("");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->size(), 5u);
  ASSERT_EQ(r->quantiles_needed().size(), 1u);
  EXPECT_EQ(r->quantiles_needed()[0],
            (QuantileTable::Key{FeatureIndex("profit_avg_month_3m"), 75}));
  // Likely to buy anyway; and a children's-goods buyer at the same time.
  auto s = r->Evaluate(0.1, 0.8, With({}, "children"), nullptr);
  EXPECT_EQ(s.segments,
            (std::vector<std::string>{"childrens_goods_buyer", "likely_to_buy_anyway"}));
  ASSERT_EQ(s.actions.size(), 2u);
  EXPECT_NE(s.actions[1].find("no incentive"), std::string::npos);
  // Electronics with a long gap, promo-driven and at risk.
  s = r->Evaluate(
      0.6, 0.1, With({{"days_since_last_purchase", 120}, {"promo_share_6m", 0.75}}, "electronics"),
      nullptr);
  EXPECT_EQ(s.segments,
            (std::vector<std::string>{"promo_driven_at_risk", "long_lifecycle_electronics"}));
}

TEST(RulesTest, QuantilesArePerShopNearestRankAndUnknownMeansFalse) {
  auto r = Rules::Parse(
      "segment top if risk > 0.5 and revenue_90d >= p80(revenue_90d) then call them\n", "t");
  ASSERT_TRUE(r.ok()) << r.status();
  QuantileTable q;
  // shop a: revenue 0..10 -> nearest rank floor(0.8 * 10) = index 8 -> 8.
  for (int i = 0; i <= 10; ++i)
    q.Add("a", With({{"revenue_90d", static_cast<double>(10 - i)}}), r->quantiles_needed());
  q.Add("b", With({{"revenue_90d", 500}}), r->quantiles_needed());
  q.Add("b", With({}), r->quantiles_needed());  // NaN is not a sample
  q.Finish();
  EXPECT_EQ(q.ForShop("a")->values.at({FeatureIndex("revenue_90d"), 80}), 8);
  EXPECT_EQ(q.ForShop("b")->values.at({FeatureIndex("revenue_90d"), 80}), 500);
  EXPECT_EQ(r->Evaluate(0.9, 0, With({{"revenue_90d", 8}}), q.ForShop("a")).segments.size(), 1u);
  EXPECT_EQ(r->Evaluate(0.9, 0, With({{"revenue_90d", 7.99}}), q.ForShop("a")).segments.size(), 0u);
  EXPECT_EQ(r->Evaluate(0.9, 0, With({{"revenue_90d", 8}}), q.ForShop("b")).segments.size(), 0u);
  EXPECT_EQ(r->Evaluate(0.9, 0, With({{"revenue_90d", 1e9}}), nullptr).segments.size(),
            0u);  // no table yet
  EXPECT_EQ(r->Evaluate(0.4, 0, With({{"revenue_90d", 9}}), q.ForShop("a")).segments.size(), 0u);
  // The table survives the store round trip.
  auto back = QuantileTable::Parse(q.Serialize());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->Serialize(), q.Serialize());
  EXPECT_EQ(QuantileTable::Parse("[1]").status().code(), absl::StatusCode::kDataLoss);
}

TEST(RulesTest, NaNNeverSatisfiesACondition) {
  auto r = Rules::Parse("segment s if days_since_last_purchase != 5\n", "t");
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->Evaluate(0, 0, With({}), nullptr).segments.empty());
  EXPECT_EQ(r->Evaluate(0, 0, With({{"days_since_last_purchase", 6}}), nullptr).segments.size(),
            1u);
}

TEST(RulesTest, ErrorsNameTheFileLineAndProblem) {
  const std::pair<const char*, const char*> cases[] = {
      {"segment a if risk >= 0.5\nsegment b if revenu_90d > 1\n",
       "f.txt:2: unknown feature 'revenu_90d'"},
      {"# c\n\nsegment a if risk => 0.5\n", "f.txt:3: unknown operator '=>'"},
      {"segment a if risk >= high\n", "f.txt:1: bad value 'high'"},
      {"segment a if risk >= 0.5 or repurchase < 1\n",
       "f.txt:1: expected 'and' or 'then', got 'or'"},
      {"segment a if risk >= 0.5\nsegment a if risk < 0.1\n",
       "f.txt:2: segment 'a' is defined twice"},
      {"segment a if top_category_6m > \"toys\"\n", "f.txt:1: text compares only with == or !="},
      {"segment a if revenue_90d == \"toys\"\n",
       "f.txt:1: a \"text\" value compares only with top_category_6m"},
      {"segment a if revenue_90d > p101(revenue_90d)\n",
       "f.txt:1: bad quantile 'p101(revenue_90d)'"},
      {"segment a if risk > 0.5 then\n", "f.txt:1: 'then' without an action"},
      {"segment a if risk > 0.5 and then x\n", "f.txt:1: expected a condition"},
      {"segmnt a if risk > 0.5\n", "f.txt:1: expected 'segment <name> if ...', got 'segmnt'"},
      {"# only comments\n", "f.txt: no rules"},
  };
  for (const auto& [text, want] : cases) {
    auto r = Rules::Parse(text, "f.txt");
    ASSERT_FALSE(r.ok()) << text;
    EXPECT_NE(r.status().message().find(want), std::string::npos)
        << r.status() << "\nwanted: " << want;
  }
  EXPECT_EQ(Rules::Load("/nonexistent/rules.txt").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace recur
