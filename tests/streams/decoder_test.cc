// The decoder's verdict on every kind of bad record, without a broker.
#include "streams/decoder.h"

#include <gtest/gtest.h>

#include <limits>

#include "tests/testing/events.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;

struct Rec {
  std::string key = "shop-1/c-1";
  bool has_key = true;
  std::string value;
  int64_t ts = Ms(2024, 3, 2);
  bool log_append_time = false;
  std::string topic = "shop.purchases";
  RawRecord Raw() const {
    RawRecord r;
    r.topic = topic;
    if (has_key) r.key = key;
    r.value = value;
    r.timestamp_ms = ts;
    r.log_append_time = log_append_time;
    return r;
  }
};

Decoded DecodeRec(const Rec& rec, int64_t stream_time = Ms(2024, 3, 2),
                  size_t max_bytes = 1 << 20) {
  DecoderOptions o;
  o.max_message_bytes = max_bytes;
  return Decoder(o).Decode(rec.Raw(), stream_time);
}

TEST(DecoderTest, AGoodEventPasses) {
  EventFactory ev;
  Rec r;
  r.value = ev.Purchase(Ms(2024, 3, 1), 10).SerializeAsString();
  Decoded d = DecodeRec(r);
  ASSERT_TRUE(d.ok()) << d.reason << ": " << d.message;
  EXPECT_EQ(d.event->purchase().lines(0).unit_price(), 10);
}

TEST(DecoderTest, EveryBadRecordGetsItsReason) {
  EventFactory ev;
  const std::string good = ev.Purchase(Ms(2024, 3, 1), 10).SerializeAsString();
  auto with = [&](auto mutate) {
    v1::Event e = ev.Purchase(Ms(2024, 3, 1), 10);
    mutate(&e);
    return e.SerializeAsString();
  };
  struct Case {
    Rec rec;
    std::string reason;
  };
  std::vector<Case> cases;
  {
    Rec r;
    r.value = "\xff\xff\xff garbage";
    cases.push_back({r, "undecodable"});
  }
  {
    Rec r;
    r.value = good;
    r.has_key = false;
    cases.push_back({r, "missing_key"});
  }
  {
    Rec r;
    r.value = good;
    r.key = "";
    cases.push_back({r, "missing_key"});
  }
  {
    Rec r;
    r.value = good;
    r.key = "shop-1/someone-else";
    cases.push_back({r, "key_mismatch"});
  }
  {
    Rec r;
    r.value = with([](v1::Event* e) { e->clear_purchase(); }) + std::string("\x7a\x02\x08\x01", 4);
    cases.push_back({r, "unknown_kind"});
  }
  {
    Rec r;
    r.value = with([](v1::Event* e) { e->clear_purchase(); });
    cases.push_back({r, "missing_kind"});
  }
  {
    Rec r;
    r.value =
        with([](v1::Event* e) { e->mutable_purchase()->mutable_lines(0)->set_unit_price(-3); });
    cases.push_back({r, "invalid_amount"});
  }
  {
    Rec r;
    r.value = with([](v1::Event* e) {
      e->mutable_purchase()->mutable_lines(0)->set_unit_price(std::nan(""));
    });
    cases.push_back({r, "invalid_amount"});
  }
  {
    Rec r;
    r.value = with(
        [](v1::Event* e) { e->mutable_purchase()->mutable_lines(0)->set_quantity(5'000'000); });
    cases.push_back({r, "invalid_quantity"});
  }
  {
    Rec r;
    r.value = with([](v1::Event* e) { e->clear_event_id(); });
    cases.push_back({r, "missing_id"});
  }
  {
    // A NUL separates a customer's key from its day parts in the store.
    Rec r;
    r.value = with([](v1::Event* e) { e->set_customer_id(std::string("c-\0x", 4)); });
    r.key = std::string("shop-1/c-\0x", 10);
    cases.push_back({r, "invalid_id"});
  }
  {
    Rec r;
    r.value = with([](v1::Event* e) { e->set_event_time_ms(Ms(2024, 3, 5)); });
    cases.push_back({r, "future"});
  }
  {
    Rec r;
    r.value = with([](v1::Event* e) { e->set_event_time_ms(Ms(2022, 1, 1)); });
    cases.push_back({r, "too_late"});
  }
  {
    Rec r;
    r.value = std::string(2000, 'x');
    cases.push_back({r, "oversized"});
  }
  for (const Case& c : cases) {
    Decoded d = DecodeRec(c.rec, Ms(2024, 3, 2), 1000);
    EXPECT_FALSE(d.ok()) << c.reason;
    EXPECT_EQ(d.reason, c.reason) << d.message;
    EXPECT_FALSE(d.message.empty());
  }
}

constexpr int64_t kDay = 86'400'000;

Rec PurchaseRec(EventFactory& ev, int64_t event_time, int64_t ts) {
  Rec r;
  r.value = ev.Purchase(event_time, 10).SerializeAsString();
  r.ts = ts;
  return r;
}

TEST(DecoderTest, FutureAgainstTheBrokersLogAppendTimeWhenTheTopicHasIt) {
  EventFactory ev;
  const int64_t now = Ms(2024, 3, 2);
  Rec ahead = PurchaseRec(ev, now + 2 * kDay, now);
  ahead.log_append_time = true;
  EXPECT_EQ(DecodeRec(ahead, /*stream_time=*/0).reason, "future");  // even with no stream time
  EXPECT_EQ(DecodeRec(ahead, now + 2 * kDay).reason, "future");     // nor a stream time that far
  // A quiet partition (stream time 5 days back): the broker's clock vouches for it.
  Rec current = PurchaseRec(ev, now + 3'600'000, now);
  current.log_append_time = true;
  EXPECT_TRUE(DecodeRec(current, now - 5 * kDay).ok());
}

TEST(DecoderTest, FutureWithCreateTimeNeedsToLeadTheStreamTimeAndTheRecordsClock) {
  EventFactory ev;
  const int64_t now = Ms(2024, 3, 2);
  // A producer 2 days behind, on a partition whose stream time is current.
  EXPECT_TRUE(DecodeRec(PurchaseRec(ev, now, now - 2 * kDay), now - 3'600'000).ok());
  // A partition quiet for 5 days and a producer whose clock is right: current.
  EXPECT_TRUE(DecodeRec(PurchaseRec(ev, now, now), now - 5 * kDay).ok());
  // Ahead of both: future, whichever of them is later.
  EXPECT_EQ(DecodeRec(PurchaseRec(ev, now + 3 * kDay, now - 2 * kDay), now).reason, "future");
  EXPECT_EQ(DecodeRec(PurchaseRec(ev, now + 3 * kDay, now), now - 5 * kDay).reason, "future");
  // No record timestamp: the stream time alone.
  EXPECT_EQ(DecodeRec(PurchaseRec(ev, now + 3 * kDay, -1), now).reason, "future");
  EXPECT_TRUE(DecodeRec(PurchaseRec(ev, now + 3'600'000, -1), now).ok());
}

TEST(DecoderTest, APartitionsFirstEventsAreAcceptedUnlessBeyondTheHorizon) {
  EventFactory ev;
  const int64_t now = Ms(2024, 3, 2);
  EXPECT_TRUE(DecodeRec(PurchaseRec(ev, now, now - 2 * kDay), 0).ok());   // clock behind
  EXPECT_TRUE(DecodeRec(PurchaseRec(ev, now + 30 * kDay, now), 0).ok());  // nothing to judge by
  // 401 days ahead of its own clock: refused, as accepting it would make every later event
  // of the partition too_late.
  Decoded d = DecodeRec(PurchaseRec(ev, now + 401 * kDay, now), 0);
  EXPECT_EQ(d.reason, "future") << d.message;
}

// Found by tests/fuzz/decoder_fuzz: a producer sets any CreateTime, up to
// INT64_MAX; "timestamp + lead" overflowed (undefined behaviour; in practice a
// negative bound, so a current event was refused as `future`). A clock that far
// ahead vouches for the event like any clock ahead of it.
TEST(DecoderTest, ARecordTimestampNearInt64MaxIsJudgedWithoutOverflow) {
  EventFactory ev;
  const int64_t now = Ms(2024, 3, 2);
  const int64_t max = std::numeric_limits<int64_t>::max();
  Decoded first = DecodeRec(PurchaseRec(ev, now, max), /*stream_time=*/0);
  EXPECT_TRUE(first.ok()) << first.reason << ": " << first.message;
  Decoded quiet = DecodeRec(PurchaseRec(ev, now, max), now - 5 * kDay);
  EXPECT_TRUE(quiet.ok()) << quiet.reason << ": " << quiet.message;
  Rec broker = PurchaseRec(ev, now, max);
  broker.log_append_time = true;
  Decoded appended = DecodeRec(broker, now);
  EXPECT_TRUE(appended.ok()) << appended.reason << ": " << appended.message;
}

TEST(DecoderTest, AnEventOnAnotherKindsInputTopicIsWrongTopic) {
  EventFactory ev;
  Rec r = PurchaseRec(ev, Ms(2024, 3, 1), Ms(2024, 3, 2));
  r.topic = "shop.carts";
  Decoded d = DecodeRec(r);
  EXPECT_EQ(d.reason, "wrong_topic");
  EXPECT_NE(d.message.find("purchase event on shop.carts (want shop.purchases)"), std::string::npos)
      << d.message;
  r.topic = "shop.purchases";
  EXPECT_TRUE(DecodeRec(r).ok());
  // The names are the deployment's; a topic that is none of the inputs is not judged.
  TopicNames custom;
  custom.purchases = "orders";
  r.topic = "orders";
  EXPECT_TRUE(Decoder(DecoderOptions{}, custom).Decode(r.Raw(), Ms(2024, 3, 2)).ok());
  r.topic = "shop.carts";
  EXPECT_EQ(Decoder(DecoderOptions{}, custom).Decode(r.Raw(), Ms(2024, 3, 2)).reason,
            "wrong_topic");
  r.topic = "some.other.topic";
  EXPECT_TRUE(Decoder(DecoderOptions{}, custom).Decode(r.Raw(), Ms(2024, 3, 2)).ok());
}

TEST(DecoderTest, ATruncatedRecordIsUndecodableNotACrash) {
  EventFactory ev;
  const std::string good = ev.Purchase(Ms(2024, 3, 1), 10).SerializeAsString();
  for (size_t cut = 1; cut < good.size(); cut += 3) {
    Rec r;
    r.value = good.substr(0, good.size() - cut);
    Decoded d = DecodeRec(r);
    // Some cuts end on a field boundary and still parse: then validation or the key
    // check must refuse what is left; none may pass as the original event.
    if (d.ok()) {
      EXPECT_NE(d.event->SerializeAsString(), good) << "cut " << cut;
    } else {
      EXPECT_FALSE(d.reason.empty());
    }
  }
  Rec r;
  r.value = good.substr(0, 5);  // inside the event_id string
  EXPECT_EQ(DecodeRec(r).reason, "undecodable");
}

}  // namespace
}  // namespace recur
