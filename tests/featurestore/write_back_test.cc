// FeatureStore's write-back mode (Options::write_back): batches change only the
// cached states until Flush(), which writes the changed customers, the offsets,
// stream times, pending marks and last scores in one WriteBatch. Checked with a
// second, read-only reader of the same RocksDB directory (what a restart after
// kill -9 would see), and against write-through stores fed the same batches.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <future>
#include <map>
#include <span>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/sync_point.h"
#include "featurestore/feature_store.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;
namespace fs = std::filesystem;

class WriteBackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("recur-wb-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<FeatureStore> Open(const fs::path& path, bool write_back, bool read_only = false,
                                     size_t cache_bytes = size_t{1} << 30) {
    FeatureStore::Options o;
    o.path = path.string();
    o.write_back = write_back;
    o.read_only = read_only;
    o.mark_pending = !read_only;
    o.cache_bytes = cache_bytes;
    auto s = FeatureStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  // What a process opening the directory now would find: offsets, customers.
  OffsetMap DurableOffsets() {
    auto reader = Open(dir_, false, /*read_only=*/true);
    if (reader == nullptr) return {};
    auto o = reader->ReadOffsets();
    EXPECT_TRUE(o.ok());
    return o.ok() ? *o : OffsetMap{};
  }
  fs::path dir_;
  const TopicPartition tp_{"shop.purchases", 0};
  const CustomerKey c1_{"shop-1", "c-1"};
};

TEST_F(WriteBackTest, BatchesAreDurableOnlyAtAFlushAndThenAllTogether) {
  EventFactory ev;  // shop-1/c-1
  auto store = Open(dir_, /*write_back=*/true);
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5)}, {{tp_, 2}}).ok());
  // The live store sees what it applied; the disk has nothing yet.
  EXPECT_EQ(*store->ReadOffsets(), (OffsetMap{{tp_, 2}}));
  auto f = store->ComputeFeatures(c1_, Ms(2024, 3, 2));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)[kOrders30d], 2);
  EXPECT_EQ(DurableOffsets(), OffsetMap{});
  EXPECT_EQ(store->cache_stats().dirty_entries, 1);
  EXPECT_EQ(store->cache_stats().batches_since_flush, 2);

  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(DurableOffsets(), (OffsetMap{{tp_, 2}}));
  EXPECT_EQ(store->cache_stats().dirty_entries, 0);
  EXPECT_EQ(store->cache_stats().flushed_customers, 1);  // one record for two batches
  auto reader = Open(dir_, false, /*read_only=*/true);
  auto g = reader->ComputeFeatures(c1_, Ms(2024, 3, 2));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ((*g)[kOrders30d], 2);
  EXPECT_EQ(reader->max_event_time_ms(), Ms(2024, 3, 2));
}

TEST_F(WriteBackTest, ScoresAndPendingMarksLandWithTheNextFlush) {
  EventFactory ev;
  auto store = Open(dir_, /*write_back=*/true);
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
  ASSERT_TRUE(store->Flush().ok());  // c-1 is owed a score at this flush: marked pending
  {
    auto reader = Open(dir_, false, true);
    EXPECT_EQ(*reader->ledger().ReadPending(), std::vector<CustomerKey>{c1_});
  }
  ASSERT_TRUE(store->ledger().Commit({{c1_, "score-bytes"}}, {c1_}, {{"day", "19800"}}).ok());
  // The live ledger answers at once; the disk learns it at the next flush.
  EXPECT_EQ(*store->ledger().GetLastScore(c1_), "score-bytes");
  EXPECT_EQ(*store->ledger().GetMeta("day"), "19800");
  EXPECT_TRUE(store->ledger().ReadPending()->empty());
  {
    auto reader = Open(dir_, false, true);
    EXPECT_EQ(*reader->ledger().ReadPending(), std::vector<CustomerKey>{c1_});
    EXPECT_EQ(reader->ledger().GetLastScore(c1_).status().code(), absl::StatusCode::kNotFound);
  }
  ASSERT_TRUE(store->Flush().ok());
  auto reader = Open(dir_, false, true);
  EXPECT_TRUE(reader->ledger().ReadPending()->empty());
  EXPECT_EQ(*reader->ledger().GetLastScore(c1_), "score-bytes");
  EXPECT_EQ(*reader->ledger().GetMeta("day"), "19800");
}

// A flush encodes and writes under the shared lock: readers on other threads
// answer while it writes (they would deadlock here if the flush held the store
// exclusively), and they see every applied batch. A ledger Commit arriving
// meanwhile is not lost when the flush marks its own entries written.
TEST_F(WriteBackTest, ReadersAnswerWhileAFlushWritesAndACommitMeanwhileIsKept) {
  EventFactory ev;  // shop-1/c-1
  EventFactory ev2("shop-1", "c-2");
  const CustomerKey c2{"shop-1", "c-2"};
  auto store = Open(dir_, /*write_back=*/true);
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE(
      store
          ->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5), ev2.Purchase(Ms(2024, 3, 2), 7)},
                       {{tp_, 3}})
          .ok());
  ASSERT_TRUE(store->ledger().Commit({{c1_, "first"}}, {}, {}).ok());

  int flushes_seen = 0;
  double orders_during = -1;
  OffsetMap offsets_during, durable_during;
  std::string score_during;
  int64_t dirty_during = -1;
  std::thread committer;
  SyncPoint::Get()->SetCallBack("FeatureStore::BeforeFlushWrite", [&](void*) {
    if (++flushes_seen != 1) return;
    std::thread reader([&] {
      auto f = store->ComputeFeatures(c1_, Ms(2024, 3, 2));
      if (f.ok()) orders_during = (*f)[kOrders30d];
      offsets_during = *store->ReadOffsets();
      score_during = store->ledger().GetLastScore(c1_).value_or("");
      dirty_during = store->cache_stats().dirty_entries;
      EXPECT_TRUE(
          store->ReadState(c2, [](const CustomerState& s) { EXPECT_FALSE(s.empty()); }).ok());
    });
    reader.join();
    durable_during = DurableOffsets();
    committer = std::thread([&] {
      EXPECT_TRUE(store->ledger().Commit({{c2, "second"}}, {}, {}).ok());
    });
  });
  SyncPoint::Get()->EnableProcessing();
  ASSERT_TRUE(store->Flush().ok());
  committer.join();
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();

  EXPECT_EQ(flushes_seen, 1);
  EXPECT_EQ(orders_during, 2);  // both batches, while the disk had only the first
  EXPECT_EQ(offsets_during, (OffsetMap{{tp_, 3}}));
  EXPECT_EQ(durable_during, (OffsetMap{{tp_, 1}}));
  EXPECT_EQ(score_during, "first");
  EXPECT_EQ(dirty_during, 2);
  EXPECT_EQ(store->cache_stats().dirty_entries, 0);
  // The commit that waited is live now and lands with the next flush.
  EXPECT_EQ(*store->ledger().GetLastScore(c2), "second");
  ASSERT_TRUE(store->Flush().ok());
  store.reset();
  auto reader = Open(dir_, false, /*read_only=*/true);
  EXPECT_EQ(*reader->ledger().GetLastScore(c1_), "first");
  EXPECT_EQ(*reader->ledger().GetLastScore(c2), "second");
  EXPECT_EQ(*reader->ReadOffsets(), (OffsetMap{{tp_, 3}}));
}

// A flush holds the writers only while it takes its cut. A batch and a
// ledger Commit on another thread complete between the cut and the write
// (they would deadlock here if they waited for the flush), and the flush
// writes the cut as it was taken: c-1, changed by the later batch before the
// flush encoded it, is written with its state at the cut (copy-on-write),
// with the cut's offsets; c-3 and the later score wait for the next flush.
TEST_F(WriteBackTest, BatchesAndCommitsGoOnDuringAFlushWhichWritesItsCut) {
  EventFactory ev;  // shop-1/c-1
  EventFactory ev2("shop-1", "c-2"), ev3("shop-1", "c-3");
  const CustomerKey c2{"shop-1", "c-2"}, c3{"shop-1", "c-3"};
  auto store = Open(dir_, /*write_back=*/true);
  ASSERT_TRUE(store
                  ->ApplyBatch(
                      std::vector{ev.Purchase(Ms(2024, 3, 1), 10), ev2.Purchase(Ms(2024, 3, 1), 7)},
                      {{tp_, 2}})
                  .ok());
  ASSERT_TRUE(store->ledger().Commit({{c1_, "first"}}, {}, {}).ok());

  int cuts = 0;
  bool applied_during = false, committed_during = false;
  double orders_during = -1;
  SyncPoint::Get()->SetCallBack("FeatureStore::AfterFlushCut", [&](void*) {
    if (++cuts != 1) return;
    std::thread writer([&] {
      applied_during = store
                           ->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5),
                                                    ev3.Purchase(Ms(2024, 3, 2), 3)},
                                        {{tp_, 4}})
                           .ok();
      committed_during = store->ledger().Commit({{c2, "second"}}, {}, {}).ok();
      auto f = store->ComputeFeatures(c1_, Ms(2024, 3, 2));
      if (f.ok()) orders_during = (*f)[kOrders30d];
    });
    writer.join();
  });
  SyncPoint::Get()->EnableProcessing();
  ASSERT_TRUE(store->Flush().ok());
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  EXPECT_EQ(cuts, 1);
  EXPECT_TRUE(applied_during);
  EXPECT_TRUE(committed_during);
  EXPECT_EQ(orders_during, 2);  // the live store has the later batch

  auto durable = [&](std::map<std::string, std::string>* scores) {
    auto reader = Open(dir_, false, /*read_only=*/true);
    for (const CustomerKey* k : {&c1_, &c2, &c3}) {
      (*scores)[k->Encode()] = reader->ledger().GetLastScore(*k).value_or("-");
    }
    std::vector<double> orders;  // -1: NotFound
    for (const CustomerKey* k : {&c1_, &c2, &c3}) {
      auto f = reader->ComputeFeatures(*k, Ms(2024, 3, 2));
      EXPECT_TRUE(f.ok() || absl::IsNotFound(f.status())) << f.status();
      orders.push_back(f.ok() ? (*f)[kOrders30d] : -1);
    }
    return std::make_pair(*reader->ReadOffsets(), orders);
  };
  std::map<std::string, std::string> scores;
  auto [offsets, orders] = durable(&scores);
  EXPECT_EQ(offsets, (OffsetMap{{tp_, 2}}));
  EXPECT_EQ(orders, (std::vector<double>{1, 1, -1}));
  EXPECT_EQ(scores, (std::map<std::string, std::string>{
                        {"shop-1/c-1", "first"}, {"shop-1/c-2", "-"}, {"shop-1/c-3", "-"}}));
  // The later batch and score are live and unflushed, and land with the next flush.
  EXPECT_EQ(*store->ReadOffsets(), (OffsetMap{{tp_, 4}}));
  EXPECT_EQ(*store->ledger().GetLastScore(c2), "second");
  EXPECT_EQ(store->cache_stats().dirty_entries, 2);  // c-1 again, c-3
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(store->cache_stats().dirty_entries, 0);
  scores.clear();
  auto [offsets2, orders2] = durable(&scores);
  EXPECT_EQ(offsets2, (OffsetMap{{tp_, 4}}));
  EXPECT_EQ(orders2, (std::vector<double>{2, 1, 1}));
  EXPECT_EQ(scores["shop-1/c-2"], "second");
}

// A batch reads the records of customers it does not have cached without
// holding the store: a reader meanwhile finds such a customer's stored state
// (not "unknown"), and the batch's change once it is applied.
TEST_F(WriteBackTest, ACustomerBeingLoadedByABatchIsReadFromItsRecord) {
  EventFactory ev;  // shop-1/c-1
  {
    auto first = Open(dir_, /*write_back=*/true);
    ASSERT_TRUE(first->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
    ASSERT_TRUE(first->Flush().ok());
  }
  auto store = Open(dir_, /*write_back=*/true);  // nothing cached
  double orders_during = -1;
  int64_t entries_during = -1;
  SyncPoint::Get()->SetCallBack("FeatureStore::WhileLoading", [&](void*) {
    std::thread reader([&] {
      auto f = store->ComputeFeatures(c1_, Ms(2024, 3, 2));
      EXPECT_TRUE(f.ok()) << f.status();
      if (f.ok()) orders_during = (*f)[kOrders30d];
      entries_during = store->cache_stats().entries;
    });
    reader.join();
  });
  SyncPoint::Get()->EnableProcessing();
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5)}, {{tp_, 2}}).ok());
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  EXPECT_EQ(entries_during, 1);  // entered, being read
  EXPECT_EQ(orders_during, 1);   // its record
  EXPECT_EQ((*store->ComputeFeatures(c1_, Ms(2024, 3, 2)))[kOrders30d], 2);
  EXPECT_EQ(store->cache_stats().loads, 1);
}

TEST_F(WriteBackTest, ScanPagesVisitFlushedCustomersOnceWithTheirCurrentStateAndScore) {
  // Five customers flushed, then c-2 changed and c-4 scored without a flush, and
  // c-9 created without one: pages of two visit c-1..c-5 in key order, once
  // each, c-2 with its cached state, c-4 with the delivered score; c-9 (never
  // flushed) is not visited.
  auto store = Open(dir_, /*write_back=*/true);
  std::vector<v1::Event> events;
  EventFactory c2("shop-1", "c-2"), c9("shop-1", "c-9");
  for (int i = 1; i <= 5; ++i) {
    events.push_back(
        i == 2 ? c2.Purchase(Ms(2024, 3, 1), i)
               : EventFactory("shop-1", "c-" + std::to_string(i)).Purchase(Ms(2024, 3, 1), i));
  }
  ASSERT_TRUE(store->ApplyBatch(events, {{tp_, 5}}).ok());
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE(
      store
          ->ApplyBatch(std::vector{c2.Purchase(Ms(2024, 3, 2), 7), c9.Purchase(Ms(2024, 3, 2), 9)},
                       {{tp_, 7}})
          .ok());
  const CustomerKey c4{"shop-1", "c-4"};
  ASSERT_TRUE(store->ledger().Commit({{c4, "score-of-c-4"}}, {}, {}).ok());

  std::vector<std::string> visited, pages;
  std::map<std::string, double> orders;
  std::map<std::string, std::string> scores;
  std::string cursor;
  do {
    auto next = store->ledger().ScanPage(
        cursor, 2, [&](const CustomerKey& k, const CustomerState& st, const std::string* last) {
          visited.push_back(k.Encode());
          orders[k.Encode()] =
              st.ComputeFeatures(Ms(2024, 3, 3), 0).values[FeatureIndex("orders_lifetime")];
          if (last != nullptr) scores[k.Encode()] = *last;
          return absl::OkStatus();
        });
    ASSERT_TRUE(next.ok()) << next.status();
    cursor = *next;
    pages.push_back(cursor);
  } while (!cursor.empty());
  EXPECT_EQ(visited, (std::vector<std::string>{"shop-1/c-1", "shop-1/c-2", "shop-1/c-3",
                                               "shop-1/c-4", "shop-1/c-5"}));
  EXPECT_EQ(pages, (std::vector<std::string>{"shop-1/c-2", "shop-1/c-4", ""}));
  EXPECT_EQ(orders["shop-1/c-2"], 2.0);  // the cached state: both purchases
  EXPECT_EQ(orders["shop-1/c-1"], 1.0);
  EXPECT_EQ(scores, (std::map<std::string, std::string>{{"shop-1/c-4", "score-of-c-4"}}));
}

TEST_F(WriteBackTest, ACustomerScoredBeforeTheFlushIsNeverMarkedPendingOnDisk) {
  EventFactory ev;
  auto store = Open(dir_, /*write_back=*/true);
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
  ASSERT_TRUE(store->ledger().Commit({{c1_, "s"}}, {c1_}, {}).ok());
  ASSERT_TRUE(store->Flush().ok());
  auto reader = Open(dir_, false, true);
  EXPECT_TRUE(reader->ledger().ReadPending()->empty());
  EXPECT_EQ(*reader->ledger().GetLastScore(c1_), "s");
}

TEST_F(WriteBackTest, ADeliveredScoreDoesNotClearTheMarkOfALaterTouch) {
  // c-1 is scored after batch 1; batch 2 touches it again before that score is
  // delivered. The delivery of the first score must leave c-1 pending: the
  // score for batch 2 is still owed (a crash now must re-score it).
  EventFactory ev;
  for (bool write_back : {true, false}) {
    const fs::path path = dir_ / (write_back ? "back" : "through");
    fs::create_directories(dir_);
    auto store = Open(path, write_back);
    ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
    const uint64_t first_scored_at = store->applied_batches();
    ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5)}, {{tp_, 2}}).ok());
    ASSERT_TRUE(store->ledger().Commit({{c1_, "first"}}, {c1_}, {}, first_scored_at).ok());
    ASSERT_TRUE(store->Flush().ok());
    EXPECT_EQ(*store->ledger().ReadPending(), std::vector<CustomerKey>{c1_}) << write_back;
    {
      auto reader = Open(path, false, true);
      EXPECT_EQ(*reader->ledger().ReadPending(), std::vector<CustomerKey>{c1_}) << write_back;
      EXPECT_EQ(*reader->ledger().GetLastScore(c1_), "first");
    }
    ASSERT_TRUE(
        store->ledger().Commit({{c1_, "second"}}, {c1_}, {}, store->applied_batches()).ok());
    ASSERT_TRUE(store->Flush().ok());
    auto reader = Open(path, false, true);
    EXPECT_TRUE(reader->ledger().ReadPending()->empty()) << write_back;
    EXPECT_EQ(*reader->ledger().GetLastScore(c1_), "second");
  }
}

TEST_F(WriteBackTest, SameStateAsWriteThroughWhateverTheFlushCadence) {
  // 40 batches over 300 customers, flushed every 7 batches, against a
  // write-through store fed the same batches: equal states and offsets after
  // every flush, and again after reopening.
  fs::create_directories(dir_);
  auto through = Open(dir_ / "through", false);
  auto back = Open(dir_ / "back", true);
  for (int k = 0; k < 40; ++k) {
    std::vector<v1::Event> batch;
    for (int i = 0; i < 50; ++i) {
      EventFactory ev("shop-1", "c-" + std::to_string((k * 37 + i * 11) % 300));
      v1::Event e = i % 3 == 0 ? ev.Session(Ms(2024, 3, 1) + k * 3'600'000 + i, 2, 1, 0, 0)
                               : ev.Purchase(Ms(2024, 3, 1) + k * 3'600'000 + i, 1.0 + i);
      e.set_event_id("e" + std::to_string((k * 50 + i) % 1900));  // some duplicates
      batch.push_back(std::move(e));
    }
    FeatureStore::ApplyStats a, b;
    ASSERT_TRUE(through->ApplyBatch(batch, {{tp_, k + 1}}, &a).ok());
    ASSERT_TRUE(back->ApplyBatch(batch, {{tp_, k + 1}}, &b).ok());
    EXPECT_EQ(a.applied, b.applied);
    EXPECT_EQ(a.duplicates, b.duplicates);
    EXPECT_EQ(a.touched, b.touched);
    if (k % 7 == 6) {
      ASSERT_TRUE(back->Flush().ok());
      EXPECT_EQ(testing::EncodedStates(through.get()), testing::EncodedStates(back.get()))
          << "after batch " << k;
    }
  }
  back.reset();  // closing flushes what is left
  back = Open(dir_ / "back", true);
  EXPECT_EQ(testing::EncodedStates(through.get()), testing::EncodedStates(back.get()));
  EXPECT_EQ(*back->ReadOffsets(), (OffsetMap{{tp_, 40}}));
}

// A flush evicts only when no batch is between finding its customers and
// applying to them: here a flush on another thread gets to its eviction while
// a batch reads c-2 from RocksDB (c-1 cached and, once flushed, clean); with a
// budget of one byte every clean customer goes, yet the batch's changes to
// both stay (evicted under it, they would be lost or written to freed memory).
TEST_F(WriteBackTest, AFlushDoesNotEvictTheCustomersOfABatchUnderWay) {
  EventFactory ev;  // shop-1/c-1
  EventFactory ev2("shop-1", "c-2");
  const CustomerKey c2{"shop-1", "c-2"};
  auto store = Open(dir_, /*write_back=*/true, /*read_only=*/false, /*cache_bytes=*/1);
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
  std::thread flusher;
  std::promise<void> at_evict;
  bool evict_seen = false;
  SyncPoint::Get()->SetCallBack("FeatureStore::WhileLoading", [&](void*) {
    flusher = std::thread([&] { EXPECT_TRUE(store->Flush().ok()); });
    at_evict.get_future().wait();  // the flush is written and about to evict
  });
  SyncPoint::Get()->SetCallBack("FeatureStore::BeforeFlushEvict", [&](void*) {
    if (evict_seen) return;
    evict_seen = true;
    at_evict.set_value();
  });
  SyncPoint::Get()->EnableProcessing();
  ASSERT_TRUE(
      store
          ->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5), ev2.Purchase(Ms(2024, 3, 2), 7)},
                       {{tp_, 3}})
          .ok());
  flusher.join();
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  EXPECT_EQ((*store->ComputeFeatures(c1_, Ms(2024, 3, 2)))[kOrders30d], 2);
  EXPECT_EQ((*store->ComputeFeatures(c2, Ms(2024, 3, 2)))[kOrders30d], 1);
  ASSERT_TRUE(store->Flush().ok());
  store.reset();
  auto reader = Open(dir_, false, /*read_only=*/true);
  EXPECT_EQ((*reader->ComputeFeatures(c1_, Ms(2024, 3, 2)))[kOrders30d], 2);
  EXPECT_EQ((*reader->ComputeFeatures(c2, Ms(2024, 3, 2)))[kOrders30d], 1);
  EXPECT_EQ(*reader->ReadOffsets(), (OffsetMap{{tp_, 3}}));
}

TEST_F(WriteBackTest, TheCacheStaysWithinItsBudgetAndEvictedCustomersReload) {
  constexpr size_t kBudget = 256 << 10;
  auto store = Open(dir_, true, false, kBudget);
  for (int k = 0; k < 10; ++k) {
    std::vector<v1::Event> batch;
    for (int i = 0; i < 500; ++i) {
      EventFactory ev("shop-1", "c-" + std::to_string(k * 500 + i));
      batch.push_back(ev.Purchase(Ms(2024, 3, 1) + k, 3));
    }
    ASSERT_TRUE(store->ApplyBatch(batch, {{tp_, k + 1}}).ok());
    ASSERT_TRUE(store->Flush().ok());
    EXPECT_LE(store->cache_stats().bytes, static_cast<int64_t>(kBudget));
  }
  EXPECT_GT(store->cache_stats().evictions, 0);
  // The first customers were evicted long ago: read back from RocksDB, and
  // applying to them again starts from their stored state.
  auto f = store->ComputeFeatures({"shop-1", "c-0"}, Ms(2024, 3, 1));
  ASSERT_TRUE(f.ok());
  EXPECT_EQ((*f)[kOrders30d], 1);
  EventFactory again("shop-1", "c-0");
  v1::Event first = again.Purchase(Ms(2024, 3, 1), 3);  // the same id as before: a duplicate
  v1::Event next = again.Purchase(Ms(2024, 3, 2), 3);
  FeatureStore::ApplyStats st;
  ASSERT_TRUE(store->ApplyBatch(std::vector{first, next}, {{tp_, 11}}, &st).ok());
  EXPECT_EQ(st.duplicates, 1);
  EXPECT_EQ(st.applied, 1);
  EXPECT_EQ((*store->ComputeFeatures({"shop-1", "c-0"}, Ms(2024, 3, 2)))[kOrders30d], 2);
}

TEST_F(WriteBackTest, AFailedBatchLeavesEveryCachedStateAsItWas) {
  EventFactory ev;
  auto store = Open(dir_, true);
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
  v1::Event bad = ev.Purchase(Ms(2024, 3, 2), 5);
  bad.set_shop_id("");
  EXPECT_EQ(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5), bad}, {{tp_, 3}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*store->ReadOffsets(), (OffsetMap{{tp_, 1}}));
  EXPECT_EQ((*store->ComputeFeatures(c1_, Ms(2024, 3, 2)))[kOrders30d], 1);
}

TEST_F(WriteBackTest, ABotBeyondTheDailyCapIsLeftOutTheSameWayInAnyBatching) {
  // A bot's 500 visits of c-1 in one day among 100 purchases of 10 others, cap
  // 50 per customer, kind and day: whatever the batch size and write mode, the
  // 450 visits after the 50th are the rate_limited ones (named by their index in
  // their batch) and every stored state is byte-identical.
  std::vector<v1::Event> stream;
  std::vector<bool> bot;
  EventFactory bot_ev("shop-1", "c-1");
  for (int i = 0; i < 600; ++i) {
    const bool is_bot = i % 6 != 5;
    if (is_bot) {
      stream.push_back(bot_ev.Session(Ms(2024, 3, 3, 9) + i * 1000, 1, 1, 0, 0));
    } else {
      EventFactory other("shop-1", "c-" + std::to_string(100 + i % 20));
      stream.push_back(other.Purchase(Ms(2024, 3, 3, 10), 5));
      stream.back().set_event_id("purchase-" + std::to_string(i));
    }
    bot.push_back(is_bot);
  }
  std::vector<size_t> expected_limited;  // global indexes: the bot's visits after its 50th
  for (size_t i = 0, visits = 0; i < stream.size(); ++i) {
    if (bot[i] && ++visits > 50) expected_limited.push_back(i);
  }
  ASSERT_EQ(expected_limited.size(), 450u);
  std::map<std::string, std::string> reference;
  int run = 0;
  for (bool write_back : {false, true}) {
    for (size_t batch : {size_t{1}, size_t{7}, size_t{600}}) {
      const fs::path path = dir_ / std::to_string(run++);
      fs::create_directories(dir_);
      FeatureStore::Options o;
      o.path = path.string();
      o.write_back = write_back;
      o.max_events_per_day = 50;
      auto store = FeatureStore::Open(o);
      ASSERT_TRUE(store.ok()) << store.status();
      std::vector<size_t> limited;
      int64_t applied = 0;
      for (size_t first = 0; first < stream.size(); first += batch) {
        const size_t n = std::min(batch, stream.size() - first);
        FeatureStore::ApplyStats st;
        ASSERT_TRUE((*store)
                        ->ApplyBatch(std::span(stream).subspan(first, n),
                                     {{tp_, static_cast<int64_t>(first + n)}}, &st)
                        .ok());
        for (size_t i : st.rate_limited) limited.push_back(first + i);
        applied += st.applied;
      }
      EXPECT_EQ(limited, expected_limited) << "batch " << batch;
      EXPECT_EQ(applied, 150);
      ASSERT_TRUE((*store)->Flush().ok());
      std::map<std::string, std::string> states;
      ASSERT_TRUE((*store)
                      ->ForEachCustomer([&](const CustomerKey& k, const CustomerState& state) {
                        state.Encode(&states[k.shop_id + "/" + k.customer_id]);
                        return absl::OkStatus();
                      })
                      .ok());
      EXPECT_EQ(states.size(), 11u);  // the bot and 10 others (i % 20 of i = 5, 11, 17, ...)
      if (reference.empty()) reference = states;
      EXPECT_EQ(states, reference) << "batch " << batch << " write_back " << write_back;
      EXPECT_EQ((*(*store)->ComputeFeatures(c1_, Ms(2024, 3, 3)))[kSessions7d], 50);
    }
  }
}

}  // namespace
}  // namespace recur
