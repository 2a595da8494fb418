// Hand-computed values for every feature of the catalog, computed by
// CustomerState (the one implementation of the feature math).
#include "featurestore/customer_state.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <random>
#include <set>

#include "absl/strings/escaping.h"
#include "tests/testing/events.h"

namespace recur {
namespace {

using testing::DaysBefore;
using testing::EventFactory;
using testing::Ms;

constexpr int32_t kNoHorizon = -1'000'000;

CustomerState Build(const std::vector<v1::Event>& events) {
  CustomerState s;
  for (const auto& e : events) EXPECT_TRUE(s.Apply(e));
  return s;
}

#define EXPECT_NAN_FEATURE(f, id) \
  EXPECT_TRUE(std::isnan((f)[id])) << kFeatureNames[id] << " = " << (f)[id]

TEST(CustomerStateTest, OnlyProfileGivesZeroCountsAndNaNRatios) {
  EventFactory ev;
  const int64_t t = Ms(2024, 5, 10);
  CustomerState s =
      Build({ev.Profile(Ms(2024, 5, 1), v1::SERVICE_TIER_PREMIUM, true, Ms(2024, 4, 20))});
  Features f = s.ComputeFeatures(t, kNoHorizon);
  EXPECT_EQ(f[kServiceTier], 1);
  EXPECT_EQ(f[kMarketingConsent], 1);
  EXPECT_EQ(f[kTenureDays], 20);  // Apr 20 -> May 10
  for (Feature z : {kMarketingSent6mAvg, kMarketingSentMonth0,
                    kMarketingClicks30d, kRevenueMonth0,
                    kRevenueMonth1,      kRevenueMonth2,
                    kProfitAvgMonth3m,   kOrders30d,
                    kOrders90d,          kOrders365d,
                    kRevenue30d,         kRevenue90d,
                    kRevenue365d,        kDistinctCategories90d,
                    kMinutesMonth0,      kMinutesMonth1,
                    kUnpaidCartItems90d, kServiceErrors90d,
                    kSessions7d,         kSessions30d}) {
    EXPECT_EQ(f[z], 0) << kFeatureNames[z];
  }
  for (Feature n : {kMarketingOpenRate90d, kPromoShare6m, kTopCategory6m, kDaysSinceLastPurchase,
                    kDaysSinceFirstPurchase, kAvgOrderValue365d, kMeanDaysBetweenOrders,
                    kPagesPerVisit90d, kCategoriesPerVisit30d, kDaysSinceLastSession}) {
    EXPECT_NAN_FEATURE(f, n);
  }
  EXPECT_EQ(f.top_category_6m, "");
}

TEST(CustomerStateTest, NoProfileGivesNaNProfileFeatures) {
  EventFactory ev;
  CustomerState s = Build({ev.Purchase(Ms(2024, 5, 1), 10)});
  Features f = s.ComputeFeatures(Ms(2024, 5, 10), kNoHorizon);
  EXPECT_NAN_FEATURE(f, kServiceTier);
  EXPECT_NAN_FEATURE(f, kMarketingConsent);
  EXPECT_NAN_FEATURE(f, kTenureDays);
}

TEST(CustomerStateTest, ProfileIsTheLatestOnOrBeforeT) {
  EventFactory ev;
  CustomerState s = Build({
      ev.Profile(Ms(2024, 1, 1), v1::SERVICE_TIER_STANDARD, true, Ms(2023, 12, 1)),
      ev.Profile(Ms(2024, 3, 1), v1::SERVICE_TIER_PREMIUM, false, Ms(2023, 12, 1)),
  });
  Features before = s.ComputeFeatures(Ms(2024, 2, 29), kNoHorizon);
  EXPECT_EQ(before[kServiceTier], 0);
  EXPECT_EQ(before[kMarketingConsent], 1);
  EXPECT_EQ(before[kTenureDays], 90);  // Dec 1 -> Feb 29 (leap year): 31 + 31 + 28
  Features after = s.ComputeFeatures(Ms(2024, 3, 1, 0), kNoHorizon);
  EXPECT_EQ(after[kServiceTier], 1);
  EXPECT_EQ(after[kMarketingConsent], 0);
  Features none = s.ComputeFeatures(Ms(2023, 12, 31), kNoHorizon);
  EXPECT_NAN_FEATURE(none, kServiceTier);
}

// Months are calendar months; month 0 runs from the 1st up to T's day.
TEST(CustomerStateTest, MonthWindowsOnTheFirstAndTheLast) {
  EventFactory ev;
  auto buy = [&](int64_t t, double amount) {
    return ev.Purchase(t, {{"books", 1, amount, false, amount / 10}});
  };
  CustomerState s =
      Build({buy(Ms(2023, 12, 31), 100), buy(Ms(2024, 1, 31), 10), buy(Ms(2024, 2, 1), 20),
             buy(Ms(2024, 2, 29), 40), buy(Ms(2024, 3, 1, 23), 80), buy(Ms(2024, 3, 31), 160)});
  // T on the 1st, at 00:00:00.001: the whole UTC day counts (day resolution).
  Features first = s.ComputeFeatures(Ms(2024, 3, 1, 0) + 1, kNoHorizon);
  EXPECT_DOUBLE_EQ(first[kRevenueMonth0], 80);
  EXPECT_DOUBLE_EQ(first[kRevenueMonth1], 60);
  EXPECT_DOUBLE_EQ(first[kRevenueMonth2], 10);
  EXPECT_DOUBLE_EQ(first[kProfitAvgMonth3m], (8.0 + 6.0 + 1.0) / 3);
  // T on the 31st.
  Features last = s.ComputeFeatures(Ms(2024, 3, 31, 23), kNoHorizon);
  EXPECT_DOUBLE_EQ(last[kRevenueMonth0], 240);
  EXPECT_DOUBLE_EQ(last[kRevenueMonth1], 60);
  EXPECT_DOUBLE_EQ(last[kRevenueMonth2], 10);
  // T on Feb 29: month 2 is December of the previous year.
  Features leap = s.ComputeFeatures(Ms(2024, 2, 29), kNoHorizon);
  EXPECT_DOUBLE_EQ(leap[kRevenueMonth0], 60);
  EXPECT_DOUBLE_EQ(leap[kRevenueMonth1], 10);
  EXPECT_DOUBLE_EQ(leap[kRevenueMonth2], 100);
  EXPECT_DOUBLE_EQ(leap[kProfitAvgMonth3m], (6.0 + 1.0 + 10.0) / 3);
}

TEST(CustomerStateTest, DayWindowsAreHalfOpen) {
  EventFactory ev;
  const int64_t t = Ms(2024, 6, 30, 8);
  std::vector<v1::Event> events;
  for (int age : {365, 364, 90, 89, 30, 29, 0})
    events.push_back(ev.Purchase(DaysBefore(t, age), {{"c" + std::to_string(age), 1, 10}}));
  Features f = Build(events).ComputeFeatures(t, kNoHorizon);
  EXPECT_EQ(f[kOrders30d], 2);
  EXPECT_EQ(f[kOrders90d], 4);
  EXPECT_EQ(f[kOrders365d], 6);
  EXPECT_DOUBLE_EQ(f[kRevenue30d], 20);
  EXPECT_DOUBLE_EQ(f[kRevenue90d], 40);
  EXPECT_DOUBLE_EQ(f[kRevenue365d], 60);
  EXPECT_DOUBLE_EQ(f[kAvgOrderValue365d], 10);
  EXPECT_EQ(f[kDaysSinceLastPurchase], 0);
  EXPECT_EQ(f[kDaysSinceFirstPurchase], 365);
  EXPECT_DOUBLE_EQ(f[kMeanDaysBetweenOrders], 365.0 / 6);
  EXPECT_EQ(f[kDistinctCategories90d], 4);  // ages 89, 30, 29, 0
}

TEST(CustomerStateTest, RevenueCountsQuantityTimesUnitPriceExactly) {
  EventFactory ev;
  // 3 x 0.1 + 7 x 0.7: exact in micro-units, not in binary floating point.
  CustomerState s = Build({ev.Purchase(Ms(2024, 6, 1), {{"a", 3, 0.1}, {"b", 7, 0.7}})});
  Features f = s.ComputeFeatures(Ms(2024, 6, 2), kNoHorizon);
  EXPECT_EQ(f[kRevenue30d], 5.2);
  EXPECT_EQ(f[kOrders30d], 1);
  EXPECT_EQ(f[kAvgOrderValue365d], 5.2);
  EXPECT_NAN_FEATURE(f, kMeanDaysBetweenOrders);  // one order only
}

TEST(CustomerStateTest, PromoShareAndTopCategoryOver182Days) {
  EventFactory ev;
  const int64_t t = Ms(2024, 9, 1);
  CustomerState s = Build({
      ev.Purchase(DaysBefore(t, 182), {{"zzz", 10, 1, true}}),  // outside 182d
      ev.Purchase(DaysBefore(t, 181), {{"toys", 1, 5}}),
      ev.Purchase(DaysBefore(t, 10), {{"books", 3, 5}}),
      ev.Purchase(DaysBefore(t, 0), {{"toys", 2, 5, true}}),
  });
  Features f = s.ComputeFeatures(t, kNoHorizon);
  EXPECT_DOUBLE_EQ(f[kPromoShare6m], 1.0 / 3);
  EXPECT_EQ(f.top_category_6m, "books");  // toys 3 items, books 3 items: the smallest name wins
  EXPECT_NAN_FEATURE(f, kTopCategory6m);  // the code belongs to the model schema
}

TEST(CustomerStateTest, MarketingWindows) {
  EventFactory ev;
  const int64_t t = Ms(2024, 7, 15);
  using A = v1::MarketingAction;
  CustomerState s = Build({
      ev.Marketing(Ms(2023, 12, 31), A::MARKETING_ACTION_SENT),    // month 7: outside
      ev.Marketing(Ms(2024, 1, 1), A::MARKETING_ACTION_SENT),      // month 6
      ev.Marketing(Ms(2024, 4, 16), A::MARKETING_ACTION_OPENED),   // age 90: outside 90d
      ev.Marketing(Ms(2024, 4, 17), A::MARKETING_ACTION_OPENED),   // age 89
      ev.Marketing(Ms(2024, 6, 15), A::MARKETING_ACTION_CLICKED),  // age 30: outside 30d
      ev.Marketing(Ms(2024, 6, 16), A::MARKETING_ACTION_CLICKED),  // age 29
      ev.Marketing(Ms(2024, 6, 30), A::MARKETING_ACTION_SENT),     // month 1
      ev.Marketing(Ms(2024, 7, 1), A::MARKETING_ACTION_SENT),      // month 0
      ev.Marketing(Ms(2024, 7, 2), A::MARKETING_ACTION_OPENED),
      ev.Marketing(Ms(2024, 7, 15, 23), A::MARKETING_ACTION_SENT),  // month 0, T's day
  });
  Features f = s.ComputeFeatures(t, kNoHorizon);
  EXPECT_DOUBLE_EQ(f[kMarketingSent6mAvg], 2.0 / 6);
  EXPECT_EQ(f[kMarketingSentMonth0], 2);
  EXPECT_DOUBLE_EQ(f[kMarketingOpenRate90d], 2.0 / 3);
  EXPECT_EQ(f[kMarketingClicks30d], 1);
}

TEST(CustomerStateTest, SessionAndCartFeatures) {
  EventFactory ev;
  const int64_t t = Ms(2024, 5, 10);
  CustomerState s = Build({
      ev.Session(DaysBefore(t, 90), 50, 100, 9, 100),  // outside 90d
      ev.Cart(DaysBefore(t, 90), 5),
      ev.Session(DaysBefore(t, 89), 4, 3, 0, 4),  // Feb 11
      ev.Cart(DaysBefore(t, 89), 3),
      ev.Session(DaysBefore(t, 29), 1, 2, 3, 0),  // Apr 11: month 1
      ev.Session(DaysBefore(t, 7), 3, 4, 1, 2),   // May 3: month 0, outside 7d
      ev.Session(DaysBefore(t, 6), 2, 1, 0, 0),
      ev.Session(DaysBefore(t, 0), 10.5, 5, 2, 1),
  });
  Features f = s.ComputeFeatures(t, kNoHorizon);
  EXPECT_DOUBLE_EQ(f[kMinutesMonth0], 15.5);
  EXPECT_DOUBLE_EQ(f[kMinutesMonth1], 1);
  EXPECT_EQ(f[kSessions7d], 2);
  EXPECT_EQ(f[kSessions30d], 4);
  EXPECT_DOUBLE_EQ(f[kCategoriesPerVisit30d], 6.0 / 4);
  EXPECT_DOUBLE_EQ(f[kPagesPerVisit90d], 15.0 / 5);
  EXPECT_EQ(f[kServiceErrors90d], 7);
  EXPECT_EQ(f[kUnpaidCartItems90d], 3);
  EXPECT_EQ(f[kDaysSinceLastSession], 0);
  Features later = s.ComputeFeatures(t + 3 * kMillisPerDay, kNoHorizon);
  EXPECT_EQ(later[kDaysSinceLastSession], 3);
}

TEST(CustomerStateTest, LateAndOutOfOrderEventsLandInTheirOwnDay) {
  EventFactory ev;
  const int64_t t = Ms(2024, 8, 20);
  std::vector<v1::Event> events = {
      ev.Profile(Ms(2024, 1, 1), v1::SERVICE_TIER_STANDARD, true, Ms(2023, 6, 1)),
      ev.Purchase(Ms(2024, 8, 1), {{"a", 1, 3}}),
      ev.Purchase(Ms(2024, 7, 5), {{"b", 2, 4, true}}),
      ev.Session(Ms(2024, 8, 19), 3, 3, 1, 0),
      ev.Purchase(Ms(2024, 8, 19), 7),
      ev.Marketing(Ms(2024, 6, 1), v1::MARKETING_ACTION_SENT),
      ev.Cart(Ms(2024, 8, 2), 2),
  };
  CustomerState in_order = Build(events);
  std::mt19937_64 rng(7);
  for (int round = 0; round < 20; ++round) {
    std::shuffle(events.begin(), events.end(), rng);
    CustomerState shuffled;
    for (const auto& e : events) EXPECT_TRUE(shuffled.Apply(e));
    Features a = in_order.ComputeFeatures(t, kNoHorizon),
             b = shuffled.ComputeFeatures(t, kNoHorizon);
    for (int i = 0; i < kNumFeatures; ++i) {
      EXPECT_TRUE(a.values[i] == b.values[i] ||
                  (std::isnan(a.values[i]) && std::isnan(b.values[i])))
          << kFeatureNames[i];
    }
    EXPECT_EQ(in_order.days().size(), shuffled.days().size());
  }
  // The July purchase arrived last, but it is in July: revenue_month1, not month 0.
  Features f = in_order.ComputeFeatures(t, kNoHorizon);
  EXPECT_DOUBLE_EQ(f[kRevenueMonth1], 8);
  EXPECT_DOUBLE_EQ(f[kRevenueMonth0], 10);
}

TEST(CustomerStateTest, DuplicatesCountOnceWithinTheDedupeWindow) {
  EventFactory ev;
  v1::Event buy = ev.Purchase(Ms(2024, 3, 3), 10);
  CustomerState s;
  EXPECT_TRUE(s.Apply(buy));
  EXPECT_FALSE(s.Apply(buy));
  // Other kinds moving on do not expire a purchase id (their topics are read
  // independently); the customer's purchases six days later do not either.
  EXPECT_TRUE(s.Apply(ev.Session(Ms(2024, 5, 1), 1, 1, 0, 0)));
  EXPECT_TRUE(s.Apply(ev.Purchase(Ms(2024, 3, 9), 1)));
  EXPECT_FALSE(s.Apply(buy));
  Features f = s.ComputeFeatures(Ms(2024, 3, 9), kNoHorizon);
  EXPECT_EQ(f[kOrders30d], 2);
  EXPECT_DOUBLE_EQ(f[kRevenue30d], 11);
  // A purchase 7 days later moves the window past the id: it is forgotten (an
  // event-time window, like Kafka Streams' dedupe), so a re-send counts again.
  EXPECT_TRUE(s.Apply(ev.Purchase(Ms(2024, 3, 10), 1)));
  EXPECT_TRUE(s.Apply(buy));
}

TEST(CustomerStateTest, AnIdReusedAcrossKindsCountsOnceForEachKindWhateverTheOrder) {
  // Ids are remembered per kind (one kind = one topic), so a purchase and a
  // session that share an id are two events, and the topics' interleaving
  // cannot decide which of them is dropped; the re-sent visit is a duplicate in
  // every order. Each kind's events keep their order (one topic partition);
  // only the interleaving of the two kinds changes. Byte-identical states.
  EventFactory ev;
  v1::Event buy = ev.Purchase(Ms(2024, 3, 3), 10);
  v1::Event visit = ev.Session(Ms(2024, 3, 4), 5, 3, 1, 0);
  visit.set_event_id(buy.event_id());
  v1::Event later_buy = ev.Purchase(Ms(2024, 3, 20), 1);  // moves the purchase window past buy's id
  const std::vector<std::vector<v1::Event>> orders = {{buy, visit, later_buy, visit},
                                                      {visit, buy, visit, later_buy},
                                                      {buy, later_buy, visit, visit}};
  std::vector<std::string> bytes;
  for (const auto& order : orders) {
    CustomerState s;
    int applied = 0;
    for (const auto& e : order) applied += s.Apply(e) ? 1 : 0;
    EXPECT_EQ(applied, 3);
    const Features f = s.ComputeFeatures(Ms(2024, 3, 20), kNoHorizon);
    EXPECT_EQ(f[kOrders30d], 2);
    EXPECT_EQ(f[kSessions30d], 1);
    bytes.emplace_back();
    s.Encode(&bytes.back());
  }
  EXPECT_EQ(bytes[0], bytes[1]);
  EXPECT_EQ(bytes[0], bytes[2]);
}

TEST(CustomerStateTest, AHotCustomerRemembersEveryIdOfItsDayInAnyOrder) {
  // A bot: 20,000 visits of one customer within one day. Every id is remembered
  // (each re-send is a duplicate), and the state's bytes do not depend on the
  // order the events arrived in.
  EventFactory ev;
  std::vector<v1::Event> visits;
  for (int i = 0; i < 20'000; ++i) visits.push_back(ev.Session(Ms(2024, 3, 3) + i, 1, 1, 0, 0));
  CustomerState forward, backward;
  for (const auto& e : visits) ASSERT_TRUE(forward.Apply(e));
  for (auto it = visits.rbegin(); it != visits.rend(); ++it) ASSERT_TRUE(backward.Apply(*it));
  int duplicates = 0;
  for (int i = 0; i < 20'000; i += 7) duplicates += forward.Apply(visits[i]) ? 0 : 1;
  EXPECT_EQ(duplicates, (20'000 + 6) / 7);
  std::string a, b;
  forward.Encode(&a);
  backward.Encode(&b);
  EXPECT_EQ(a, b);
  CustomerState decoded;
  ASSERT_TRUE(CustomerState::Decode(a, &decoded).ok());
  EXPECT_EQ(decoded, forward);
  EXPECT_FALSE(decoded.Apply(visits[12'345]));  // still remembered after a round trip
  EXPECT_EQ(forward.ComputeFeatures(Ms(2024, 3, 3), kNoHorizon)[kSessions7d], 20'000);
}

TEST(CustomerStateTest, TheDailyCapRateLimitsAKindsEventsBeyondItAndChangesNothing) {
  // Cap 3 on one day's sessions: the 4th is rate_limited and leaves the state
  // as it was; a re-sent applied one is still a duplicate; a purchase the same
  // day (another kind) and a session the next day are under their own caps.
  EventFactory ev;
  const int64_t day = Ms(2024, 3, 3);
  std::vector<v1::Event> visits;
  for (int i = 0; i < 4; ++i) visits.push_back(ev.Session(day + i, 1, 1, 0, 0));
  CustomerState s;
  for (int i = 0; i < 3; ++i) EXPECT_EQ(s.Apply(visits[i], 3), ApplyOutcome::kApplied) << i;
  std::string before, after;
  s.Encode(&before);
  EXPECT_EQ(s.Apply(visits[3], 3), ApplyOutcome::kRateLimited);
  s.Encode(&after);
  EXPECT_EQ(before, after);
  EXPECT_EQ(s.Apply(visits[1], 3), ApplyOutcome::kDuplicate);
  EXPECT_EQ(s.Apply(ev.Purchase(day, 10), 3), ApplyOutcome::kApplied);
  EXPECT_EQ(s.Apply(ev.Session(Ms(2024, 3, 4), 1, 1, 0, 0), 3), ApplyOutcome::kApplied);
  EXPECT_EQ(s.Apply(visits[3], 3), ApplyOutcome::kRateLimited);  // still: Mar 3 is full
  Features f = s.ComputeFeatures(Ms(2024, 3, 4), kNoHorizon);
  EXPECT_EQ(f[kSessions7d], 4);  // 3 on Mar 3, 1 on Mar 4
  EXPECT_EQ(f[kOrders30d], 1);
  // The cap holds while the day's ids are remembered: a session on Mar 10 moves
  // the window past Mar 3, whose ids (and count) are forgotten, so a late
  // Mar 3 visit is applied (as a re-sent one would be: DuplicatesCountOnce...).
  EXPECT_EQ(s.Apply(ev.Session(Ms(2024, 3, 10), 1, 1, 0, 0), 3), ApplyOutcome::kApplied);
  EXPECT_EQ(s.Apply(visits[3], 3), ApplyOutcome::kApplied);
  // 0: no cap.
  CustomerState unlimited;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(unlimited.Apply(visits[i], 0), ApplyOutcome::kApplied);
}

TEST(CustomerStateTest, TheDailyCapAgreesWithAnIndependentCountOnRandomStreams) {
  // Random streams of one customer: three kinds interleaved, each kind's days
  // non-decreasing (one topic, read in order), ids re-sent at random. The
  // outcome of every event is predicted by a plain count of distinct ids per
  // (kind, day) over the kind's remembered days.
  std::mt19937 rng(7);
  for (int round = 0; round < 40; ++round) {
    const uint32_t cap = 1 + rng() % 6;
    EventFactory ev;
    CustomerState s;
    std::map<std::pair<int, int32_t>, std::set<std::string>> seen;  // (kind, day) -> ids
    std::map<int, int32_t> last_day;
    std::vector<v1::Event> sent;
    for (int i = 0; i < 300; ++i) {
      const int kind = static_cast<int>(rng() % 3);
      int32_t& d = last_day.try_emplace(kind, 19'700).first->second;
      d += (rng() % 4 == 0) ? static_cast<int32_t>(rng() % 3) : 0;
      const int64_t t = static_cast<int64_t>(d) * kMillisPerDay + i;
      v1::Event e = kind == 0   ? ev.Purchase(t, 1)
                    : kind == 1 ? ev.Session(t, 1, 1, 0, 0)
                                : ev.Cart(t, 1);
      if (!sent.empty() && rng() % 5 == 0) {
        const v1::Event& old = sent[rng() % sent.size()];
        if (old.kind_case() == e.kind_case() && DayOf(old.event_time_ms()) == d) {
          e.set_event_id(old.event_id());
        }
      }
      sent.push_back(e);
      bool duplicate = false;
      for (const auto& [kd, ids] : seen) {
        if (kd.first == kind && kd.second > d - kDedupeDays && ids.count(e.event_id())) {
          duplicate = true;
        }
      }
      std::set<std::string>& today = seen[{kind, d}];
      const ApplyOutcome expected = duplicate             ? ApplyOutcome::kDuplicate
                                    : today.size() >= cap ? ApplyOutcome::kRateLimited
                                                          : ApplyOutcome::kApplied;
      if (expected == ApplyOutcome::kApplied) today.insert(e.event_id());
      ASSERT_EQ(s.Apply(e, cap), expected) << "round " << round << " event " << i;
    }
  }
}

TEST(CustomerStateTest, RetentionExpiry) {
  EventFactory ev;
  CustomerState s = Build({
      ev.Profile(Ms(2023, 1, 1), v1::SERVICE_TIER_PREMIUM, true, Ms(2022, 1, 1)),
      ev.Purchase(Ms(2023, 1, 10), {{"old", 4, 25}}),  // 100
      ev.Purchase(Ms(2024, 1, 10), 20),
      ev.Purchase(Ms(2024, 2, 10), 30),
  });
  const int64_t t = Ms(2024, 2, 10);
  const int32_t horizon = DayOf(Ms(2023, 2, 1));  // the 2023-01-10 purchase has expired
  auto check = [&](const Features& f, const char* when) {
    SCOPED_TRACE(when);
    // Windowed features see only the horizon.
    EXPECT_EQ(f[kOrders365d], 2);
    EXPECT_DOUBLE_EQ(f[kRevenue365d], 50);
    EXPECT_EQ(f[kItems365d], 2);
    EXPECT_EQ(f[kPurchaseDays365d], 2);
    // Lifetime features keep the expired purchase: 2023-01-10 -> 2024-02-10 is
    // 365 + 31 days; three orders, 150 of revenue, 6 items.
    EXPECT_EQ(f[kDaysSinceFirstPurchase], 396);
    EXPECT_EQ(f[kDaysSinceLastPurchase], 0);
    EXPECT_DOUBLE_EQ(f[kMeanDaysBetweenOrders], 396.0 / 2);
    EXPECT_EQ(f[kOrdersLifetime], 3);
    EXPECT_DOUBLE_EQ(f[kRevenueLifetime], 150);
    EXPECT_EQ(f[kItemsLifetime], 6);
    EXPECT_EQ(f[kServiceTier], 1);  // the profile stays until a newer one replaces it
  };
  check(s.ComputeFeatures(t, horizon), "before pruning");
  s.Prune(horizon);
  EXPECT_EQ(s.days().size(), 2u);
  EXPECT_EQ(s.profiles().size(), 1u);
  EXPECT_EQ(s.pruned_purchases(),
            (PrunedPurchases{1, 100'000'000, 4, DayOf(Ms(2023, 1, 10)), DayOf(Ms(2023, 1, 10))}));
  check(s.ComputeFeatures(t, horizon), "after pruning");
  // Pruning twice, later, adds what the second prune drops to the first.
  const int32_t later = DayOf(Ms(2024, 2, 1));
  s.Prune(later);
  EXPECT_EQ(s.pruned_purchases(),
            (PrunedPurchases{2, 120'000'000, 5, DayOf(Ms(2023, 1, 10)), DayOf(Ms(2024, 1, 10))}));
  const Features f = s.ComputeFeatures(t, later);
  EXPECT_EQ(f[kOrdersLifetime], 3);
  EXPECT_EQ(f[kDaysSinceFirstPurchase], 396);
  EXPECT_EQ(f[kOrders365d], 1);
  // The record keeps them: encode, decode.
  std::string bytes;
  s.Encode(&bytes);
  CustomerState back;
  ASSERT_TRUE(CustomerState::Decode(bytes, &back).ok());
  EXPECT_EQ(back.pruned_purchases(), s.pruned_purchases());
  EXPECT_EQ(back.ComputeFeatures(t, later)[kRevenueLifetime], 150);
}

// A late purchase may be applied after later days were pruned already (a
// store's horizon follows the stream time of all five topics, so when a day is
// pruned depends on how the topics were interleaved): the pruned totals, first
// and last day included, do not depend on that order. CI once found a kill run
// whose first purchase day was a day late from this.
TEST(CustomerStateTest, PrunedTotalsDoNotDependOnTheOrderDaysWerePrunedIn) {
  EventFactory ev;
  const v1::Event jan2 = ev.Purchase(Ms(2023, 1, 2), 10);  // the late one
  const v1::Event jan3 = ev.Purchase(Ms(2023, 1, 3), 20);
  const v1::Event jan4 = ev.Purchase(Ms(2023, 1, 4), 40);
  const v1::Event recent = ev.Purchase(Ms(2024, 1, 10), 5);
  const int32_t horizon = DayOf(Ms(2023, 2, 1));
  // The purchases in their topic's order; only the prunes move (the horizon
  // came from another topic's events in `apart`).
  CustomerState together = Build({jan3, jan4, jan2, recent});
  together.Prune(horizon);
  CustomerState apart = Build({jan3, jan4});
  apart.Prune(horizon);
  ASSERT_EQ(apart.Apply(jan2, 0), ApplyOutcome::kApplied);
  apart.Prune(horizon);
  ASSERT_EQ(apart.Apply(recent, 0), ApplyOutcome::kApplied);
  const PrunedPurchases want{3, 70'000'000, 3, DayOf(Ms(2023, 1, 2)), DayOf(Ms(2023, 1, 4))};
  EXPECT_EQ(together.pruned_purchases(), want);
  EXPECT_EQ(apart.pruned_purchases(), want);
  const int64_t t = Ms(2024, 1, 10);
  EXPECT_EQ(apart.ComputeFeatures(t, horizon)[kDaysSinceFirstPurchase],
            373);  // 2023-01-02 -> 2024-01-10
  std::string a, b;
  together.Encode(&a);
  apart.Encode(&b);
  EXPECT_EQ(a, b);
}

TEST(CustomerStateTest, ItemsAndPurchaseDaysPerWindow) {
  EventFactory ev;
  const int64_t t = Ms(2024, 6, 30, 8);
  std::vector<v1::Event> events;
  // Quantity = age + 1 on ages 400 (before 365d), 365, 364, 90, 89, 30, 29, 0, and two
  // orders on T's day: one purchase day, both orders' items.
  for (int age : {400, 365, 364, 90, 89, 30, 29, 0}) {
    events.push_back(
        ev.Purchase(DaysBefore(t, age), {{"a", static_cast<uint32_t>(age + 1), 1}, {"b", 1, 2}}));
  }
  events.push_back(ev.Purchase(DaysBefore(t, 0) + 1, {{"c", 5, 1}}));
  events.push_back(ev.Session(DaysBefore(t, 1), 1, 1, 0, 0));  // not a purchase day
  const Features f = Build(events).ComputeFeatures(t, kNoHorizon);
  // A purchase at age a has a + 2 items and a + 3 of revenue; T's day adds 5 and 5.
  EXPECT_EQ(f[kItems30d], 31 + 2 + 5);                        // ages 29, 0
  EXPECT_EQ(f[kItems90d], 91 + 32 + 31 + 2 + 5);              // + 89, 30
  EXPECT_EQ(f[kItems365d], 366 + 92 + 91 + 32 + 31 + 2 + 5);  // + 364, 90
  EXPECT_EQ(f[kPurchaseDays90d], 4);                          // 89, 30, 29, 0
  EXPECT_EQ(f[kPurchaseDays365d], 6);                         // + 364, 90
  EXPECT_EQ(f[kOrders90d], 5);                                // two on T's day
  EXPECT_EQ(f[kOrdersLifetime], 9);
  // The ages sum to 1367.
  EXPECT_EQ(f[kItemsLifetime], 1367 + 8 * 2 + 5);
  EXPECT_DOUBLE_EQ(f[kRevenueLifetime], 1367 + 8 * 3 + 5);
  EXPECT_EQ(f[kDaysSinceFirstPurchase], 400);
  EXPECT_DOUBLE_EQ(f[kMeanDaysBetweenOrders], 400.0 / 8);
}

TEST(CustomerStateTest, ThePopulationRuleDoesNotDependOnPruning) {
  EventFactory ev;
  const int64_t t = Ms(2025, 3, 31);
  const int32_t horizon = DayOf(Ms(2024, 3, 1));
  struct Case {
    const char* name;
    std::vector<v1::Event> events;
    bool in;
  };
  const std::vector<Case> cases = {
      {"purchase before the horizon only (lapsed)", {ev.Purchase(Ms(2023, 5, 1), 10)}, true},
      {"sessions before the horizon only", {ev.Session(Ms(2023, 5, 1), 1, 1, 0, 0)}, false},
      {"a cart inside the horizon", {ev.Cart(Ms(2024, 5, 1), 1)}, true},
      {"a profile before the horizon",
       {ev.Profile(Ms(2023, 1, 1), v1::SERVICE_TIER_STANDARD, true, Ms(2022, 1, 1))},
       true},
      {"activity after T only", {ev.Purchase(Ms(2025, 4, 1), 10)}, false},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    CustomerState s = Build(c.events);
    EXPECT_EQ(s.InPopulation(t, horizon), c.in);
    s.Prune(horizon);
    EXPECT_EQ(s.InPopulation(t, horizon), c.in) << "after pruning";
  }
}

TEST(CustomerStateTest, PurchasesBetweenForLabels) {
  EventFactory ev;
  CustomerState s = Build({ev.Purchase(Ms(2024, 1, 1), 10), ev.Purchase(Ms(2024, 1, 31), 5),
                           ev.Purchase(Ms(2024, 2, 1), 1)});
  auto jan = s.PurchasesBetween(DayOf(Ms(2024, 1, 1)), DayOf(Ms(2024, 1, 31)));
  EXPECT_EQ(jan.orders, 2);
  EXPECT_EQ(jan.revenue_micros, 15'000'000);
}

// The stored bytes are the contract with every existing store: pinned here
// (hex of the encoding written before the encoder was rewritten for speed),
// with every section filled: two profiles, purchases with categories (one
// name longer than a short string), sessions, a cart, marketing, a pruned
// purchase, and five ids of one kind and day (past IdSet's inline ids).
TEST(CustomerStateTest, TheEncodingIsPinnedByteForByte) {
  EventFactory ev;
  using A = v1::MarketingAction;
  std::vector<v1::Event> events = {
      ev.Profile(Ms(2024, 1, 1), v1::SERVICE_TIER_STANDARD, false, Ms(2020, 1, 1)),
      ev.Profile(Ms(2024, 3, 1), v1::SERVICE_TIER_PREMIUM, true, Ms(2020, 1, 1)),
      ev.Purchase(Ms(2024, 1, 2), {{"books", 2, 1.25, true, -0.5}, {"y", 1, 3}}),
      ev.Purchase(Ms(2024, 3, 5), {{"a-category-name-longer-than-sso", 3, 19.99, false, 4}}),
      ev.Cart(Ms(2024, 3, 5), 2),
      ev.Marketing(Ms(2024, 3, 6), A::MARKETING_ACTION_SENT),
      ev.Marketing(Ms(2024, 3, 6), A::MARKETING_ACTION_OPENED),
      ev.Marketing(Ms(2024, 3, 7), A::MARKETING_ACTION_CLICKED),
  };
  for (int i = 0; i < 5; ++i) events.push_back(ev.Session(Ms(2024, 3, 8) + i * 1000, 1.5, 2, 1, i));
  CustomerState s = Build(events);
  s.Prune(DayOf(Ms(2024, 2, 1)));  // the January purchase becomes pruned totals
  std::string bytes;
  s.Encode(&bytes);
  EXPECT_EQ(absl::BytesToHexString(bytes),
            "04028088a9ce9863a592feae20bff495010080d8d08fec5b80c8959ebf638c8dfeae20bcf4950201"
            "80d8d08fec5b96b5029cb50296b5029ab5028eb502c096fadec36301c0b19f050698b40298b40206"
            "0096b50201268afeae20baf495019cb502053da0feae20c7f4957c11935a895873cd2f13935a8959"
            "73cde214935a895a73cd9516935a895b73cd0296b50201d98bfeae20bbf4950398b50202c086feae"
            "20b8f4957388feae20b9f495039ab502018a9efeae20c6f495048eb502018c8dfeae20bcf4950496"
            "b5029b88010101a0c7983980a4e80302011f612d63617465676f72792d6e616d652d6c6f6e676572"
            "2d7468616e2d73736f0302803001010280400102e007050a050a9875");
}

TEST(CustomerStateTest, EncodeDecodeRoundTripsAndDetectsCorruption) {
  EventFactory ev;
  CustomerState s =
      Build({ev.Profile(Ms(2024, 1, 1), v1::SERVICE_TIER_STANDARD, false, Ms(2020, 1, 1)),
             ev.Purchase(Ms(2024, 1, 2), {{"x", 2, 1.25, true, -0.5}, {"y", 1, 3}}),
             ev.Session(Ms(2024, 1, 3), 1.5, 2, 1, 1), ev.Cart(Ms(2023, 12, 1), 2)});
  std::string bytes;
  s.Encode(&bytes);
  CustomerState back;
  ASSERT_TRUE(CustomerState::Decode(bytes, &back).ok());
  EXPECT_EQ(back, s);
  std::string again;
  back.Encode(&again);
  EXPECT_EQ(again, bytes);
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    absl::Status st = CustomerState::Decode(bytes.substr(0, cut), &back);
    EXPECT_EQ(st.code(), absl::StatusCode::kDataLoss) << "cut at " << cut;
  }
  EXPECT_EQ(CustomerState::Decode(bytes + "x", &back).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace recur
