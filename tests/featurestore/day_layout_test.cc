// The per-day layout of a customer (encoding v5): a head and one part per UTC
// day. Checked three ways: parts pinned by hand, a random-stream property (a
// "disk" that receives only the days CustomerState reports as changed always
// decodes to the live state), and a store whose flushes write only what changed.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/time.h"
#include "featurestore/customer_state.h"
#include "featurestore/feature_store.h"
#include "rocksdb/db.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;
namespace fs = std::filesystem;

std::string Fixed64Le(uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
  return s;
}

// The parts of every day before the head's tail that the state holds.
std::map<int32_t, std::string> AllParts(const CustomerState& s) {
  std::map<int32_t, std::string> parts;
  for (int32_t day = DayOf(Ms(2023, 12, 1)); day < s.TailStart(); ++day) {
    std::string bytes;
    if (s.EncodeDay(day, &bytes)) parts[day] = bytes;
  }
  return parts;
}

absl::Status DecodeFrom(const std::string& head, const std::map<int32_t, std::string>& parts,
                        CustomerState* out) {
  std::vector<CustomerState::DayPart> views;
  for (const auto& [day, bytes] : parts) views.push_back({day, bytes});
  return CustomerState::DecodeParts(head, views, out);
}

TEST(DayLayoutTest, ADayPartIsItsBucketThenItsIdsByKind) {
  EventFactory ev;
  CustomerState s;
  const v1::Event cart = ev.Cart(Ms(2024, 3, 5), 2);
  const v1::Event visit = ev.Session(Ms(2024, 3, 5) + 1000, 1.5, 2, 1, 0);
  ASSERT_TRUE(s.Apply(cart));
  ASSERT_TRUE(s.Apply(visit));
  std::string part;
  ASSERT_TRUE(s.EncodeDay(DayOf(Ms(2024, 3, 5)), &part));
  // Flags 3 (bucket, ids). Mask: sessions (1<<5), pages (1<<6), categories
  // viewed (1<<7), minutes (1<<9), unpaid cart items (1<<10) = 0x6e0, varint
  // e0 0d. Then sessions 1, pages 2, categories 1, minutes 1500 (zig-zag 3000 =
  // b8 17), unpaid 2. Ids: 2 kinds; session (kind 1): 1 id; cart (kind 2): 1 id.
  const std::string want = std::string("\x03\xe0\x0d\x01\x02\x01\xb8\x17\x02", 9) + "\x02" +
                           "\x01\x01" + Fixed64Le(HashEventId(visit.event_id())) + "\x02\x01" +
                           Fixed64Le(HashEventId(cart.event_id()));
  EXPECT_EQ(part, want);
  std::string none;
  EXPECT_FALSE(s.EncodeDay(DayOf(Ms(2024, 3, 6)), &none));  // nothing that day
  EXPECT_TRUE(none.empty());
  // The head: version 5, no profile, ... then its tail: the days from
  // TailStart() on (here the only day), each as its part, length-prefixed.
  std::string head;
  s.EncodeHead(&head);
  EXPECT_TRUE(CustomerState::IsHead(head));
  EXPECT_EQ(head[0], 5);
  EXPECT_EQ(head[1], 0);
  EXPECT_EQ(s.TailStart(), DayOf(Ms(2024, 3, 5)) - kDedupeDays + 1);
  ASSERT_GT(head.size(), part.size() + 1);
  EXPECT_EQ(head.substr(head.size() - want.size() - 1),
            static_cast<char>(want.size()) + want);  // length (< 128: one byte), part
  CustomerState back;                                // the head alone is the whole state
  ASSERT_TRUE(CustomerState::DecodeParts(head, {}, &back).ok());
  EXPECT_EQ(back, s);
}

TEST(DayLayoutTest, ChangedPartsAreTheEarlierDaysAnEventPruneOrExpiryChangedOrTheHeadLetGo) {
  EventFactory ev;
  CustomerState s;
  auto day = [](int m, int d) { return DayOf(Ms(2024, m, d)); };
  const v1::Event first = ev.Purchase(Ms(2024, 3, 1), 10);
  ASSERT_TRUE(s.Apply(first));
  ASSERT_TRUE(s.Apply(ev.Session(Ms(2024, 3, 3), 1, 1, 0, 0)));
  ASSERT_TRUE(s.Apply(ev.Session(Ms(2024, 3, 3) + 5, 1, 1, 0, 0)));
  std::vector<int32_t> days;
  int32_t tail = 0;
  s.TakeChangedParts(&days, &tail);  // the head holds Feb 26 on: no part
  EXPECT_TRUE(days.empty());
  EXPECT_EQ(tail, std::numeric_limits<int32_t>::min());
  EXPECT_EQ(s.TailStart(), day(2, 26));
  EXPECT_FALSE(s.Apply(first));  // a duplicate changes nothing
  s.TakeChangedParts(&days, &tail);
  EXPECT_TRUE(days.empty());
  EXPECT_EQ(tail, day(2, 26));
  // A purchase on March 8: the head now starts on March 2, so March 1 (whose
  // purchase ids the kind also forgets) becomes a part.
  ASSERT_TRUE(s.Apply(ev.Purchase(Ms(2024, 3, 8), 1)));
  s.TakeChangedParts(&days, &tail);
  EXPECT_EQ(days, (std::vector<int32_t>{day(3, 1)}));
  // A late session for February 20: a part changes.
  ASSERT_TRUE(s.Apply(ev.Session(Ms(2024, 2, 20), 1, 1, 0, 0)));
  s.TakeChangedParts(&days, &tail);
  EXPECT_EQ(days, (std::vector<int32_t>{day(2, 20)}));
  // A session on March 12: the head starts on March 6; the sessions' ids of
  // February 20 and March 3 are forgotten, and March 3 leaves the head.
  ASSERT_TRUE(s.Apply(ev.Session(Ms(2024, 3, 12), 1, 1, 0, 0)));
  s.TakeChangedParts(&days, &tail);
  EXPECT_EQ(days, (std::vector<int32_t>{day(2, 20), day(3, 3)}));
  // Pruning before March 4 drops three parts; a failed write gives them back.
  s.Prune(day(3, 4));
  s.TakeChangedParts(&days, &tail);
  const std::vector<int32_t> pruned = {day(2, 20), day(3, 1), day(3, 3)};
  EXPECT_EQ(days, pruned);
  s.RestoreChangedParts(days, tail);
  s.TakeChangedParts(&days, &tail);
  EXPECT_EQ(days, pruned);
  // A copy (what a reader takes) starts afresh: to it no day is a part on
  // disk yet, so every earlier day would be written; the original is not
  // touched by copying.
  ASSERT_TRUE(s.Apply(ev.Session(Ms(2024, 2, 1), 1, 1, 0, 0)));
  s.TakeChangedParts(&days, &tail);
  EXPECT_EQ(days, (std::vector<int32_t>{day(2, 1)}));
  CustomerState copy = s;
  copy.TakeChangedParts(&days, &tail);
  EXPECT_EQ(tail, std::numeric_limits<int32_t>::min());
  EXPECT_EQ(days, (std::vector<int32_t>{day(2, 1)}));
  s.TakeChangedParts(&days, &tail);
  EXPECT_TRUE(days.empty());
  EXPECT_EQ(tail, day(3, 6));
}

// Property: after every step of a random stream (events of every kind, days
// out of order, duplicates, prunes, failed writes), a disk that got the head
// and only the changed parts (a part put, or deleted when the day holds
// nothing) holds exactly the parts of the state's days before its tail, and
// decodes to the live state and to what the whole-record encoding holds.
TEST(DayLayoutTest, OnlyTheChangedDaysKeepTheStoredPartsEqualToTheStateOnRandomStreams) {
  std::mt19937_64 rng(20261205);
  for (int round = 0; round < 40; ++round) {
    EventFactory ev("shop-1", absl::StrCat("c-", round));
    CustomerState live;
    std::string head;
    std::map<int32_t, std::string> disk;
    std::vector<v1::Event> sent;
    int32_t horizon = DayOf(Ms(2024, 1, 1));
    for (int step = 0; step < 60; ++step) {
      const int64_t t = Ms(2024, 1, 1) + static_cast<int64_t>(rng() % 120) * 86'400'000 +
                        static_cast<int64_t>(rng() % 86'400'000);
      v1::Event e;
      switch (rng() % 6) {
        case 0:
          e = ev.Purchase(
              t, {{"c" + std::to_string(rng() % 3), static_cast<uint32_t>(1 + rng() % 3), 2.5}});
          break;
        case 1:
          e = ev.Session(t, 1.25, 3, 1, static_cast<uint32_t>(rng() % 2));
          break;
        case 2:
          e = ev.Cart(t, static_cast<uint32_t>(rng() % 3));
          break;
        case 3:
          e = ev.Marketing(t, v1::MARKETING_ACTION_SENT);
          break;
        case 4:
          e = ev.Profile(t, v1::SERVICE_TIER_PREMIUM, true, Ms(2020, 1, 1));
          break;
        default:  // a re-sent event
          e = sent.empty() ? ev.Cart(t, 1) : sent[rng() % sent.size()];
          break;
      }
      if (DayOf(e.event_time_ms()) >= horizon) {
        live.Apply(e, 3);  // a small daily cap: rate-limited events change nothing
        sent.push_back(e);
      }
      if (rng() % 10 == 0) {
        horizon += 5;
        live.Prune(horizon);
      }
      if (rng() % 3 != 0) continue;  // several steps between two "flushes"
      std::vector<int32_t> days;
      int32_t tail = 0;
      live.TakeChangedParts(&days, &tail);
      if (rng() % 5 == 0) {  // the write failed: nothing reaches the disk
        live.RestoreChangedParts(days, tail);
        continue;
      }
      live.EncodeHead(&head);
      for (int32_t d : days) {
        std::string bytes;
        if (live.EncodeDay(d, &bytes)) {
          disk[d] = bytes;
        } else {
          disk.erase(d);
        }
      }
      EXPECT_EQ(disk, AllParts(live)) << "round " << round << " step " << step;
      for (const auto& [day, bytes] : disk) EXPECT_LT(day, live.TailStart());
      CustomerState back;
      ASSERT_TRUE(DecodeFrom(head, disk, &back).ok());
      EXPECT_EQ(back, live) << "round " << round << " step " << step;
      std::string whole;
      live.Encode(&whole);
      CustomerState from_whole;
      ASSERT_TRUE(CustomerState::Decode(whole, &from_whole).ok());
      EXPECT_EQ(back, from_whole);
    }
  }
}

TEST(DayLayoutTest, AWholeRecordOfEncodingV4IsReadWithNoPartYetAndCorruptionIsDataLoss) {
  EventFactory ev;
  CustomerState s;
  ASSERT_TRUE(s.Apply(ev.Purchase(Ms(2024, 1, 10), 10)));
  ASSERT_TRUE(s.Apply(ev.Session(Ms(2024, 1, 20), 1, 1, 0, 0)));
  ASSERT_TRUE(s.Apply(ev.Cart(Ms(2024, 3, 3), 1)));  // the head: February 26 on
  std::string whole;
  s.Encode(&whole);
  ASSERT_EQ(whole[0], 4);
  EXPECT_FALSE(CustomerState::IsHead(whole));
  CustomerState back;
  ASSERT_TRUE(CustomerState::DecodeParts(whole, {}, &back).ok());
  EXPECT_EQ(back, s);
  std::vector<int32_t> days;
  int32_t tail = 0;
  back.TakeChangedParts(&days, &tail);  // the next flush writes the earlier days as parts
  EXPECT_EQ(days, (std::vector<int32_t>{DayOf(Ms(2024, 1, 10)), DayOf(Ms(2024, 1, 20))}));
  std::vector<CustomerState::DayPart> one = {{DayOf(Ms(2024, 1, 10)), "\x01\x00"}};
  EXPECT_EQ(CustomerState::DecodeParts(whole, one, &back).code(), absl::StatusCode::kDataLoss);

  std::string head;
  s.EncodeHead(&head);
  std::map<int32_t, std::string> parts = AllParts(s);
  ASSERT_EQ(parts.size(), 2u);
  ASSERT_TRUE(DecodeFrom(head, parts, &back).ok());
  EXPECT_EQ(back, s);
  // A part of a day the head holds is corruption.
  std::map<int32_t, std::string> extra = parts;
  ASSERT_TRUE(s.EncodeDay(DayOf(Ms(2024, 3, 3)), &extra[DayOf(Ms(2024, 3, 3))]));
  EXPECT_EQ(DecodeFrom(head, extra, &back).code(), absl::StatusCode::kDataLoss);
  for (size_t cut = 0; cut < head.size(); ++cut)
    EXPECT_EQ(DecodeFrom(head.substr(0, cut), parts, &back).code(), absl::StatusCode::kDataLoss)
        << "head cut at " << cut;
  for (auto& [day, bytes] : parts) {
    const std::string full = bytes;
    for (size_t cut = 0; cut < full.size(); ++cut) {
      bytes = full.substr(0, cut);
      EXPECT_EQ(DecodeFrom(head, parts, &back).code(), absl::StatusCode::kDataLoss)
          << "day " << day << " cut at " << cut;
    }
    bytes = full + "x";
    EXPECT_EQ(DecodeFrom(head, parts, &back).code(), absl::StatusCode::kDataLoss);
    bytes = full;
  }
  std::vector<CustomerState::DayPart> reversed;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it)
    reversed.push_back({it->first, it->second});
  EXPECT_EQ(CustomerState::DecodeParts(head, reversed, &back).code(), absl::StatusCode::kDataLoss);
}

class DayLayoutStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<FeatureStore> Open(bool read_only = false) {
    FeatureStore::Options o;
    o.path = dir_.string();
    o.write_back = true;
    o.read_only = read_only;
    auto s = FeatureStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // Every "c" key of the store (heads and parts), straight from RocksDB.
  std::vector<std::string> CustomerKeys() {
    rocksdb::DB* raw = nullptr;
    rocksdb::Options o;
    EXPECT_TRUE(rocksdb::DB::OpenForReadOnly(o, dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::vector<std::string> keys;
    if (!db) return keys;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("c"); it->Valid() && it->key().starts_with("c"); it->Next())
      keys.push_back(it->key().ToString());
    return keys;
  }
  static std::string PartKey(const std::string& wire, int32_t day) {
    const uint32_t b = static_cast<uint32_t>(day) ^ 0x80000000u;
    return "c" + wire + std::string(1, '\0') + static_cast<char>(b >> 24) +
           static_cast<char>(b >> 16) + static_cast<char>(b >> 8) + static_cast<char>(b);
  }

  testing::TempDir tmp_{"recur-day-layout"};
  const fs::path dir_ = tmp_.path() / "store";
  const TopicPartition tp_{"shop.sessions", 0};
};

TEST_F(DayLayoutStoreTest, AFlushWritesTheChangedDayNotTheCustomersHistory) {
  // c-long has 300 days of sessions, c-short 10; then each gets one more
  // session on a new day, in a flush of its own (which also forgets the ids of
  // the day 7 days before: that day's part is rewritten too, for both).
  constexpr int64_t kDay = 86'400'000;
  const int64_t t0 = Ms(2024, 1, 1);
  EventFactory lng("shop-1", "c-long"), shrt("shop-1", "c-short");
  auto store = Open();
  std::vector<v1::Event> history;
  for (int d = 0; d < 300; ++d) history.push_back(lng.Session(t0 + d * kDay, 2.5, 4, 2, 0));
  for (int d = 290; d < 300; ++d) history.push_back(shrt.Session(t0 + d * kDay, 2.5, 4, 2, 0));
  ASSERT_TRUE(store->ApplyBatch(history, {{tp_, 301}}).ok());
  ASSERT_TRUE(store->Flush().ok());
  auto state = store->GetState({"shop-1", "c-long"});
  ASSERT_TRUE(state.ok());
  std::string whole;
  state->Encode(&whole);

  auto flush_one = [&](EventFactory& ev, int64_t offset) {
    const int64_t before = store->cache_stats().flushed_bytes;
    EXPECT_TRUE(store
                    ->ApplyBatch(std::vector{ev.Session(t0 + 300 * kDay + offset, 1, 1, 0, 0)},
                                 {{tp_, 302 + offset}})
                    .ok());
    EXPECT_TRUE(store->Flush().ok());
    return store->cache_stats().flushed_bytes - before;
  };
  const int64_t long_bytes = flush_one(lng, 0);
  const int64_t short_bytes = flush_one(shrt, 1);
  // The head, the new day's part, the offsets, times and watermark: the same
  // for both customers (within a few varint bytes), whatever their history.
  EXPECT_NEAR(static_cast<double>(long_bytes), static_cast<double>(short_bytes), 8);
  EXPECT_LT(long_bytes, static_cast<int64_t>(whole.size() / 4))
      << "the whole record is " << whole.size() << " bytes";

  // On disk: the head (holding days 294..300), then one part per earlier day,
  // in day order.
  store.reset();
  std::vector<std::string> keys;
  for (const std::string& k : CustomerKeys())
    if (k.starts_with("cshop-1/c-long")) keys.push_back(k);
  ASSERT_EQ(keys.size(), 1u + 294u);
  EXPECT_EQ(keys[0], "cshop-1/c-long");
  EXPECT_EQ(keys[1], PartKey("shop-1/c-long", DayOf(t0)));
  EXPECT_EQ(keys[294], PartKey("shop-1/c-long", DayOf(t0) + 293));
  auto reader = Open(/*read_only=*/true);
  auto back = reader->GetState({"shop-1", "c-long"});
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->days().size(), 301u);
}

TEST_F(DayLayoutStoreTest, PrunedPartsAreDeletedAndScansPageOverWholeCustomers) {
  // Three customers with carts on three days, c-2 a session 20 days later
  // too; then c-2 and c-3 get an event 410 days later, so the default 400-day
  // horizon prunes their first days.
  auto store = Open();
  std::vector<v1::Event> events;
  for (const char* c : {"c-1", "c-2", "c-3"}) {
    EventFactory ev("shop-1", c);
    for (int d = 0; d < 3; ++d) events.push_back(ev.Cart(Ms(2024, 1, 1) + d * 86'400'000LL, 1));
    if (std::string(c) == "c-2") events.push_back(ev.Session(Ms(2024, 1, 21), 1, 1, 0, 0));
  }
  ASSERT_TRUE(store->ApplyBatch(events, {{tp_, 10}}).ok());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(store->cache_stats().flushed_customers, 3);
  // c-1 and c-3: a head holding their three days; c-2: a head holding January
  // 21, and its three earlier days as parts.
  EXPECT_EQ(CustomerKeys().size(), 6u);
  // Pages of one customer each visit every customer once, with all its days.
  std::string after;
  std::vector<std::string> visited;
  for (int page = 0; page < 4; ++page) {
    auto next = store->ledger().ScanPage(
        after, 1, [&](const CustomerKey& k, const CustomerState& s, const std::string*) {
          visited.push_back(k.Encode());
          EXPECT_EQ(s.days().size(), k.customer_id == "c-2" ? 4u : 3u) << k.Encode();
          return absl::OkStatus();
        });
    ASSERT_TRUE(next.ok()) << next.status();
    after = *next;
    if (after.empty()) break;
  }
  EXPECT_EQ(visited, (std::vector<std::string>{"shop-1/c-1", "shop-1/c-2", "shop-1/c-3"}));

  // c-2's cart forgets its old carts' ids too: its pruned days hold nothing
  // and their parts are deleted. c-3's session leaves the old carts' ids (a
  // kind forgets its ids only at its own later events): those days keep their
  // ids, not their pruned buckets, and become parts as the head moves on.
  EventFactory late("shop-1", "late");
  v1::Event e = late.Cart(Ms(2024, 1, 1) + 410 * 86'400'000LL, 1);
  e.set_customer_id("c-2");
  v1::Event visit = late.Session(Ms(2024, 1, 1) + 410 * 86'400'000LL, 1, 1, 0, 0);
  visit.set_customer_id("c-3");
  ASSERT_TRUE(store->ApplyBatch(std::vector{e, visit}, {{tp_, 11}}).ok());
  ASSERT_TRUE(store->Flush().ok());
  store.reset();
  std::map<std::string, int> per_customer;
  for (const std::string& k : CustomerKeys()) ++per_customer[k.substr(0, k.find('\0'))];
  EXPECT_EQ(per_customer["cshop-1/c-2"], 2);  // the head (the new day), January 21
  EXPECT_EQ(per_customer["cshop-1/c-1"], 1);
  EXPECT_EQ(per_customer["cshop-1/c-3"], 4);  // the head and three parts of ids
  auto reader = Open(/*read_only=*/true);
  for (const char* c : {"c-2", "c-3"}) {
    auto state = reader->GetState({"shop-1", c});
    ASSERT_TRUE(state.ok());
    ASSERT_FALSE(state->days().empty());
    EXPECT_EQ(state->days().size(), std::string(c) == "c-2" ? 2u : 1u) << c;
    EXPECT_EQ(state->days().back().day, DayOf(e.event_time_ms())) << c;
  }
}

TEST_F(DayLayoutStoreTest, AStoreOfWholeRecordsIsReadAndRewrittenAsPartsWhenChanged) {
  EventFactory ev;
  CustomerState before;
  const v1::Event a = ev.Purchase(Ms(2024, 1, 10), 10), b = ev.Session(Ms(2024, 1, 20), 1, 1, 0, 0);
  ASSERT_TRUE(before.Apply(a));
  ASSERT_TRUE(before.Apply(b));
  {
    auto store = Open();  // creates the store (format marker, retention)
    ASSERT_TRUE(store->ApplyBatch(std::vector{a}, {{tp_, 1}}).ok());
    ASSERT_TRUE(store->Flush().ok());
  }
  {
    // What an older recur wrote: one whole record (encoding v4) under the key.
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    std::string whole;
    before.Encode(&whole);
    rocksdb::WriteBatch batch;
    batch.Put("cshop-1/c-1", whole);
    ASSERT_TRUE(db->Write(rocksdb::WriteOptions(), &batch).ok());
  }
  ASSERT_EQ(CustomerKeys().size(), 1u);
  auto store = Open();
  auto read = store->GetState({"shop-1", "c-1"});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(*read, before);
  // A re-sent event is still a duplicate (the ids came with the record).
  FeatureStore::ApplyStats stats;
  const v1::Event c = ev.Cart(Ms(2024, 3, 3), 1);
  ASSERT_TRUE(store->ApplyBatch(std::vector{b, c}, {{tp_, 3}}, &stats).ok());
  EXPECT_EQ(stats.duplicates, 1);
  ASSERT_TRUE(store->Flush().ok());
  store.reset();
  // The head (with March 3) and the two earlier days as parts.
  EXPECT_EQ(CustomerKeys(),
            (std::vector<std::string>{"cshop-1/c-1", PartKey("shop-1/c-1", DayOf(Ms(2024, 1, 10))),
                                      PartKey("shop-1/c-1", DayOf(Ms(2024, 1, 20)))}));
  ASSERT_TRUE(before.Apply(c));
  auto reader = Open(/*read_only=*/true);
  auto after = reader->GetState({"shop-1", "c-1"});
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, before);
}

}  // namespace
}  // namespace recur
