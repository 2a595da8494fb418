// The feature math (one place) and the compact binary encoding of CustomerState.
#include "featurestore/customer_state.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <tuple>

#include "featurestore/calendar.h"
#include "featurestore/types.h"

namespace recur {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool ProfileLess(const ProfileEntry& a, const ProfileEntry& b) {
  return std::tie(a.time_ms, a.id_hash) < std::tie(b.time_ms, b.id_hash);
}

}  // namespace

int64_t ToMicros(double amount) { return std::llround(amount * 1e6); }

uint64_t HashEventId(std::string_view event_id) { return Fnv1a64(event_id); }

DayBucket& CustomerState::BucketFor(int32_t day) {
  if (days_.empty() || days_.back().day < day) {
    days_.emplace_back().day = day;
    return days_.back();
  }
  if (days_.back().day == day) return days_.back();
  auto it = std::lower_bound(days_.begin(), days_.end(), day,
                             [](const DayBucket& b, int32_t d) { return b.day < d; });
  if (it != days_.end() && it->day == day) return *it;
  it = days_.insert(it, DayBucket{});
  it->day = day;
  return *it;
}

ApplyOutcome CustomerState::Apply(const v1::Event& event, uint32_t max_per_day) {
  const uint64_t id = HashEventId(event.event_id());
  const int kind = EventKindIndex(event);
  const int32_t day = DayOf(event.event_time_ms());
  // seen_ is sorted by (kind, day): this kind's blocks are one run.
  auto first = std::lower_bound(seen_.begin(), seen_.end(), kind,
                                [](const SeenDay& b, int k) { return b.kind < k; });
  // A duplicate has the same id and kind: ids are remembered per kind (below),
  // so matching across kinds would depend on how the topics' reads interleave.
  const SeenDay* same_day = nullptr;
  for (auto it = first; it != seen_.end() && it->kind == kind; ++it) {
    if (it->ids.contains(id)) return ApplyOutcome::kDuplicate;
    if (it->day == day) same_day = &*it;
  }
  int32_t& kind_max = kind_max_day_[kind];
  // The day's ids count against the cap while they are remembered, i.e. while
  // the day stays inside the window below (an older day is forgotten at once).
  if (max_per_day > 0 && same_day != nullptr && same_day->ids.size() >= max_per_day &&
      day > std::max(kind_max, day) - kDedupeDays) {
    return ApplyOutcome::kRateLimited;
  }
  if (kind_max == 0 || day > kind_max) kind_max = day;
  // Forget ids of this kind that fell out of the window (never the one just
  // seen: it is inserted after this), one block per day.
  auto stale_end = first;
  while (stale_end != seen_.end() && stale_end->kind == kind &&
         stale_end->day <= kind_max - kDedupeDays)
    ++stale_end;
  for (auto it = first; it != stale_end; ++it) MarkChanged(it->day);
  first = seen_.erase(first, stale_end);
  auto block = first;
  while (block != seen_.end() && block->kind == kind && block->day < day) ++block;
  if (block == seen_.end() || block->kind != kind || block->day != day) {
    block = seen_.insert(block, SeenDay{kind, day, {}});
  }
  block->ids.insert(id);
  MarkChanged(day);  // its ids, and its bucket below
  last_event_ms_ = std::max(last_event_ms_, event.event_time_ms());

  switch (event.kind_case()) {
    case v1::Event::kPurchase: {
      DayBucket& b = BucketFor(day);
      b.orders += 1;
      for (const auto& line : event.purchase().lines()) {
        b.purchase_lines += 1;
        if (line.promo()) b.promo_lines += 1;
        b.revenue_micros += ToMicros(line.unit_price()) * static_cast<int64_t>(line.quantity());
        b.profit_micros += ToMicros(line.profit());
        auto it = std::lower_bound(
            b.category_items.begin(), b.category_items.end(), line.category(),
            [](const CategoryItems& c, const std::string& n) { return c.name < n; });
        if (it == b.category_items.end() || it->name != line.category()) {
          it = b.category_items.insert(it, CategoryItems{line.category(), 0});
        }
        it->items += line.quantity();
      }
      break;
    }
    case v1::Event::kSession: {
      DayBucket& b = BucketFor(day);
      const auto& s = event.session();
      b.sessions += 1;
      b.pages += s.pages();
      b.categories_viewed += static_cast<uint32_t>(s.categories_viewed_size());
      b.service_errors += s.service_errors();
      b.minutes_milli += std::llround(s.minutes() * 1000.0);
      break;
    }
    case v1::Event::kCart: {
      BucketFor(day).unpaid_cart_items += event.cart().unpaid_items();
      break;
    }
    case v1::Event::kMarketing: {
      DayBucket& b = BucketFor(day);
      switch (event.marketing().action()) {
        case v1::MARKETING_ACTION_SENT:
          b.marketing_sent += 1;
          break;
        case v1::MARKETING_ACTION_OPENED:
          b.marketing_opened += 1;
          break;
        case v1::MARKETING_ACTION_CLICKED:
          b.marketing_clicked += 1;
          break;
        default:
          break;
      }
      break;
    }
    case v1::Event::kProfile: {
      const auto& p = event.profile();
      ProfileEntry e{event.event_time_ms(), id, static_cast<int32_t>(p.tier()),
                     p.marketing_consent(), p.registration_time_ms()};
      auto it = std::upper_bound(profiles_.begin(), profiles_.end(), e, ProfileLess);
      profiles_.insert(it, e);
      break;
    }
    default:
      break;
  }
  return ApplyOutcome::kApplied;
}

bool CustomerState::NeedsPrune(int32_t horizon_first_day) const {
  return (!days_.empty() && days_.front().day < horizon_first_day) ||
         (profiles_.size() > 1 && DayOf(profiles_[1].time_ms) < horizon_first_day);
}

size_t CustomerState::ApproxBytes() const {
  size_t n = sizeof(*this) + profiles_.capacity() * sizeof(ProfileEntry) +
             days_.capacity() * sizeof(DayBucket) + seen_.capacity() * sizeof(SeenDay);
  for (const DayBucket& b : days_) n += b.category_items.capacity() * sizeof(CategoryItems);
  for (const SeenDay& b : seen_) n += b.ids.HeapBytes();
  return n + parts_.changed.capacity() * sizeof(int32_t);
}

void CustomerState::Prune(int32_t horizon_first_day) {
  auto first_kept = std::lower_bound(days_.begin(), days_.end(), horizon_first_day,
                                     [](const DayBucket& b, int32_t d) { return b.day < d; });
  for (auto it = days_.begin(); it != first_kept; ++it) {
    MarkChanged(it->day);
    if (it->orders == 0) continue;
    // A late day may be pruned after later ones were (when a day is pruned
    // depends on how the five topics were interleaved): min and max, not order.
    const bool first = pruned_.orders == 0;
    pruned_.first_day = first ? it->day : std::min(pruned_.first_day, it->day);
    pruned_.last_day = first ? it->day : std::max(pruned_.last_day, it->day);
    pruned_.orders += it->orders;
    pruned_.revenue_micros += it->revenue_micros;
    for (const CategoryItems& c : it->category_items) pruned_.items += c.items;
  }
  days_.erase(days_.begin(), first_kept);

  // Keep every profile inside the horizon plus the latest one before it: it is
  // still the customer's profile until a newer one arrives.
  size_t before = 0;
  while (before < profiles_.size() && DayOf(profiles_[before].time_ms) < horizon_first_day)
    ++before;
  if (before > 1) profiles_.erase(profiles_.begin(), profiles_.begin() + (before - 1));
}

// size-limit: the feature math, one function on purpose: every catalog feature is
// computed in one pass over the day buckets, in catalog order, so the whole
// definition can be read (and checked against docs/DESIGN.md) in one place.
Features CustomerState::ComputeFeatures(int64_t as_of_ms, int32_t horizon_first_day) const {
  Features f;
  auto& v = f.values;
  const int32_t t = DayOf(as_of_ms);
  const int32_t m0 = MonthStart(t, 0), m1 = MonthStart(t, 1), m2 = MonthStart(t, 2);
  const int32_t m6 = MonthStart(t, 6);

  // Profile: latest entry on or before T's day.
  const ProfileEntry* profile = nullptr;
  for (const ProfileEntry& p : profiles_) {
    if (DayOf(p.time_ms) <= t) profile = &p;
  }
  if (profile != nullptr) {
    if (profile->tier == v1::SERVICE_TIER_STANDARD) v[kServiceTier] = 0;
    if (profile->tier == v1::SERVICE_TIER_PREMIUM) v[kServiceTier] = 1;
    v[kMarketingConsent] = profile->consent ? 1 : 0;
    if (profile->registration_ms > 0) v[kTenureDays] = t - DayOf(profile->registration_ms);
  }

  int64_t sent_m1_6 = 0, sent_m0 = 0, sent_90 = 0, opened_90 = 0, clicks_30 = 0;
  int64_t lines_182 = 0, promo_182 = 0;
  int64_t rev_m[3] = {0, 0, 0}, profit_3m = 0;
  int64_t orders_30 = 0, orders_90 = 0, orders_365 = 0;
  int64_t rev_30 = 0, rev_90 = 0, rev_365 = 0;
  int64_t items_30 = 0, items_90 = 0, items_365 = 0, pdays_90 = 0, pdays_365 = 0;
  // Lifetime: the pruned days' aggregates, then every bucket on or before T
  // (also those before the horizon that the store has not pruned yet).
  int64_t orders_all = pruned_.orders, rev_all = pruned_.revenue_micros, items_all = pruned_.items;
  bool any_purchase = pruned_.orders > 0;
  int32_t first_purchase = pruned_.first_day, last_purchase = pruned_.last_day, last_session = 0;
  bool any_session = false;
  int64_t minutes_m0 = 0, minutes_m1 = 0;
  int64_t sessions_90 = 0, pages_90 = 0, sessions_30 = 0, catviews_30 = 0, sessions_7 = 0;
  int64_t unpaid_90 = 0, errors_90 = 0;
  // Small sorted maps: a customer buys from a handful of categories.
  std::vector<CategoryItems> items_182;
  std::vector<std::string_view> cats_90;

  auto bucket_items = [](const DayBucket& b) {
    int64_t n = 0;
    for (const CategoryItems& c : b.category_items) n += c.items;
    return n;
  };
  for (auto it = days_.begin(); it != days_.end() && it->day <= t; ++it) {
    const DayBucket& b = *it;
    const int64_t items = b.orders > 0 ? bucket_items(b) : 0;
    // Lifetime: every bucket on or before T, also before the horizon (not pruned yet).
    if (b.orders > 0) {
      // A late day not pruned yet may precede the pruned ones: min and max.
      first_purchase = any_purchase ? std::min(first_purchase, b.day) : b.day;
      last_purchase = any_purchase ? std::max(last_purchase, b.day) : b.day;
      any_purchase = true;
      orders_all += b.orders;
      rev_all += b.revenue_micros;
      items_all += items;
    }
    if (b.day < horizon_first_day) continue;  // windowed features: the horizon only
    const int32_t age = t - b.day;            // 0 on T's day
    if (b.day >= m0) {
      sent_m0 += b.marketing_sent;
      minutes_m0 += b.minutes_milli;
    } else if (b.day >= m1) {
      minutes_m1 += b.minutes_milli;
    }
    if (b.day < m0 && b.day >= m6) sent_m1_6 += b.marketing_sent;
    if (b.day >= m2) {
      const int idx = b.day >= m0 ? 0 : (b.day >= m1 ? 1 : 2);
      rev_m[idx] += b.revenue_micros;
      profit_3m += b.profit_micros;
    }
    if (b.sessions > 0) {
      any_session = true;
      last_session = b.day;
    }
    if (age < 365) {
      orders_365 += b.orders;
      rev_365 += b.revenue_micros;
      items_365 += items;
      pdays_365 += b.orders > 0 ? 1 : 0;
    }
    if (age < 182) {
      lines_182 += b.purchase_lines;
      promo_182 += b.promo_lines;
      for (const CategoryItems& c : b.category_items) {
        auto pos = std::lower_bound(
            items_182.begin(), items_182.end(), c.name,
            [](const CategoryItems& x, const std::string& n) { return x.name < n; });
        if (pos == items_182.end() || pos->name != c.name) pos = items_182.insert(pos, {c.name, 0});
        pos->items += c.items;
      }
    }
    if (age < 90) {
      sent_90 += b.marketing_sent;
      opened_90 += b.marketing_opened;
      orders_90 += b.orders;
      rev_90 += b.revenue_micros;
      items_90 += items;
      pdays_90 += b.orders > 0 ? 1 : 0;
      sessions_90 += b.sessions;
      pages_90 += b.pages;
      unpaid_90 += b.unpaid_cart_items;
      errors_90 += b.service_errors;
      for (const CategoryItems& c : b.category_items) {
        auto pos = std::lower_bound(cats_90.begin(), cats_90.end(), std::string_view(c.name));
        if (pos == cats_90.end() || *pos != c.name) cats_90.insert(pos, c.name);
      }
    }
    if (age < 30) {
      clicks_30 += b.marketing_clicked;
      orders_30 += b.orders;
      rev_30 += b.revenue_micros;
      items_30 += items;
      sessions_30 += b.sessions;
      catviews_30 += b.categories_viewed;
    }
    if (age < 7) sessions_7 += b.sessions;
  }

  auto money = [](int64_t micros) { return static_cast<double>(micros) / 1e6; };
  auto ratio = [](int64_t num, int64_t den) {
    return den == 0 ? kNaN : static_cast<double>(num) / static_cast<double>(den);
  };
  v[kMarketingSent6mAvg] = static_cast<double>(sent_m1_6) / 6.0;
  v[kMarketingSentMonth0] = static_cast<double>(sent_m0);
  v[kMarketingOpenRate90d] = ratio(opened_90, sent_90);
  v[kMarketingClicks30d] = static_cast<double>(clicks_30);
  v[kPromoShare6m] = ratio(promo_182, lines_182);
  const CategoryItems* top = nullptr;
  for (const CategoryItems& c : items_182) {
    if (top == nullptr || c.items > top->items) top = &c;  // sorted by name: ties keep the smallest
  }
  if (top != nullptr) f.top_category_6m = top->name;
  v[kRevenueMonth0] = money(rev_m[0]);
  v[kRevenueMonth1] = money(rev_m[1]);
  v[kRevenueMonth2] = money(rev_m[2]);
  v[kProfitAvgMonth3m] = money(profit_3m) / 3.0;
  v[kDaysSinceLastPurchase] = any_purchase ? t - last_purchase : kNaN;
  v[kDaysSinceFirstPurchase] = any_purchase ? t - first_purchase : kNaN;
  v[kOrders30d] = static_cast<double>(orders_30);
  v[kOrders90d] = static_cast<double>(orders_90);
  v[kOrders365d] = static_cast<double>(orders_365);
  v[kRevenue30d] = money(rev_30);
  v[kRevenue90d] = money(rev_90);
  v[kRevenue365d] = money(rev_365);
  v[kAvgOrderValue365d] = orders_365 == 0 ? kNaN : money(rev_365) / static_cast<double>(orders_365);
  v[kMeanDaysBetweenOrders] = orders_all < 2 ? kNaN
                                             : static_cast<double>(last_purchase - first_purchase) /
                                                   static_cast<double>(orders_all - 1);
  v[kDistinctCategories90d] = static_cast<double>(cats_90.size());
  v[kMinutesMonth0] = static_cast<double>(minutes_m0) / 1000.0;
  v[kMinutesMonth1] = static_cast<double>(minutes_m1) / 1000.0;
  v[kPagesPerVisit90d] = ratio(pages_90, sessions_90);
  v[kCategoriesPerVisit30d] = ratio(catviews_30, sessions_30);
  v[kUnpaidCartItems90d] = static_cast<double>(unpaid_90);
  v[kServiceErrors90d] = static_cast<double>(errors_90);
  v[kSessions7d] = static_cast<double>(sessions_7);
  v[kSessions30d] = static_cast<double>(sessions_30);
  v[kDaysSinceLastSession] = any_session ? t - last_session : kNaN;
  v[kItems30d] = static_cast<double>(items_30);
  v[kItems90d] = static_cast<double>(items_90);
  v[kItems365d] = static_cast<double>(items_365);
  v[kPurchaseDays90d] = static_cast<double>(pdays_90);
  v[kPurchaseDays365d] = static_cast<double>(pdays_365);
  v[kOrdersLifetime] = static_cast<double>(orders_all);
  v[kRevenueLifetime] = money(rev_all);
  v[kItemsLifetime] = static_cast<double>(items_all);
  return f;
}

bool CustomerState::InPopulation(int64_t as_of_ms, int32_t horizon_first_day) const {
  const int32_t t = DayOf(as_of_ms);
  if (pruned_.orders > 0) return true;  // pruned days precede every T inside the horizon
  if (!profiles_.empty() && DayOf(profiles_.front().time_ms) <= t) return true;
  for (const DayBucket& b : days_) {
    if (b.day > t) break;
    if (b.orders > 0 || b.day >= horizon_first_day) return true;
  }
  return false;
}

CustomerState::PurchaseTotals CustomerState::PurchasesBetween(int32_t first_day,
                                                              int32_t last_day) const {
  PurchaseTotals totals;
  auto it = std::lower_bound(days_.begin(), days_.end(), first_day,
                             [](const DayBucket& b, int32_t d) { return b.day < d; });
  for (; it != days_.end() && it->day <= last_day; ++it) {
    totals.orders += it->orders;
    totals.revenue_micros += it->revenue_micros;
  }
  return totals;
}

}  // namespace recur
