// Builders for hand-written events (any component's tests).
#ifndef RECUR_TESTS_TESTING_EVENTS_H_
#define RECUR_TESTS_TESTING_EVENTS_H_

#include <string>
#include <vector>

#include "featurestore/calendar.h"
#include "featurestore/types.h"
#include "proto/recur.pb.h"

namespace recur::testing {

// Partitions of the default input topics (streams/producer.h TopicNames), for
// hand-built records.
inline const TopicPartition kPurchases0{"shop.purchases", 0};
inline const TopicPartition kPurchases1{"shop.purchases", 1};
inline const TopicPartition kSessions0{"shop.sessions", 0};

// UTC milliseconds of y-m-d at `hour`:00.
inline int64_t Ms(int y, int m, int d, int hour = 12) {
  return static_cast<int64_t>(DaysFromCivil({y, m, d})) * kMillisPerDay + hour * 3'600'000LL;
}
// Noon of the day `days_before` days before `t_ms`'s day.
inline int64_t DaysBefore(int64_t t_ms, int days_before) {
  return (static_cast<int64_t>(DayOf(t_ms)) - days_before) * kMillisPerDay + 12 * 3'600'000LL;
}

class EventFactory {
 public:
  explicit EventFactory(std::string shop = "shop-1", std::string customer = "c-1")
      : shop_(std::move(shop)), customer_(std::move(customer)) {}

  v1::Event Base(int64_t t) {
    v1::Event e;
    e.set_event_id(shop_ + "-" + customer_ + "-" + std::to_string(++seq_));
    e.set_shop_id(shop_);
    e.set_customer_id(customer_);
    e.set_event_time_ms(t);
    return e;
  }
  struct Line {
    std::string category;
    uint32_t quantity;
    double unit_price;
    bool promo = false;
    double profit = 0;
  };
  v1::Event Purchase(int64_t t, std::vector<Line> lines) {
    v1::Event e = Base(t);
    for (const Line& l : lines) {
      auto* pl = e.mutable_purchase()->add_lines();
      pl->set_category(l.category);
      pl->set_quantity(l.quantity);
      pl->set_unit_price(l.unit_price);
      pl->set_promo(l.promo);
      pl->set_profit(l.profit);
    }
    return e;
  }
  v1::Event Purchase(int64_t t, double amount) { return Purchase(t, {{"books", 1, amount}}); }
  v1::Event Session(int64_t t, double minutes, uint32_t pages, int categories, uint32_t errors) {
    v1::Event e = Base(t);
    auto* s = e.mutable_session();
    s->set_minutes(minutes);
    s->set_pages(pages);
    for (int i = 0; i < categories; ++i) s->add_categories_viewed("cat" + std::to_string(i));
    s->set_service_errors(errors);
    return e;
  }
  v1::Event Cart(int64_t t, uint32_t unpaid) {
    v1::Event e = Base(t);
    e.mutable_cart()->set_unpaid_items(unpaid);
    e.mutable_cart()->set_cart_value(unpaid * 10.0);
    return e;
  }
  v1::Event Marketing(int64_t t, v1::MarketingAction action) {
    v1::Event e = Base(t);
    e.mutable_marketing()->set_action(action);
    e.mutable_marketing()->set_channel(v1::CHANNEL_EMAIL);
    e.mutable_marketing()->set_campaign_id("camp");
    return e;
  }
  v1::Event Profile(int64_t t, v1::ServiceTier tier, bool consent, int64_t registered) {
    v1::Event e = Base(t);
    e.mutable_profile()->set_tier(tier);
    e.mutable_profile()->set_marketing_consent(consent);
    e.mutable_profile()->set_registration_time_ms(registered);
    return e;
  }

 private:
  std::string shop_, customer_;
  int seq_ = 0;
};

}  // namespace recur::testing

#endif  // RECUR_TESTS_TESTING_EVENTS_H_
