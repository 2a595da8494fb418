// The generating process of the simulator (see ops/README.md for the prose).
// Every random draw comes from recur's own xoshiro256** and its own samplers, so
// the stream is identical on every machine and standard library for a seed.
#include "ops/simulator.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "featurestore/calendar.h"
#include "featurestore/types.h"

namespace recur {
namespace {

uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (auto& w : s_) w = SplitMix(seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool Bernoulli(double p) { return Uniform() < p; }
  int64_t Below(int64_t n) { return static_cast<int64_t>(Uniform() * static_cast<double>(n)); }
  double Normal() {  // Box-Muller, one value per call
    double u1 = std::max(Uniform(), 1e-300), u2 = Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
  }
  double LogNormal(double median, double sigma) { return median * std::exp(sigma * Normal()); }
  int Poisson(double lambda) {  // Knuth; lambdas here are small
    double l = std::exp(-lambda), p = 1.0;
    int k = 0;
    do {
      ++k;
      p *= Uniform();
    } while (p > l && k < 1000);
    return k - 1;
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  std::array<uint64_t, 4> s_;
};

struct CategorySpec {
  const char* name;
  double weight;        // share of customers with this primary category
  double price_median;  // unit price
  double margin;        // profit / revenue at list price
  double rate_factor;   // purchase frequency relative to the customer's base rate
};
constexpr std::array<CategorySpec, 8> kCategories = {{
    {"books", 0.08, 15, 0.30, 1.0},
    {"beauty", 0.10, 22, 0.35, 1.1},
    {"children", 0.15, 25, 0.25, 1.3},
    {"electronics", 0.14, 240, 0.08, 0.45},
    {"fashion", 0.18, 45, 0.40, 1.0},
    {"grocery", 0.15, 9, 0.15, 1.8},
    {"home", 0.12, 55, 0.28, 0.8},
    {"sports", 0.08, 48, 0.30, 0.9},
}};

struct Shop {
  std::string id;
  double error_rate;      // mean service errors per session
  int promo_every_weeks;  // a promo week every N weeks
  int campaign_weekday;   // day of week (0 = Thursday 1970-01-01) of the weekly email
  Rng rng{0};
};

struct Customer {
  std::string id;
  Rng rng{0};
  int32_t registration_day = 0;
  bool profile_emitted = false;
  int tier = v1::SERVICE_TIER_STANDARD;
  bool consent = true;
  int primary = 0;
  double base_rate = 0;  // orders per day when fully engaged
  double promo_affinity = 0;
  double engagement = 1.0;
  bool declining = false;
  int32_t last_purchase_day = -1;
  int32_t last_click_day = -1000;
  int errors_7d[7] = {0, 0, 0, 0, 0, 0, 0};
  int unpaid_14d = 0;
  int64_t seq = 0;
};

double Seasonality(int32_t day) {
  CivilDate c = CivilFromDays(day);
  double s = 1.0;
  if ((c.month == 11 && c.day >= 15) || (c.month == 12 && c.day <= 24)) s += 0.35;
  if (c.month == 7 || c.month == 8) s -= 0.15;
  const int dow = ((day % 7) + 7) % 7;  // 2 and 3 are Saturday and Sunday
  if (dow == 2 || dow == 3) s += 0.1;
  return s;
}

struct Pending {
  int64_t emit_ms;  // when the event enters the stream (late events: after their time)
  v1::Event event;
};

class Generator {
 public:
  explicit Generator(const SimulatorOptions& o) : o_(o), start_day_(DayOf(o.start_ms)) {
    uint64_t s = o.seed;
    for (int i = 0; i < o.shops; ++i) {
      Shop shop;
      shop.id = absl::StrCat("shop-", i + 1);
      shop.rng = Rng(SplitMix(s));
      shop.error_rate = 0.03 + 0.04 * (i % 3);
      shop.promo_every_weeks = 3 + i % 3;
      shop.campaign_weekday = static_cast<int>(shop.rng.Below(7));
      shops_.push_back(std::move(shop));
    }
    for (int i = 0; i < o.shops; ++i) {
      std::vector<Customer> cs(o.customers_per_shop);
      for (int j = 0; j < o.customers_per_shop; ++j) InitCustomer(cs[j], i, j);
      customers_.push_back(std::move(cs));
    }
  }

  absl::Status Run(const std::function<absl::Status(const v1::Event&)>& sink) {
    std::vector<Pending> today, later;
    Rng stream_rng(o_.seed ^ 0x5eed5eed5eedull);
    for (int32_t d = start_day_; d < start_day_ + o_.days; ++d) {
      today.clear();
      // Delayed (late) events whose emission time falls on this day.
      std::vector<Pending> keep;
      for (auto& p : later) (DayOf(p.emit_ms) == d ? today : keep).push_back(std::move(p));
      later.swap(keep);
      for (size_t s = 0; s < shops_.size(); ++s) {
        Shop& shop = shops_[s];
        const bool outage = shop.rng.Bernoulli(0.01);
        const int week = (d - start_day_) / 7;
        const bool promo_week = week % shop.promo_every_weeks == 0;
        const bool campaign_day = ((d % 7) + 7) % 7 == shop.campaign_weekday;
        for (Customer& c : customers_[s]) {
          std::vector<v1::Event> out;
          SimulateDay(shop, c, d, outage, promo_week, campaign_day, &out);
          for (v1::Event& e : out) {
            Pending p{e.event_time_ms(), std::move(e)};
            if (o_.late_rate > 0 && stream_rng.Bernoulli(o_.late_rate)) {
              p.emit_ms += (1 + stream_rng.Below(3)) * kMillisPerDay;
              later.push_back(p);
              continue;
            }
            if (o_.duplicate_rate > 0 && stream_rng.Bernoulli(o_.duplicate_rate)) {
              Pending dup = p;
              dup.emit_ms = std::min(p.emit_ms + 1 + stream_rng.Below(6 * 3'600'000),
                                     (static_cast<int64_t>(d) + 1) * kMillisPerDay - 1);
              today.push_back(std::move(dup));
            }
            today.push_back(std::move(p));
          }
        }
      }
      std::stable_sort(today.begin(), today.end(), [](const Pending& a, const Pending& b) {
        return a.emit_ms != b.emit_ms ? a.emit_ms < b.emit_ms
                                      : a.event.event_id() < b.event.event_id();
      });
      for (const Pending& p : today) {
        absl::Status st = sink(p.event);
        if (!st.ok()) return st;
      }
    }
    return absl::OkStatus();
  }

 private:
  void InitCustomer(Customer& c, int shop, int index) {
    c.id = absl::StrFormat("c-%06d", index + 1);
    uint64_t s =
        o_.seed * 1000003ull + static_cast<uint64_t>(shop) * 7919ull + static_cast<uint64_t>(index);
    c.rng = Rng(SplitMix(s));
    Rng& r = c.rng;
    // 70% registered before the stream starts (up to two years), 30% join during it.
    c.registration_day =
        r.Bernoulli(0.7) ? start_day_ - static_cast<int32_t>(r.Below(730))
                         : start_day_ + static_cast<int32_t>(r.Below(std::max(1, o_.days * 2 / 3)));
    c.tier = r.Bernoulli(0.2) ? v1::SERVICE_TIER_PREMIUM : v1::SERVICE_TIER_STANDARD;
    c.consent = r.Bernoulli(0.7);
    double u = r.Uniform(), acc = 0;
    for (size_t k = 0; k < kCategories.size(); ++k) {
      acc += kCategories[k].weight;
      if (u < acc || k + 1 == kCategories.size()) {
        c.primary = static_cast<int>(k);
        break;
      }
    }
    c.base_rate = r.LogNormal(1.0 / 35.0, 0.6) * kCategories[c.primary].rate_factor *
                  (c.tier == v1::SERVICE_TIER_PREMIUM ? 1.5 : 1.0);
    c.promo_affinity = std::pow(r.Uniform(), 2.0);
    c.engagement = 0.6 + 0.6 * r.Uniform();
  }

  v1::Event NewEvent(const Shop& shop, Customer& c, int32_t day) {
    v1::Event e;
    e.set_event_id(absl::StrCat(shop.id, "-", c.id, "-", ++c.seq));
    e.set_shop_id(shop.id);
    e.set_customer_id(c.id);
    e.set_event_time_ms(static_cast<int64_t>(day) * kMillisPerDay + c.rng.Below(kMillisPerDay));
    return e;
  }

  // The blocks of a customer's day, in the order SimulateDay draws them (the
  // order of random draws is the stream: keep it).
  void EmitProfile(Shop& shop, Customer& c, int32_t d, std::vector<v1::Event>* out) {
    Rng& r = c.rng;
    if (c.profile_emitted) {
      if (r.Bernoulli(0.5))
        c.tier = v1::SERVICE_TIER_PREMIUM;
      else
        c.consent = !c.consent;
    }
    c.profile_emitted = true;
    v1::Event e = NewEvent(shop, c, d);
    auto* p = e.mutable_profile();
    p->set_tier(static_cast<v1::ServiceTier>(c.tier));
    p->set_marketing_consent(c.consent);
    p->set_registration_time_ms(std::min<int64_t>(
        e.event_time_ms(),
        static_cast<int64_t>(c.registration_day) * kMillisPerDay + 9 * 3'600'000));
    out->push_back(std::move(e));
  }

  void EmitMarketing(Shop& shop, Customer& c, int32_t d, std::vector<v1::Event>* out) {
    Rng& r = c.rng;
    v1::Event e = NewEvent(shop, c, d);
    auto* m = e.mutable_marketing();
    m->set_action(v1::MARKETING_ACTION_SENT);
    m->set_channel(v1::CHANNEL_EMAIL);
    m->set_campaign_id(absl::StrCat(shop.id, "-w", (d - start_day_) / 7));
    out->push_back(e);
    if (r.Bernoulli(std::min(
            0.9, 0.12 + 0.25 * c.engagement + 0.1 * (c.tier == v1::SERVICE_TIER_PREMIUM)))) {
      e.set_event_id(absl::StrCat(shop.id, "-", c.id, "-", ++c.seq));
      e.set_event_time_ms(std::min(e.event_time_ms() + 1 + r.Below(3'600'000),
                                   (static_cast<int64_t>(d) + 1) * kMillisPerDay - 1));
      e.mutable_marketing()->set_action(v1::MARKETING_ACTION_OPENED);
      out->push_back(e);
      if (r.Bernoulli(0.25 + 0.2 * c.promo_affinity)) {
        e.set_event_id(absl::StrCat(shop.id, "-", c.id, "-", ++c.seq));
        e.mutable_marketing()->set_action(v1::MARKETING_ACTION_CLICKED);
        out->push_back(e);
        c.last_click_day = d;
      }
    }
  }

  void EmitSession(Shop& shop, Customer& c, int32_t d, bool outage, bool buys,
                   std::vector<v1::Event>* out) {
    Rng& r = c.rng;
    v1::Event e = NewEvent(shop, c, d);
    auto* s = e.mutable_session();
    const double factor = d >= DayOf(o_.shift_from_ms) ? o_.minutes_factor : 1.0;
    s->set_minutes(std::round(std::min(600.0, r.LogNormal(6.0, 0.7)) * factor * 100) / 100);
    s->set_pages(1 + r.Poisson(4.0 * c.engagement + 1));
    s->add_categories_viewed(kCategories[c.primary].name);
    int extra = r.Poisson(0.8);
    for (int k = 0; k < extra; ++k) {
      const char* name = kCategories[r.Below(kCategories.size())].name;
      bool seen = false;
      for (const auto& v : s->categories_viewed()) seen = seen || v == name;
      if (!seen) s->add_categories_viewed(name);
    }
    const int errors = r.Poisson(shop.error_rate * (outage ? 15.0 : 1.0));
    s->set_service_errors(errors);
    c.errors_7d[0] += errors;
    out->push_back(e);
    if (!buys && r.Bernoulli(0.08 + 0.25 * (errors > 0))) {
      v1::Event cart = NewEvent(shop, c, d);
      cart.mutable_cart()->set_unpaid_items(1 + r.Poisson(1.0));
      cart.mutable_cart()->set_cart_value(std::round(r.LogNormal(40, 0.8) * 100) / 100);
      out->push_back(std::move(cart));
      ++c.unpaid_14d;
    }
  }

  void EmitPurchase(Shop& shop, Customer& c, int32_t d, bool promo_week,
                    std::vector<v1::Event>* out) {
    Rng& r = c.rng;
    v1::Event e = NewEvent(shop, c, d);
    auto* p = e.mutable_purchase();
    p->set_order_id(absl::StrCat("o-", c.id, "-", c.seq));
    const int lines = std::min(6, 1 + r.Poisson(0.6));
    for (int k = 0; k < lines; ++k) {
      const int cat = r.Bernoulli(0.6) ? c.primary : static_cast<int>(r.Below(kCategories.size()));
      const CategorySpec& spec = kCategories[cat];
      auto* l = p->add_lines();
      l->set_category(spec.name);
      l->set_quantity(1 + r.Poisson(spec.price_median < 30 ? 0.8 : 0.2));
      const bool promo =
          r.Bernoulli(promo_week ? 0.05 + 0.85 * c.promo_affinity : 0.04 * c.promo_affinity);
      const double list = std::round(r.LogNormal(spec.price_median, 0.5) * 100) / 100;
      const double price = promo ? std::round(list * 80) / 100 : list;
      l->set_unit_price(price);
      l->set_promo(promo);
      l->set_profit(
          std::round((price * spec.margin - (promo ? 0.2 * list * (1 - spec.margin) : 0)) *
                     l->quantity() * 100) /
          100);
    }
    out->push_back(std::move(e));
    c.last_purchase_day = d;
  }

  void SimulateDay(Shop& shop, Customer& c, int32_t d, bool outage, bool promo_week,
                   bool campaign_day, std::vector<v1::Event>* out) {
    if (d < c.registration_day) return;
    Rng& r = c.rng;
    if (!c.profile_emitted || r.Bernoulli(0.0008)) EmitProfile(shop, c, d, out);

    // Engagement dynamics: the hazard of starting a decline grows with service
    // errors, abandoned carts, long absence and, for promo hunters, weeks without
    // promotions; premium tier and recent clicks protect.
    int errors_7d = 0;
    for (int x : c.errors_7d) errors_7d += x;
    const bool absent =
        c.last_purchase_day >= 0 && (d - c.last_purchase_day) > 2.0 / std::max(c.base_rate, 1e-3);
    const bool clicked_recently = d - c.last_click_day <= 14;
    double logit = -6.3 + 0.45 * std::min(errors_7d, 6) + 0.25 * std::min(c.unpaid_14d, 6) -
                   0.8 * (c.tier == v1::SERVICE_TIER_PREMIUM) - 0.6 * clicked_recently +
                   1.4 * c.promo_affinity * (!promo_week) + 0.6 * absent;
    if (kCategories[c.primary].name == std::string_view("children") && d - c.registration_day > 365)
      logit += 0.7;
    const double hazard = 1.0 / (1.0 + std::exp(-logit));
    if (!c.declining && r.Bernoulli(hazard)) c.declining = true;
    if (c.declining && r.Bernoulli(0.004 + 0.01 * clicked_recently)) c.declining = false;
    if (c.declining) {
      c.engagement = std::max(0.03, c.engagement * 0.975);
    } else {
      c.engagement += 0.02 * (1.0 - c.engagement) + 0.01 * r.Normal();
      c.engagement = std::clamp(c.engagement, 0.05, 1.5);
    }
    for (int k = 6; k > 0; --k) c.errors_7d[k] = c.errors_7d[k - 1];
    c.errors_7d[0] = 0;
    if (c.unpaid_14d > 0 && r.Bernoulli(1.0 / 14)) --c.unpaid_14d;

    const double season = Seasonality(d);
    const bool clicked_3d = d - c.last_click_day <= 3;
    double rate = c.base_rate * c.engagement * season * (clicked_3d ? 1.8 : 1.0) *
                  (1.0 + 1.5 * c.promo_affinity * promo_week);
    const bool buys = r.Bernoulli(1.0 - std::exp(-rate));
    const bool visits =
        buys || r.Bernoulli(1.0 - std::exp(-(c.base_rate * 3.0 + 0.02) * c.engagement * season));

    if (campaign_day && c.consent) EmitMarketing(shop, c, d, out);
    if (visits) EmitSession(shop, c, d, outage, buys, out);
    if (buys) EmitPurchase(shop, c, d, promo_week, out);
  }

  const SimulatorOptions o_;
  const int32_t start_day_;
  std::vector<Shop> shops_;
  std::vector<std::vector<Customer>> customers_;
};

}  // namespace

absl::Status Simulate(const SimulatorOptions& options,
                      const std::function<absl::Status(const v1::Event&)>& sink) {
  if (options.shops < 1 || options.customers_per_shop < 1 || options.days < 1) {
    return absl::InvalidArgumentError("simulate: shops, customers and days must all be at least 1");
  }
  if (options.duplicate_rate < 0 || options.duplicate_rate > 0.5 || options.late_rate < 0 ||
      options.late_rate > 0.5) {
    return absl::InvalidArgumentError("simulate: duplicate and late rates must be in [0, 0.5]");
  }
  if (!(options.minutes_factor > 0 && options.minutes_factor <= 100)) {
    return absl::InvalidArgumentError("simulate: the minutes factor must be in (0, 100]");
  }
  Generator g(options);
  return g.Run(sink);
}

}  // namespace recur
