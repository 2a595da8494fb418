// The batch builder without a broker: what lands as events, what as dead
// letters (with which reason), the offsets and stream times per partition, and
// the stop offsets of a bounded run.
#include "streams/batch_builder.h"

#include <gtest/gtest.h>

#include "tests/testing/events.h"
#include "tests/testing/kafka.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;

using testing::kPurchases0;
using testing::kPurchases1;
using testing::kSessions0;
using Rec = testing::Record;

std::string PurchaseAt(EventFactory& ev, int64_t t) {
  return ev.Purchase(t, 10).SerializeAsString();
}

TEST(BatchBuilderTest, GoodRecordsBecomeEventsOfTheirPartitionNumber) {
  EventFactory ev;
  BatchBuilder b(DecoderOptions{}, {});
  EXPECT_TRUE(b.empty());
  auto a1 = b.Add(Rec{kPurchases0, 5, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1))}.Raw());
  auto a2 = b.Add(
      Rec{kSessions0, 7, "shop-1/c-1", ev.Session(Ms(2024, 3, 1), 3, 2, 1, 0).SerializeAsString()}
          .Raw());
  auto a3 = b.Add(Rec{kPurchases1, 9, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1))}.Raw());
  for (const auto& a : {a1, a2, a3}) {
    EXPECT_TRUE(a.counted);
    EXPECT_FALSE(a.dead_reason.has_value());
    EXPECT_FALSE(a.stopped);
  }
  const Batch& batch = b.batch();
  EXPECT_EQ(batch.count, 3u);
  ASSERT_EQ(batch.events.size(), 2u);
  EXPECT_EQ(batch.events.at(0).size(), 2u);  // both topics' partition 0 feed store 0
  EXPECT_EQ(batch.events.at(1).size(), 1u);
  EXPECT_EQ(batch.offsets, (OffsetMap{{kPurchases0, 6}, {kSessions0, 8}, {kPurchases1, 10}}));
  EXPECT_TRUE(batch.dead.empty());
}

TEST(BatchBuilderTest, TheBatchRemembersItsOldestGoodRecordsTimestamp) {
  EventFactory ev;
  BatchBuilder b(DecoderOptions{}, {});
  EXPECT_EQ(b.batch().oldest_record_ms, -1);
  b.Add(
      Rec{kPurchases0, 1, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1)), Ms(2024, 3, 2) + 50}.Raw());
  b.Add(Rec{kPurchases0, 2, "shop-1/c-1", "garbage", Ms(2024, 3, 2)}.Raw());  // dead: not counted
  b.Add(
      Rec{kPurchases1, 1, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1)), Ms(2024, 3, 2) + 20}.Raw());
  b.Add(Rec{kPurchases1, 2, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1)), -1}.Raw());  // none
  EXPECT_EQ(b.batch().oldest_record_ms, Ms(2024, 3, 2) + 20);
  b.Clear();
  EXPECT_EQ(b.batch().oldest_record_ms, -1);
  EXPECT_EQ(OldestKnownMs(-1, 7), 7);
  EXPECT_EQ(OldestKnownMs(7, -1), 7);
  EXPECT_EQ(OldestKnownMs(9, 7), 7);
}

TEST(BatchBuilderTest, BadRecordsBecomeDeadLettersWithTheirReasonAndOriginalBytes) {
  EventFactory ev;
  BatchBuilder b(DecoderOptions{}, {});
  auto garbage = b.Add(Rec{kPurchases0, 3, "shop-1/c-1", "\xff\xff garbage"}.Raw());
  auto no_key = b.Add(Rec{kPurchases0, 4, std::nullopt, PurchaseAt(ev, Ms(2024, 3, 1))}.Raw());
  auto wrong_key = b.Add(Rec{kPurchases0, 5, "shop-1/other", PurchaseAt(ev, Ms(2024, 3, 1))}.Raw());
  EXPECT_EQ(garbage.dead_reason, "undecodable");
  EXPECT_EQ(no_key.dead_reason, "missing_key");
  EXPECT_EQ(wrong_key.dead_reason, "key_mismatch");
  const Batch& batch = b.batch();
  ASSERT_EQ(batch.dead.size(), 3u);
  EXPECT_EQ(batch.dead[0].topic, "shop.purchases");
  EXPECT_EQ(batch.dead[0].partition, 0);
  EXPECT_EQ(batch.dead[0].offset, 3);
  EXPECT_EQ(batch.dead[0].key, "shop-1/c-1");
  EXPECT_EQ(batch.dead[0].value, "\xff\xff garbage");
  EXPECT_FALSE(batch.dead[1].key.has_value());  // no key stays no key, not an empty one
  EXPECT_TRUE(batch.events.empty());
  // Dead letters move the offsets on like good records: they are never read again.
  EXPECT_EQ(batch.offsets, (OffsetMap{{kPurchases0, 6}}));
  EXPECT_EQ(batch.count, 3u);
}

TEST(BatchBuilderTest, TooLateIsJudgedAgainstTheSourcePartitionsOwnStreamTime) {
  EventFactory ev;
  BatchBuilder b(DecoderOptions{}, {});
  b.SetStreamTime(kPurchases0, Ms(2024, 3, 2));  // as a store remembers it
  const std::string old = PurchaseAt(ev, Ms(2022, 1, 1));
  EXPECT_EQ(b.Add(Rec{kPurchases0, 0, "shop-1/c-1", old, Ms(2022, 1, 1)}.Raw()).dead_reason,
            "too_late");
  // An event as old on a partition that has seen nothing yet is fine.
  const std::string old_session = ev.Session(Ms(2022, 1, 1), 3, 2, 1, 0).SerializeAsString();
  EXPECT_FALSE(b.Add(Rec{kSessions0, 0, "shop-1/c-1", old_session, Ms(2022, 1, 1)}.Raw())
                   .dead_reason.has_value());
}

TEST(BatchBuilderTest, LateEventsAreAppliedAndCountedAndStreamTimeOnlyMovesForward) {
  EventFactory ev;
  BatchBuilder b(DecoderOptions{}, {});
  b.SetStreamTime(kPurchases0, Ms(2024, 3, 2, 12));
  auto late = b.Add(Rec{kPurchases0, 0, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 2, 10))}.Raw());
  EXPECT_TRUE(late.late);  // 2 h behind, the allowed lateness is 1 h
  EXPECT_FALSE(late.dead_reason.has_value());
  auto on_time = b.Add(Rec{kPurchases0, 1, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 2, 14))}.Raw());
  EXPECT_FALSE(on_time.late);
  b.Add(Rec{kPurchases0, 2, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 2, 13))}.Raw());
  EXPECT_EQ(b.batch().events.at(0).size(), 3u);
  EXPECT_EQ(b.batch().stream_times, (StreamTimeMap{{kPurchases0, Ms(2024, 3, 2, 14)}}));
}

TEST(BatchBuilderTest, ClearKeepsStreamTimesAndResetForgetsThem) {
  EventFactory ev;
  BatchBuilder b(DecoderOptions{}, {});
  b.Add(Rec{kPurchases0, 0, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 2))}.Raw());
  b.Clear();
  EXPECT_TRUE(b.empty());
  // The stream time survives a commit: a much older event is still too late.
  const std::string old = PurchaseAt(ev, Ms(2022, 1, 1));
  EXPECT_EQ(b.Add(Rec{kPurchases0, 1, "shop-1/c-1", old, Ms(2022, 1, 1)}.Raw()).dead_reason,
            "too_late");
  b.Reset();  // revoked: the next owner's store decides
  EXPECT_TRUE(b.empty());
  EXPECT_FALSE(
      b.Add(Rec{kPurchases0, 2, "shop-1/c-1", old, Ms(2022, 1, 1)}.Raw()).dead_reason.has_value());
}

// The dedupe window is per kind and relies on one kind per topic (DESIGN
// "Dedupe key"): an event on another kind's topic is a dead letter, not applied.
TEST(BatchBuilderTest, AnEventOnAnotherKindsTopicIsDeadLetteredAsWrongTopic) {
  EventFactory ev;
  BatchBuilder b(DecoderOptions{}, {});
  const TopicPartition carts0{"shop.carts", 0};
  auto purchase = b.Add(Rec{carts0, 4, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1))}.Raw());
  auto session = b.Add(
      Rec{kPurchases0, 5, "shop-1/c-1", ev.Session(Ms(2024, 3, 1), 3, 2, 1, 0).SerializeAsString()}
          .Raw());
  auto cart =
      b.Add(Rec{carts0, 5, "shop-1/c-1", ev.Cart(Ms(2024, 3, 1), 2).SerializeAsString()}.Raw());
  EXPECT_EQ(purchase.dead_reason, "wrong_topic");
  EXPECT_EQ(session.dead_reason, "wrong_topic");
  EXPECT_FALSE(cart.dead_reason.has_value());
  const Batch& batch = b.batch();
  ASSERT_EQ(batch.dead.size(), 2u);
  EXPECT_EQ(batch.dead[0].topic, "shop.carts");
  EXPECT_EQ(batch.dead[0].offset, 4);
  EXPECT_EQ(batch.dead[0].reason, "wrong_topic");
  ASSERT_EQ(batch.events.at(0).size(), 1u);  // only the cart
  EXPECT_TRUE(batch.events.at(0)[0].has_cart());
  // Dead letters move no stream time: the partitions never saw a good event.
  EXPECT_EQ(batch.stream_times.at(kPurchases0), 0);
}

// The time a producer's clock can not move (docs/DESIGN.md "future"): a
// producer 2 days behind loses nothing; an event far ahead of its partition's
// stream time is still a dead letter.
TEST(BatchBuilderTest, FutureIsJudgedAgainstTheStreamTimeNotTheProducersClock) {
  EventFactory ev;
  BatchBuilder b(DecoderOptions{}, {});
  const int64_t now = Ms(2024, 3, 2, 12);
  const int64_t behind = now - 2 * 86'400'000;  // the skewed producer's clock
  // A partition's first events, before any stream time, are accepted.
  auto first = b.Add(Rec{kPurchases0, 0, "shop-1/c-1", PurchaseAt(ev, now), behind}.Raw());
  EXPECT_FALSE(first.dead_reason.has_value()) << *first.dead_reason;
  for (int i = 1; i <= 200; ++i) {
    const int64_t t = now + i * 60'000;
    auto added =
        b.Add(Rec{kPurchases0, i, "shop-1/c-1", PurchaseAt(ev, t), behind + i * 60'000}.Raw());
    ASSERT_FALSE(added.dead_reason.has_value()) << "event " << i << ": " << *added.dead_reason;
  }
  // A store that remembers a stream time judges the same way after a restart.
  b.SetStreamTime(kSessions0, now);
  auto session = b.Add(Rec{kSessions0, 0, "shop-1/c-1",
                           ev.Session(now + 3'600'000, 3, 2, 1, 0).SerializeAsString(), behind}
                           .Raw());
  EXPECT_FALSE(session.dead_reason.has_value()) << *session.dead_reason;
  // 10 days ahead of the stream time (and of the record's clock): future.
  auto ahead = b.Add(
      Rec{kPurchases0, 201, "shop-1/c-1", PurchaseAt(ev, now + 10 * 86'400'000), behind}.Raw());
  EXPECT_EQ(ahead.dead_reason, "future");
  EXPECT_EQ(b.batch().events.at(0).size(), 202u);
  EXPECT_EQ(b.batch().stream_times.at(kPurchases0), now + 200 * 60'000);  // not moved by it
}

TEST(BatchBuilderTest, StopOffsetsBoundEveryPartition) {
  EventFactory ev;
  BatchBuilder b(DecoderOptions{}, {{kPurchases0, 3}, {kSessions0, 0}});
  ASSERT_TRUE(b.bounded());
  auto first = b.Add(Rec{kPurchases0, 1, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1))}.Raw());
  EXPECT_TRUE(first.counted);
  EXPECT_FALSE(first.stopped);
  auto last = b.Add(Rec{kPurchases0, 2, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1))}.Raw());
  EXPECT_TRUE(last.counted);
  EXPECT_TRUE(last.stopped);  // the record before the stop: pause the partition
  EXPECT_TRUE(b.Stopped(kPurchases0));
  auto beyond = b.Add(Rec{kPurchases0, 3, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1))}.Raw());
  EXPECT_FALSE(beyond.counted);  // fetched beyond the stop: never applied, not counted
  EXPECT_FALSE(beyond.stopped);  // already stopped
  // An empty range: the first record is already beyond; the stop offset itself is stored.
  auto empty_range = b.Add(Rec{kSessions0, 0, "shop-1/c-1", "\xff not even decoded"}.Raw());
  EXPECT_FALSE(empty_range.counted);
  EXPECT_TRUE(empty_range.stopped);
  EXPECT_FALSE(empty_range.dead_reason.has_value());
  // A partition without a stop offset is not read at all, and nothing is stored for it.
  auto unlisted = b.Add(Rec{kPurchases1, 0, "shop-1/c-1", PurchaseAt(ev, Ms(2024, 3, 1))}.Raw());
  EXPECT_FALSE(unlisted.counted);
  EXPECT_TRUE(unlisted.stopped);
  const Batch& batch = b.batch();
  EXPECT_EQ(batch.offsets, (OffsetMap{{kPurchases0, 3}, {kSessions0, 0}}));
  EXPECT_EQ(batch.events.at(0).size(), 2u);
  EXPECT_EQ(batch.count, 2u);
  EXPECT_TRUE(batch.dead.empty());
}

TEST(BatchBuilderTest, AnEndAtTheStopStoresExactlyTheStopOffset) {
  BatchBuilder b(DecoderOptions{}, {{kPurchases0, 5}, {kSessions0, 10}});
  // A gap before the stop (e.g. transaction markers): the end reaches it.
  EXPECT_TRUE(b.AtEnd(kPurchases0, 5));
  EXPECT_FALSE(b.AtEnd(kPurchases0, 5));  // once
  EXPECT_FALSE(b.AtEnd(kSessions0, 4));   // not there yet
  EXPECT_EQ(b.batch().offsets, (OffsetMap{{kPurchases0, 5}}));
  EXPECT_FALSE(b.empty());  // the stop offset alone is worth a commit
  EXPECT_EQ(b.batch().count, 0u);

  BatchBuilder unbounded(DecoderOptions{}, {});
  EXPECT_FALSE(unbounded.AtEnd(kPurchases0, 5));
  EXPECT_TRUE(unbounded.empty());
}

}  // namespace
}  // namespace recur
