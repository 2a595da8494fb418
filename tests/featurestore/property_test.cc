// Property test: FeatureStore's catalog against an independent brute-force
// computation written here, straight from the list of simulated events.
//
// The brute force deliberately uses nothing of the store's math (no CustomerState,
// no calendar.h, no featurestore helpers): it keeps every (deduplicated) event of
// every customer in plain structs and, for each (customer, T), scans them all,
// following the catalog's documented semantics (docs/DESIGN.md, "Feature catalog"):
// UTC day resolution, half-open N-day windows, calendar months (std::chrono), the
// 400-day retention horizon, dedupe by event id, NaN for undefined ratios,
// "days since" and profile values; lifetime features count every purchase on or
// before T, the ones before the horizon (pruned or not) included.
//
// The events come from recur::Simulate (3 shops x 1000 customers x 500 days, with
// duplicates and late events), applied in batches of 5000 to a fresh store.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "featurestore/catalog.h"
#include "featurestore/feature_store.h"
#include "featurestore/types.h"
#include "gtest/gtest.h"
#include "ops/simulator.h"
#include "proto/recur.pb.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------
// The brute force's own copy of the events.

struct LineRec {
  std::string category;
  uint32_t quantity = 0;
  int64_t revenue_micros = 0;  // llround(unit_price * 1e6) * quantity
  int64_t profit_micros = 0;   // llround(profit * 1e6)
  bool promo = false;
};
struct PurchaseRec {
  int32_t day = 0;
  std::vector<LineRec> lines;
};
struct SessionRec {
  int32_t day = 0;
  double minutes = 0;
  uint32_t pages = 0;
  uint32_t categories_viewed = 0;
  uint32_t service_errors = 0;
};
struct CartRec {
  int32_t day = 0;
  uint32_t unpaid_items = 0;
};
struct MarketingRec {
  int32_t day = 0;
  int action = 0;  // v1::MarketingAction
};
struct ProfileRec {
  int64_t time_ms = 0;
  int32_t day = 0;
  int tier = 0;  // v1::ServiceTier
  bool consent = false;
  int64_t registration_ms = 0;
};

struct CustomerEvents {
  CustomerKey key;
  std::unordered_set<std::string> seen_ids;
  std::vector<PurchaseRec> purchases;
  std::vector<SessionRec> sessions;
  std::vector<CartRec> carts;
  std::vector<MarketingRec> marketing;
  std::vector<ProfileRec> profiles;
};

// Own UTC day number: floor(ms / 86400000).
int32_t UtcDay(int64_t ms) { return DayOf(ms); }

// Own civil-calendar arithmetic: the first day (days since 1970-01-01) of the
// calendar month `back` months before the month containing `day`.
int32_t MonthStartBefore(int32_t day, int back) {
  using namespace std::chrono;
  const year_month_day ymd{sys_days{days{day}}};
  const year_month ym = year_month{ymd.year(), ymd.month()} - months{back};
  return static_cast<int32_t>(sys_days{ym / 1}.time_since_epoch().count());
}

struct Expected {
  std::array<double, kNumFeatures> values;
  std::string top_category;
};

// The catalog for `c` as of `as_of_ms`, from the events alone.
Expected BruteForce(const CustomerEvents& c, int64_t as_of_ms, int32_t horizon) {
  Expected x;
  x.values.fill(kNaN);
  auto& v = x.values;
  const int32_t t = UtcDay(as_of_ms);
  // Retained and as of T.
  auto counts = [&](int32_t d) { return d >= horizon && d <= t; };
  // In the N-day window (t - N, t].
  auto in_window = [&](int32_t d, int n) { return counts(d) && d > t - n; };
  const int32_t m0_start = MonthStartBefore(t, 0);
  const int32_t m1_start = MonthStartBefore(t, 1);
  const int32_t m2_start = MonthStartBefore(t, 2);
  const int32_t m6_start = MonthStartBefore(t, 6);
  auto in_month0 = [&](int32_t d) { return counts(d) && d >= m0_start; };
  auto in_month1 = [&](int32_t d) { return counts(d) && d >= m1_start && d < m0_start; };
  auto in_month2 = [&](int32_t d) { return counts(d) && d >= m2_start && d < m1_start; };
  auto in_months1to6 = [&](int32_t d) { return counts(d) && d >= m6_start && d < m0_start; };

  // Profile: the latest profile event on or before T's day (even before the horizon).
  const ProfileRec* prof = nullptr;
  for (const ProfileRec& p : c.profiles) {
    if (p.day <= t && (prof == nullptr || p.time_ms > prof->time_ms)) prof = &p;
  }
  if (prof != nullptr) {
    v[kServiceTier] = prof->tier == v1::SERVICE_TIER_PREMIUM ? 1.0 : 0.0;
    v[kMarketingConsent] = prof->consent ? 1.0 : 0.0;
    v[kTenureDays] = static_cast<double>(t - UtcDay(prof->registration_ms));
  }

  // Marketing.
  int64_t sent_6m = 0, sent_m0 = 0, sent_90 = 0, opened_90 = 0, clicks_30 = 0;
  for (const MarketingRec& m : c.marketing) {
    if (m.action == v1::MARKETING_ACTION_SENT) {
      if (in_months1to6(m.day)) ++sent_6m;
      if (in_month0(m.day)) ++sent_m0;
      if (in_window(m.day, 90)) ++sent_90;
    } else if (m.action == v1::MARKETING_ACTION_OPENED) {
      if (in_window(m.day, 90)) ++opened_90;
    } else if (m.action == v1::MARKETING_ACTION_CLICKED) {
      if (in_window(m.day, 30)) ++clicks_30;
    }
  }
  v[kMarketingSent6mAvg] = static_cast<double>(sent_6m) / 6.0;
  v[kMarketingSentMonth0] = static_cast<double>(sent_m0);
  if (sent_90 > 0)
    v[kMarketingOpenRate90d] = static_cast<double>(opened_90) / static_cast<double>(sent_90);
  v[kMarketingClicks30d] = static_cast<double>(clicks_30);

  // Purchases.
  int64_t lines_182 = 0, promo_182 = 0;
  std::map<std::string, int64_t> items_182;
  int64_t rev_m[3] = {0, 0, 0};
  int64_t profit_m012 = 0;
  int32_t first = std::numeric_limits<int32_t>::max(), last = std::numeric_limits<int32_t>::min();
  int64_t orders_all = 0;
  int64_t orders_30 = 0, orders_90 = 0, orders_365 = 0;
  int64_t rev_30 = 0, rev_90 = 0, rev_365 = 0;
  std::set<std::string> cats_90;
  int64_t rev_all = 0, items_all = 0, items_30 = 0, items_90 = 0, items_365 = 0;
  std::set<int32_t> days_90, days_365;
  for (const PurchaseRec& p : c.purchases) {
    if (p.day > t) continue;
    // Lifetime: every purchase on or before T, also before the horizon.
    ++orders_all;
    first = std::min(first, p.day);
    last = std::max(last, p.day);
    int64_t quantity = 0;
    for (const LineRec& l : p.lines) quantity += l.quantity, rev_all += l.revenue_micros;
    items_all += quantity;
    if (!counts(p.day)) continue;
    if (in_window(p.day, 30)) items_30 += quantity;
    if (in_window(p.day, 90)) items_90 += quantity, days_90.insert(p.day);
    if (in_window(p.day, 365)) items_365 += quantity, days_365.insert(p.day);
    int64_t rev = 0, profit = 0;
    for (const LineRec& l : p.lines) {
      rev += l.revenue_micros;
      profit += l.profit_micros;
      if (in_window(p.day, 182)) {
        ++lines_182;
        if (l.promo) ++promo_182;
        items_182[l.category] += l.quantity;
      }
      if (in_window(p.day, 90)) cats_90.insert(l.category);
    }
    if (in_month0(p.day)) rev_m[0] += rev;
    if (in_month1(p.day)) rev_m[1] += rev;
    if (in_month2(p.day)) rev_m[2] += rev;
    if (in_month0(p.day) || in_month1(p.day) || in_month2(p.day)) profit_m012 += profit;
    if (in_window(p.day, 30)) ++orders_30, rev_30 += rev;
    if (in_window(p.day, 90)) ++orders_90, rev_90 += rev;
    if (in_window(p.day, 365)) ++orders_365, rev_365 += rev;
  }
  if (lines_182 > 0)
    v[kPromoShare6m] = static_cast<double>(promo_182) / static_cast<double>(lines_182);
  {
    int64_t best = 0;
    for (const auto& [name, items] : items_182) {  // std::map: ascending names
      if (items > best) best = items, x.top_category = name;
    }
  }
  v[kRevenueMonth0] = static_cast<double>(rev_m[0]) / 1e6;
  v[kRevenueMonth1] = static_cast<double>(rev_m[1]) / 1e6;
  v[kRevenueMonth2] = static_cast<double>(rev_m[2]) / 1e6;
  v[kProfitAvgMonth3m] = static_cast<double>(profit_m012) / 1e6 / 3.0;
  if (orders_all > 0) {
    v[kDaysSinceLastPurchase] = static_cast<double>(t - last);
    v[kDaysSinceFirstPurchase] = static_cast<double>(t - first);
  }
  v[kOrders30d] = static_cast<double>(orders_30);
  v[kOrders90d] = static_cast<double>(orders_90);
  v[kOrders365d] = static_cast<double>(orders_365);
  v[kRevenue30d] = static_cast<double>(rev_30) / 1e6;
  v[kRevenue90d] = static_cast<double>(rev_90) / 1e6;
  v[kRevenue365d] = static_cast<double>(rev_365) / 1e6;
  if (orders_365 > 0)
    v[kAvgOrderValue365d] = static_cast<double>(rev_365) / 1e6 / static_cast<double>(orders_365);
  if (orders_all >= 2) {
    v[kMeanDaysBetweenOrders] =
        static_cast<double>(last - first) / static_cast<double>(orders_all - 1);
  }
  v[kDistinctCategories90d] = static_cast<double>(cats_90.size());
  v[kItems30d] = static_cast<double>(items_30);
  v[kItems90d] = static_cast<double>(items_90);
  v[kItems365d] = static_cast<double>(items_365);
  v[kPurchaseDays90d] = static_cast<double>(days_90.size());
  v[kPurchaseDays365d] = static_cast<double>(days_365.size());
  v[kOrdersLifetime] = static_cast<double>(orders_all);
  v[kRevenueLifetime] = static_cast<double>(rev_all) / 1e6;
  v[kItemsLifetime] = static_cast<double>(items_all);

  // Sessions.
  double minutes_m0 = 0, minutes_m1 = 0;
  int64_t sessions_90 = 0, pages_90 = 0, sessions_30 = 0, cats_30 = 0, errors_90 = 0,
          sessions_7 = 0;
  int32_t last_session = std::numeric_limits<int32_t>::min();
  for (const SessionRec& s : c.sessions) {
    if (!counts(s.day)) continue;
    last_session = std::max(last_session, s.day);
    if (in_month0(s.day)) minutes_m0 += s.minutes;
    if (in_month1(s.day)) minutes_m1 += s.minutes;
    if (in_window(s.day, 90)) ++sessions_90, pages_90 += s.pages, errors_90 += s.service_errors;
    if (in_window(s.day, 30)) ++sessions_30, cats_30 += s.categories_viewed;
    if (in_window(s.day, 7)) ++sessions_7;
  }
  v[kMinutesMonth0] = minutes_m0;
  v[kMinutesMonth1] = minutes_m1;
  if (sessions_90 > 0)
    v[kPagesPerVisit90d] = static_cast<double>(pages_90) / static_cast<double>(sessions_90);
  if (sessions_30 > 0)
    v[kCategoriesPerVisit30d] = static_cast<double>(cats_30) / static_cast<double>(sessions_30);
  v[kServiceErrors90d] = static_cast<double>(errors_90);
  v[kSessions7d] = static_cast<double>(sessions_7);
  v[kSessions30d] = static_cast<double>(sessions_30);
  if (last_session != std::numeric_limits<int32_t>::min())
    v[kDaysSinceLastSession] = static_cast<double>(t - last_session);

  // Carts.
  int64_t unpaid_90 = 0;
  for (const CartRec& k : c.carts) {
    if (in_window(k.day, 90)) unpaid_90 += k.unpaid_items;
  }
  v[kUnpaidCartItems90d] = static_cast<double>(unpaid_90);
  return x;
}

bool Same(double expected, double actual) {
  if (std::isnan(expected) || std::isnan(actual)) return std::isnan(expected) && std::isnan(actual);
  if (expected == actual) return true;
  return std::fabs(expected - actual) <= 1e-9 * std::max(std::fabs(expected), std::fabs(actual));
}

std::string Fmt(double d) {
  std::ostringstream os;
  os.precision(17);
  os << d;
  return os.str();
}

// ---------------------------------------------------------------------------

class FeatureStorePropertyTest : public ::testing::Test {
 protected:
  void TearDown() override { store_.reset(); }

  // Records `e` in the brute force's copy (once per event id).
  void Record(const v1::Event& e) {
    const std::string wire = e.shop_id() + "/" + e.customer_id();
    auto [it, inserted] = index_.try_emplace(wire, customers_.size());
    if (inserted) {
      customers_.emplace_back();
      customers_.back().key = CustomerKey{e.shop_id(), e.customer_id()};
    }
    CustomerEvents& c = customers_[it->second];
    if (!c.seen_ids.insert(e.event_id()).second) {
      ++duplicates_;
      return;
    }
    ++unique_;
    const int32_t day = UtcDay(e.event_time_ms());
    switch (e.kind_case()) {
      case v1::Event::kPurchase: {
        PurchaseRec p;
        p.day = day;
        for (const v1::PurchaseLine& l : e.purchase().lines()) {
          LineRec r;
          r.category = l.category();
          r.quantity = l.quantity();
          r.revenue_micros =
              std::llround(l.unit_price() * 1e6) * static_cast<int64_t>(l.quantity());
          r.profit_micros = std::llround(l.profit() * 1e6);
          r.promo = l.promo();
          p.lines.push_back(std::move(r));
        }
        c.purchases.push_back(std::move(p));
        break;
      }
      case v1::Event::kSession:
        c.sessions.push_back({day, e.session().minutes(), e.session().pages(),
                              static_cast<uint32_t>(e.session().categories_viewed_size()),
                              e.session().service_errors()});
        break;
      case v1::Event::kCart:
        c.carts.push_back({day, e.cart().unpaid_items()});
        break;
      case v1::Event::kMarketing:
        c.marketing.push_back({day, static_cast<int>(e.marketing().action())});
        break;
      case v1::Event::kProfile:
        c.profiles.push_back({e.event_time_ms(), day, static_cast<int>(e.profile().tier()),
                              e.profile().marketing_consent(), e.profile().registration_time_ms()});
        break;
      default:
        ADD_FAILURE() << "simulator emitted an event without kind: " << e.event_id();
    }
  }

  void Flush() {
    if (batch_.empty()) return;
    offset_ += static_cast<int64_t>(batch_.size());
    FeatureStore::ApplyStats stats;
    absl::Status s = store_->ApplyBatch(batch_, {{{"sim.events", 0}, offset_}}, &stats);
    ASSERT_TRUE(s.ok()) << s;
    applied_ += stats.applied;
    store_duplicates_ += stats.duplicates;
    batch_.clear();
  }

  testing::TempDir tmp_{"recur-featurestore-property"};
  const std::filesystem::path dir_ = tmp_.path();
  std::unique_ptr<FeatureStore> store_;
  std::vector<v1::Event> batch_;
  int64_t offset_ = 0;
  int64_t applied_ = 0, store_duplicates_ = 0;
  int64_t unique_ = 0, duplicates_ = 0;
  std::unordered_map<std::string, size_t> index_;
  std::vector<CustomerEvents> customers_;
};

TEST_F(FeatureStorePropertyTest, MatchesBruteForceOverSimulatedHistory) {
  const auto started = std::chrono::steady_clock::now();
  FeatureStore::Options o;
  o.path = dir_.string();
  auto opened = FeatureStore::Open(o);
  ASSERT_TRUE(opened.ok()) << opened.status();
  store_ = std::move(*opened);

  SimulatorOptions sim;
  sim.shops = 3;
  sim.customers_per_shop = 1000;
  sim.days = 500;
  sim.seed = 20250101;
  sim.duplicate_rate = 0.02;
  sim.late_rate = 0.02;
  constexpr size_t kBatch = 5000;
  int64_t max_time = 0, min_time = std::numeric_limits<int64_t>::max();
  absl::Status s = Simulate(sim, [&](const v1::Event& e) -> absl::Status {
    Record(e);
    max_time = std::max(max_time, e.event_time_ms());
    min_time = std::min(min_time, e.event_time_ms());
    batch_.push_back(e);
    if (batch_.size() >= kBatch) {
      Flush();
      if (::testing::Test::HasFatalFailure()) return absl::InternalError("ApplyBatch failed");
    }
    return absl::OkStatus();
  });
  ASSERT_TRUE(s.ok()) << s;
  Flush();
  ASSERT_FALSE(HasFatalFailure());

  // Bookkeeping: every unique event applied once, every duplicate recognised.
  EXPECT_EQ(applied_, unique_);
  EXPECT_EQ(store_duplicates_, duplicates_);
  EXPECT_GT(duplicates_, 0);
  EXPECT_EQ(store_->max_event_time_ms(), max_time);
  const int32_t horizon = store_->horizon_first_day();
  EXPECT_EQ(horizon, UtcDay(max_time) - 400 + 1);
  // The run is long enough that the horizon cuts off real history.
  ASSERT_GT(horizon, UtcDay(min_time));
  const auto applied_at = std::chrono::steady_clock::now();

  // Order the customers as the store does (by key) so failures are easy to find.
  std::vector<size_t> order(customers_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return customers_[a].key < customers_[b].key; });
  ASSERT_EQ(customers_.size(), static_cast<size_t>(sim.shops * sim.customers_per_shop));

  const uint64_t seed = [] {
    const char* env = std::getenv("RECUR_PROPERTY_SEED");
    return env != nullptr ? std::strtoull(env, nullptr, 10) : 0x7265637572ull;
  }();
  std::mt19937_64 rng(seed);
  const int64_t lo = static_cast<int64_t>(horizon) * kMillisPerDay;
  std::uniform_int_distribution<int64_t> any_time(lo, max_time);
  constexpr int kRandomTimesPerCustomer = 30;

  int64_t checks = 0, mismatches = 0, reported = 0;
  std::array<int64_t, kNumFeatures> mismatches_by_feature{};
  std::array<int64_t, kNumFeatures>
      defined_by_feature{};  // how often the expected value was not NaN
  int64_t top_category_nonempty = 0, lifetime_beyond_horizon = 0;
  std::set<int32_t> month_first_days_seen;
  for (size_t idx : order) {
    const CustomerEvents& c = customers_[idx];
    std::vector<int64_t> times = {lo, max_time};
    for (int k = 0; k < kRandomTimesPerCustomer; ++k) times.push_back(any_time(rng));
    for (int64_t as_of : times) {
      auto got = store_->ComputeFeatures(c.key, as_of);
      if (!got.ok()) {
        ++mismatches;
        ADD_FAILURE() << "ComputeFeatures(" << c.key.Encode() << ", " << as_of
                      << "): " << got.status();
        continue;
      }
      const Expected want = BruteForce(c, as_of, horizon);
      ++checks;
      if (UtcDay(as_of) == MonthStartBefore(UtcDay(as_of), 0))
        month_first_days_seen.insert(UtcDay(as_of));
      if (!want.top_category.empty()) ++top_category_nonempty;
      // A first purchase before the horizon: the lifetime features reach past it.
      if (want.values[kDaysSinceFirstPurchase] > UtcDay(as_of) - horizon) ++lifetime_beyond_horizon;
      for (int f = 0; f < kNumFeatures; ++f) {
        if (!std::isnan(want.values[f])) ++defined_by_feature[f];
        if (Same(want.values[f], got->values[f])) continue;
        ++mismatches;
        ++mismatches_by_feature[f];
        if (reported++ < 40) {
          ADD_FAILURE() << c.key.Encode() << " as_of_ms=" << as_of << " (day " << UtcDay(as_of)
                        << ", horizon " << horizon << ") " << kFeatureNames[f] << ": expected "
                        << Fmt(want.values[f]) << ", store " << Fmt(got->values[f]);
        }
      }
      if (want.top_category != got->top_category_6m) {
        ++mismatches;
        ++mismatches_by_feature[kTopCategory6m];
        if (reported++ < 40) {
          ADD_FAILURE() << c.key.Encode() << " as_of_ms=" << as_of << " (day " << UtcDay(as_of)
                        << ") top_category_6m: expected \"" << want.top_category << "\", store \""
                        << got->top_category_6m << "\"";
        }
      }
    }
  }
  const auto done = std::chrono::steady_clock::now();
  auto secs = [](auto a, auto b) { return std::chrono::duration<double>(b - a).count(); };

  std::ostringstream summary;
  summary << "customers=" << customers_.size() << " events(unique)=" << unique_
          << " duplicates=" << duplicates_ << " horizon_first_day=" << horizon
          << " max_day=" << UtcDay(max_time) << " seed=" << seed << " checks=" << checks
          << " mismatches=" << mismatches << " month-first-day T's=" << month_first_days_seen.size()
          << " apply=" << secs(started, applied_at) << "s compare=" << secs(applied_at, done)
          << "s\n";
  for (int f = 0; f < kNumFeatures; ++f) {
    summary << "  " << kFeatureNames[f] << ": defined " << defined_by_feature[f] << ", mismatches "
            << mismatches_by_feature[f] << "\n";
  }
  summary << "  top_category_6m non-empty: " << top_category_nonempty
          << ", first purchase before the horizon: " << lifetime_beyond_horizon << "\n";
  std::cout << summary.str();
  EXPECT_EQ(mismatches, 0) << summary.str();

  // Sanity of the test itself: the sample exercises defined values of every
  // numeric feature (except the categorical slot), and non-empty top categories.
  for (int f = 0; f < kNumFeatures; ++f) {
    if (f == kTopCategory6m) continue;
    EXPECT_GT(defined_by_feature[f], checks / 20)
        << kFeatureNames[f] << " is rarely defined in the sample";
  }
  EXPECT_GT(top_category_nonempty, checks / 20);
  EXPECT_GT(lifetime_beyond_horizon, checks / 20) << "pruned history is rarely exercised";
  EXPECT_GT(checks, 10000);
}

// The brute force's own calendar against a few known dates.
TEST(PropertyTestCalendar, MonthStarts) {
  // 2025-03-15 is day 20162; 2025-03-01 is 20148, 2025-02-01 is 20120, 2024-12-01 is 20058.
  EXPECT_EQ(MonthStartBefore(20162, 0), 20148);
  EXPECT_EQ(MonthStartBefore(20162, 1), 20120);
  EXPECT_EQ(MonthStartBefore(20162, 3), 20058);
  EXPECT_EQ(MonthStartBefore(20148, 0), 20148);
  EXPECT_EQ(MonthStartBefore(0, 0), 0);  // 1970-01-01
  EXPECT_EQ(MonthStartBefore(0, 1), -31);
}

}  // namespace
}  // namespace recur
