// EventTimeWatermark alone, then inside a FeatureStore: the k-th largest event
// time, deaf to one outlier, moved by k events past it, independent of the
// order the events came in, stored with the offsets (reopen, an old store).
#include "featurestore/watermark.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <random>

#include "featurestore/feature_store.h"
#include "rocksdb/db.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;

TEST(EventTimeWatermarkTest, IsTheKthLargestAndZeroUntilKEvents) {
  EventTimeWatermark w;
  w.Add(10);
  w.Add(30);
  w.Add(20);
  EXPECT_EQ(w.Kth(1), 30);
  EXPECT_EQ(w.Kth(3), 10);
  EXPECT_EQ(w.Kth(4), 0);
  EXPECT_EQ(w.Kth(0), 0);
}

TEST(EventTimeWatermarkTest, OneOutlierDoesNotMoveItKEventsDo) {
  EventTimeWatermark w;
  for (int d = 1; d <= 31; ++d) w.Add(Ms(2024, 1, d));
  const int64_t jan31 = Ms(2024, 1, 31);
  w.Add(jan31 + 20 * 3'600'000LL);                             // 20 h ahead: Feb 1, 08:00
  EXPECT_EQ(w.Kth(kDefaultWatermarkEvents), Ms(2024, 1, 29));  // the outlier, Jan 31, 30, 29
  EXPECT_EQ(w.Kth(1), jan31 + 20 * 3'600'000LL);               // k = 1 is the max, outlier and all
  for (int i = 0; i < kDefaultWatermarkEvents - 1; ++i) w.Add(Ms(2024, 2, 1, 1));
  EXPECT_EQ(DayOf(w.Kth(kDefaultWatermarkEvents)), DayOf(Ms(2024, 2, 1)));
}

TEST(EventTimeWatermarkTest, DependsOnTheSetOfTimesNotTheirOrderAndRoundTrips) {
  std::vector<int64_t> times;
  std::mt19937_64 rng(3);
  for (int i = 0; i < 500; ++i) times.push_back(static_cast<int64_t>(rng() % 1'000'000));
  EventTimeWatermark a, b;
  for (int64_t t : times) a.Add(t);
  std::shuffle(times.begin(), times.end(), rng);
  for (int64_t t : times) b.Add(t);
  EXPECT_EQ(a, b);
  std::sort(times.rbegin(), times.rend());
  for (int k = 1; k <= EventTimeWatermark::kKept; ++k) EXPECT_EQ(a.Kth(k), times[k - 1]) << k;
  auto decoded = EventTimeWatermark::Decode(a.Encode());
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(*decoded, a);
  EXPECT_FALSE(EventTimeWatermark::Decode("1234567").has_value());
  EXPECT_FALSE(EventTimeWatermark::Decode(std::string(8 * 33, '\0')).has_value());
}

class StoreWatermarkTest : public ::testing::Test {
 protected:
  std::unique_ptr<FeatureStore> Open(int32_t k, bool write_back = false) {
    FeatureStore::Options o;
    o.path = (tmp_.path() / "store").string();
    o.watermark_events = k;
    o.write_back = write_back;
    auto s = FeatureStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  testing::TempDir tmp_;
  const TopicPartition tp_{"shop.purchases", 0};
};

TEST_F(StoreWatermarkTest, CountsAppliedEventsOnceAndSurvivesReopen) {
  EventFactory a("shop-1", "a"), b("shop-1", "b");
  {
    auto store = Open(3);
    const v1::Event outlier = a.Purchase(Ms(2024, 3, 2, 8), 1);
    std::vector<v1::Event> batch = {b.Purchase(Ms(2024, 3, 1, 9), 1),
                                    b.Purchase(Ms(2024, 3, 1, 10), 1), outlier, outlier, outlier};
    ASSERT_TRUE(store->ApplyBatch(batch, {{tp_, 5}}).ok());
    // The outlier three times is one event: the watermark is the third largest.
    EXPECT_EQ(store->watermark_ms(), Ms(2024, 3, 1, 9));
    EXPECT_EQ(store->max_event_time_ms(), Ms(2024, 3, 2, 8));
  }
  auto store = Open(3, /*write_back=*/true);
  EXPECT_EQ(store->watermark_ms(), Ms(2024, 3, 1, 9));
  ASSERT_TRUE(store
                  ->ApplyBatch(std::vector<v1::Event>{b.Purchase(Ms(2024, 3, 2, 1), 1),
                                                      b.Purchase(Ms(2024, 3, 2, 2), 1)},
                               {{tp_, 7}})
                  .ok());
  EXPECT_EQ(store->watermark_ms(), Ms(2024, 3, 2, 1));
  store.reset();  // write-back: the destructor's flush writes it with the offsets
  EXPECT_EQ(Open(3)->watermark_ms(), Ms(2024, 3, 2, 1));
  EXPECT_EQ(Open(1)->watermark_ms(), Ms(2024, 3, 2, 8));  // k is the reader's; all times are kept
}

TEST_F(StoreWatermarkTest, AStoreWrittenBeforeTheWatermarkKeepsItsMaxAsTheWatermark) {
  EventFactory a("shop-1", "a");
  {
    auto store = Open(1);
    ASSERT_TRUE(
        store->ApplyBatch(std::vector<v1::Event>{a.Purchase(Ms(2024, 3, 1), 1)}, {{tp_, 1}}).ok());
  }
  {  // what an older recur wrote: no "m:watermark" entry
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), (tmp_.path() / "store").string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), "m:watermark").ok());
  }
  EXPECT_EQ(Open(kDefaultWatermarkEvents)->watermark_ms(), Ms(2024, 3, 1));
}

TEST_F(StoreWatermarkTest, RefusesAKItCanNotAnswer) {
  FeatureStore::Options o;
  o.path = (tmp_.path() / "store").string();
  o.watermark_events = EventTimeWatermark::kKept + 1;
  EXPECT_EQ(FeatureStore::Open(o).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace recur
