// The pipeline's parts wired together without a broker: the whole Pipeline
// over a FakeRecordSource (assignment seeks to the stored offsets, a
// revocation commits what is in flight before the partitions go, dead letters
// go out, a bounded run stops), the partition stores' lock wait, and the
// AfterStateCommit sync point.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <optional>
#include <thread>

#include "base/sync_point.h"
#include "featurestore/state_dir.h"
#include "featurestore/store_errors.h"
#include "streams/committer.h"
#include "streams/fake_source.h"
#include "streams/partition_stores.h"
#include "streams/pipeline.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;

using testing::kPurchases0;
using testing::kSessions0;

class CollectingSink : public DeadLetterSink {
 public:
  std::vector<absl::Status> Deliver(const std::string&, std::span<const DlqRecord> records,
                                    absl::Duration) override {
    for (const DlqRecord& r : records) reasons.push_back(r.headers.at(0).second);
    return std::vector<absl::Status>(records.size());
  }
  std::vector<std::string> reasons;
};

// Two one-record batches of one customer; what a second reader of the store
// sees at each "Pipeline::AfterStateCommit" (a batch applied) and at each
// "Pipeline::AfterFlush".
struct DurableAt {
  std::vector<OffsetMap> applied, flushed;
};

class PipelinePartsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.kafka["bootstrap.servers"] = "127.0.0.1:1";  // the score producer never sends
    options_.state_dir = (dir_ / "state").string();
    options_.scoring.enabled = false;
    options_.progress_interval_ms = 0;
    options_.batch_linger_ms = 0;
  }
  void TearDown() override { pipeline_.reset(); }

  std::string Purchase(int64_t t) { return ev_.Purchase(t, 10).SerializeAsString(); }

  // Runs the pipeline over `fake` until its script is played (and a few loops
  // more). The pipeline (and so the fake) lives on in pipeline_.
  absl::Status RunScript(std::unique_ptr<FakeRecordSource> fake) {
    FakeRecordSource* script = fake.get();
    std::atomic<bool> stop{false};
    int after = 0;
    options_.on_progress = [&](const PipelineProgress&) {
      if (script->played() && ++after > 3) stop = true;
    };
    auto p = Pipeline::CreateWithSource(options_, std::move(fake), &sink_);
    if (!p.ok()) return p.status();
    pipeline_ = std::move(*p);
    absl::Status s = pipeline_->Run(stop);
    counters_ = pipeline_->counters();
    return s;
  }

  DurableAt RunTwoBatches();

  OffsetMap StoredOffsets(int32_t p) {
    FeatureStore::Options o;
    o.path = StateDir::PartitionPath(options_.state_dir, p);
    o.read_only = true;
    auto store = FeatureStore::Open(o);
    if (!store.ok()) return {};
    auto offsets = (*store)->ReadOffsets();
    return offsets.ok() ? *offsets : OffsetMap{};
  }

  testing::TempDir tmp_{"recur-pipeline-parts"};
  const std::filesystem::path dir_ = tmp_.path();
  PipelineOptions options_;
  CollectingSink sink_;
  PipelineCounters counters_;
  EventFactory ev_;
  std::unique_ptr<Pipeline> pipeline_;  // owns the fake source
};

TEST_F(PipelinePartsTest, ARevocationCommitsWhatIsInFlightAndTheNextAssignmentSeeksToIt) {
  auto fake = std::make_unique<FakeRecordSource>();
  FakeRecordSource* f = fake.get();
  options_.batch_max_events = 1000;
  options_.batch_linger_ms = 60'000;  // only the revocation commits
  f->Assigned({kPurchases0, kSessions0});
  f->AddRecord(kPurchases0, 0, "shop-1/c-1", Purchase(Ms(2024, 3, 1)), Ms(2024, 3, 2));
  f->AddRecord(kPurchases0, 1, "shop-1/c-1", "\xff garbage", Ms(2024, 3, 2));
  f->AddRecord(kSessions0, 4, "shop-1/c-1",
               ev_.Session(Ms(2024, 3, 1), 3, 2, 1, 0).SerializeAsString(), Ms(2024, 3, 2));
  f->Revoked({kPurchases0, kSessions0});
  f->Assigned({kPurchases0, kSessions0});
  ASSERT_TRUE(RunScript(std::move(fake)).ok());

  ASSERT_EQ(f->assignments().size(), 2u);
  // A fresh store: every partition from its beginning.
  EXPECT_EQ(f->assignments()[0], (FakeRecordSource::Starts{{kPurchases0, kOffsetBeginning},
                                                           {kSessions0, kOffsetBeginning}}));
  // After the revocation: from the offsets stored with the state.
  EXPECT_EQ(f->assignments()[1], (FakeRecordSource::Starts{{kPurchases0, 2}, {kSessions0, 5}}));
  // Committed (Kafka's offsets are written after the state) before the unassign.
  const auto& calls = f->calls();
  ASSERT_GE(calls.size(), 4u);
  EXPECT_EQ(calls[0], "assign");
  EXPECT_EQ(calls[1], "commit");
  EXPECT_EQ(calls[2], "unassign");
  EXPECT_EQ(calls[3], "assign");
  EXPECT_TRUE(f->closed());
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 2}, {kSessions0, 5}}));
  EXPECT_EQ(sink_.reasons, std::vector<std::string>{"undecodable"});
  EXPECT_EQ(counters_.events_in, 3);
  EXPECT_EQ(counters_.applied, 2);
  EXPECT_EQ(counters_.dlq.at("undecodable"), 1);
}

// Cooperative rebalancing: a revocation of some partitions commits and
// flushes what was consumed, closes just their stores, and the others are
// read on without a new assignment; a record of a revoked partition fetched
// before the revocation is dropped.
TEST_F(PipelinePartsTest, AnIncrementalRevocationClosesOnlyItsPartitionsAndTheOthersGoOn) {
  auto fake = std::make_unique<FakeRecordSource>();
  FakeRecordSource* f = fake.get();
  const TopicPartition purchases1{kPurchases0.topic, 1};
  options_.batch_max_events = 1000;
  options_.batch_linger_ms = 60'000;  // only the revocation and the end commit
  f->Assigned({kPurchases0, purchases1});
  f->AddRecord(kPurchases0, 0, "shop-1/c-1", Purchase(Ms(2024, 3, 1)), Ms(2024, 3, 2));
  f->AddRecord(purchases1, 0, "shop-1/c-1", Purchase(Ms(2024, 3, 1)), Ms(2024, 3, 2));
  f->RevokedSome({purchases1});
  f->AddRecord(purchases1, 1, "shop-1/c-1", Purchase(Ms(2024, 3, 2)), Ms(2024, 3, 3));  // dropped
  f->AddRecord(kPurchases0, 1, "shop-1/c-1", Purchase(Ms(2024, 3, 2)), Ms(2024, 3, 3));
  f->AddEnd(kPurchases0, 2);
  ASSERT_TRUE(RunScript(std::move(fake)).ok());

  ASSERT_EQ(f->assignments().size(), 1u);  // no new assignment for partition 0
  const auto& calls = f->calls();
  ASSERT_GE(calls.size(), 3u);
  EXPECT_EQ(calls[0], "assign");
  EXPECT_EQ(calls[1], "commit");  // what was in flight, before the partition goes
  EXPECT_EQ(calls[2], "unassign");
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{purchases1, 1}}));
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 2}}));
  EXPECT_EQ(counters_.events_in, 3);
  EXPECT_EQ(counters_.applied, 3);
  EXPECT_TRUE(sink_.reasons.empty());
}

// A cooperative assignment that adds a partition number while others are open:
// the new store opens on a thread of its own (a restore can take seconds) while
// the open partitions are read and applied on; the rebalance is answered with
// nothing, and the new partition is assigned once its store is open.
TEST_F(PipelinePartsTest, AStoreGainedInACooperativeRebalanceOpensWhileTheOthersAreApplied) {
  auto fake = std::make_unique<FakeRecordSource>();
  FakeRecordSource* f = fake.get();
  const TopicPartition purchases1{kPurchases0.topic, 1};
  f->Assigned({kPurchases0});
  f->AddRecord(kPurchases0, 0, "shop-1/c-1", Purchase(Ms(2024, 3, 1)), Ms(2024, 3, 2));
  f->AssignedSome({purchases1});
  f->AddRecord(kPurchases0, 1, "shop-1/c-1", Purchase(Ms(2024, 3, 2)), Ms(2024, 3, 3));
  f->AddRecord(kPurchases0, 2, "shop-1/c-1", Purchase(Ms(2024, 3, 3)), Ms(2024, 3, 4));
  f->AddEnd(kPurchases0, 3);
  // Partition 1's store stays opening until the loop has applied partition 0's
  // records that came after the assignment (or 60 s passed: the loop waited for
  // the store, the defect this test is for).
  std::atomic<bool> applied_while_opening{false}, released{false};
  SyncPoint::Get()->SetCallBack("PartitionStores::OpenOne", [&](void* arg) {
    if (*static_cast<int32_t*>(arg) != 1) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline && !applied_while_opening) {
      if (pipeline_ != nullptr && pipeline_->counters().applied >= 3) applied_while_opening = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    released = true;
  });
  SyncPoint::Get()->EnableProcessing();
  std::atomic<bool> stop{false};
  options_.on_progress = [&](const PipelineProgress&) {  // (the loop's thread, as the fake's)
    if (f->played() && released && (f->assignments().size() >= 3 || !applied_while_opening))
      stop = true;
  };
  auto p = Pipeline::CreateWithSource(options_, std::move(fake), &sink_);
  ASSERT_TRUE(p.ok()) << p.status();
  pipeline_ = std::move(*p);
  absl::Status s = pipeline_->Run(stop);
  counters_ = pipeline_->counters();
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  ASSERT_TRUE(s.ok()) << s;

  EXPECT_TRUE(applied_while_opening.load());
  // Answered with nothing at once, assigned from its store's offsets once open.
  ASSERT_EQ(f->assignments().size(), 3u);
  EXPECT_EQ(f->assignments()[0], (FakeRecordSource::Starts{{kPurchases0, kOffsetBeginning}}));
  EXPECT_TRUE(f->assignments()[1].empty());
  EXPECT_EQ(f->assignments()[2], (FakeRecordSource::Starts{{purchases1, kOffsetBeginning}}));
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 3}}));
  EXPECT_TRUE(std::filesystem::exists(StateDir::PartitionPath(options_.state_dir, 1)));
  EXPECT_EQ(counters_.applied, 3);
}

TEST_F(PipelinePartsTest, ABoundedRunStoresExactlyTheStopOffsetsAndReturns) {
  auto fake = std::make_unique<FakeRecordSource>();
  FakeRecordSource* f = fake.get();
  options_.stop_offsets = {{kPurchases0, 2}, {kSessions0, 0}};
  options_.start_offsets = {{kPurchases0, 1}};
  f->Assigned({kPurchases0, kSessions0});
  f->AddRecord(kPurchases0, 1, "shop-1/c-1", Purchase(Ms(2024, 3, 1)), Ms(2024, 3, 2));
  f->AddRecord(kPurchases0, 2, "shop-1/c-1", Purchase(Ms(2024, 3, 1)), Ms(2024, 3, 2));  // beyond
  f->AddEnd(kSessions0, 0);  // an empty range
  std::atomic<bool> stop{false};
  auto p = Pipeline::CreateWithSource(options_, std::move(fake), &sink_);
  ASSERT_TRUE(p.ok()) << p.status();
  ASSERT_TRUE((*p)->Run(stop).ok());  // returns by itself
  EXPECT_EQ(f->assignments()[0],
            (FakeRecordSource::Starts{{kPurchases0, 1}, {kSessions0, kOffsetBeginning}}));
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 2}, {kSessions0, 0}}));
  EXPECT_EQ(f->paused(), (std::vector<TopicPartition>{kPurchases0, kSessions0}));
  EXPECT_EQ((*p)->counters().events_in, 1);
}

DurableAt PipelinePartsTest::RunTwoBatches() {
  DurableAt d;
  SyncPoint::Get()->SetCallBack("Pipeline::AfterStateCommit",
                                [&](void*) { d.applied.push_back(StoredOffsets(0)); });
  SyncPoint::Get()->SetCallBack("Pipeline::AfterFlush",
                                [&](void*) { d.flushed.push_back(StoredOffsets(0)); });
  SyncPoint::Get()->EnableProcessing();
  auto fake = std::make_unique<FakeRecordSource>();
  options_.batch_max_events = 1;
  fake->Assigned({kPurchases0});
  fake->AddRecord(kPurchases0, 0, "shop-1/c-1", Purchase(Ms(2024, 3, 1)), Ms(2024, 3, 2));
  fake->AddRecord(kPurchases0, 1, "shop-1/c-1", Purchase(Ms(2024, 3, 1, 13)), Ms(2024, 3, 2));
  absl::Status s = RunScript(std::move(fake));
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  EXPECT_TRUE(s.ok()) << s;
  return d;
}

TEST_F(PipelinePartsTest, AppliedBatchesBecomeDurableAtAFlushNotBefore) {
  // Write-back stores: nothing of a batch is durable when it is applied; the
  // flush when the partitions are given up writes both batches' state and
  // offsets at once.
  options_.commit_interval_ms = 3'600'000;  // no flush on the clock during the test
  DurableAt d = RunTwoBatches();
  ASSERT_EQ(d.applied.size(), 2u);
  EXPECT_EQ(d.applied[0], OffsetMap{});
  EXPECT_EQ(d.applied[1], OffsetMap{});
  ASSERT_EQ(d.flushed.size(), 1u);
  EXPECT_EQ(d.flushed[0], (OffsetMap{{kPurchases0, 2}}));
}

TEST_F(PipelinePartsTest, WriteThroughStoresAreDurableAfterEveryBatch) {
  options_.write_back = false;
  DurableAt d = RunTwoBatches();
  ASSERT_EQ(d.applied.size(), 2u);
  EXPECT_EQ(d.applied[0], (OffsetMap{{kPurchases0, 1}}));
  EXPECT_EQ(d.applied[1], (OffsetMap{{kPurchases0, 2}}));
}

TEST_F(PipelinePartsTest, AFatalSourceErrorStopsTheRunWithIt) {
  auto fake = std::make_unique<FakeRecordSource>();
  fake->Assigned({kPurchases0});
  fake->AddFatal(absl::DataLossError("records deleted"));
  std::atomic<bool> stop{false};
  auto p = Pipeline::CreateWithSource(options_, std::move(fake), &sink_);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ((*p)->Run(stop).code(), absl::StatusCode::kDataLoss);
}

TEST_F(PipelinePartsTest, TheLoopReadsTheNextBatchWhileOneIsApplied) {
  // Batches of one record. The apply of the first is held (the apply stage's
  // sync point, on its thread) until the loop has read the second record: the
  // loop reads on while a batch is applied. Then everything lands as usual.
  // With the loop applying inline (--no-pipeline) the hold would never end;
  // the deadline only keeps a broken build from hanging.
  options_.batch_max_events = 1;
  auto fake = std::make_unique<FakeRecordSource>();
  FakeRecordSource* f = fake.get();
  f->Assigned({kPurchases0});
  for (int i = 0; i < 3; ++i) {
    f->AddRecord(kPurchases0, i, "shop-1/c-1", Purchase(Ms(2024, 3, 1, 8 + i)), Ms(2024, 3, 2));
  }
  std::atomic<int> applies{0};
  std::atomic<bool> read_on{false};
  SyncPoint::Get()->SetCallBack("ApplyStage::Apply", [&](void*) {
    if (applies++ > 0) return;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (f->records_polled() < 2 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    read_on = f->records_polled() >= 2;
  });
  SyncPoint::Get()->EnableProcessing();
  absl::Status s = RunScript(std::move(fake));
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_TRUE(read_on);
  EXPECT_EQ(applies.load(), 3);
  EXPECT_EQ(counters_.batches, 3);
  EXPECT_EQ(counters_.applied, 3);
  pipeline_.reset();  // flushes and closes the stores
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 3}}));
}

TEST_F(PipelinePartsTest, WithoutThePipelineTheSameBatchesLandTheSame) {
  // --no-pipeline: the loop applies each batch before it reads on; the
  // revocation test's script gives the same offsets, dead letters and counts.
  options_.pipelined = false;
  options_.batch_max_events = 2;
  auto fake = std::make_unique<FakeRecordSource>();
  fake->Assigned({kPurchases0, kSessions0});
  fake->AddRecord(kPurchases0, 0, "shop-1/c-1", Purchase(Ms(2024, 3, 1)), Ms(2024, 3, 2));
  fake->AddRecord(kPurchases0, 1, "shop-1/c-1", "\xff garbage", Ms(2024, 3, 2));
  fake->AddRecord(kSessions0, 4, "shop-1/c-1",
                  ev_.Session(Ms(2024, 3, 1), 3, 2, 1, 0).SerializeAsString(), Ms(2024, 3, 2));
  ASSERT_TRUE(RunScript(std::move(fake)).ok());
  EXPECT_EQ(counters_.batches, 2);
  EXPECT_EQ(counters_.applied, 2);
  EXPECT_EQ(sink_.reasons, std::vector<std::string>{"undecodable"});
  pipeline_.reset();
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 2}, {kSessions0, 5}}));
}

TEST(PartitionStoresTest, ALockedStoreIsRecognisedByItsPayloadAndWaitedFor) {
  testing::TempDir tmp("recur-partition-stores");
  const std::filesystem::path dir = tmp.path();
  FeatureStore::Options o;
  o.path = StateDir::PartitionPath(dir.string(), 0);
  std::filesystem::create_directories(dir);
  auto holder = FeatureStore::Open(o);
  ASSERT_TRUE(holder.ok()) << holder.status();
  auto second = FeatureStore::Open(o);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(IsStoreLocked(second.status())) << second.status();
  EXPECT_NE(second.status().message().find("LOCK"), std::string::npos);  // the text is unchanged
  EXPECT_FALSE(IsStoreLocked(absl::FailedPreconditionError("LOCK in the text only")));

  PartitionStoresOptions so;
  so.state_dir = dir.string();
  so.lock_timeout_ms = 300;
  so.lock_retry_ms = 50;
  {
    PartitionStores stores(so);
    const auto start = std::chrono::steady_clock::now();
    auto opened = stores.Open(0);
    EXPECT_TRUE(!opened.ok() && IsStoreLocked(opened.status())) << opened.status();
    EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(300));
  }
  {
    PartitionStores stores(so);
    std::thread release([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      holder->reset();  // the previous owner closes its store
    });
    auto opened = stores.Open(0);
    release.join();
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_TRUE(*opened);
    EXPECT_FALSE(*stores.Open(0));  // already open
    EXPECT_NE(stores.Get(0), nullptr);
  }
}

// The commit interval's flush runs on a thread of its own
// (PartitionStores::StartFlush): while it is held inside a store's flush, a
// batch still applies, a second start is refused and no result is reported;
// once it ends its result is reported once, and the disk holds the state as
// of its start (the batch applied meanwhile waits for the next flush).
TEST(PartitionStoresTest, ABackgroundFlushLetsBatchesApplyAndReportsOnceWhenDone) {
  testing::TempDir tmp("recur-partition-stores");
  PartitionStoresOptions so;
  so.state_dir = tmp.path().string();
  PartitionStores stores(so);
  ASSERT_TRUE(stores.Open(0).ok());
  EventFactory ev;
  const TopicPartition tp = kPurchases0;
  auto apply = [&](int64_t t, int64_t offset) {
    std::vector<v1::Event> events{ev.Purchase(t, 10)};
    FeatureStore::ApplyStats st;
    return stores.Apply(0, events, {{tp, offset}}, {}, &st);
  };
  auto durable = [&] {
    FeatureStore::Options o;
    o.path = StateDir::PartitionPath(so.state_dir, 0);
    o.read_only = true;
    auto reader = FeatureStore::Open(o);
    return reader.ok() ? (*reader)->ReadOffsets().value_or(OffsetMap{}) : OffsetMap{};
  };
  ASSERT_TRUE(apply(Ms(2024, 3, 1), 1).ok());

  std::promise<void> entered, release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> cuts{0};
  SyncPoint::Get()->SetCallBack("FeatureStore::AfterFlushCut", [&](void*) {
    if (cuts++ != 0) return;
    entered.set_value();
    released.wait();  // the flush is held here until the test lets it go
  });
  SyncPoint::Get()->EnableProcessing();
  ASSERT_TRUE(stores.StartFlush());
  entered.get_future().wait();
  EXPECT_FALSE(stores.StartFlush());  // one at a time
  EXPECT_FALSE(stores.FinishedFlush().has_value());
  EXPECT_TRUE(apply(Ms(2024, 3, 2), 2).ok());  // the flush does not hold the batch
  release.set_value();
  std::optional<PartitionStores::FlushResult> result;
  while (!(result = stores.FinishedFlush())) std::this_thread::yield();
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  EXPECT_TRUE(result->status.ok()) << result->status;
  EXPECT_FALSE(stores.FinishedFlush().has_value());  // reported once
  EXPECT_EQ(durable(), (OffsetMap{{tp, 1}}));
  ASSERT_TRUE(stores.FlushAll().ok());
  EXPECT_EQ(durable(), (OffsetMap{{tp, 2}}));
}

// Issue 15, item 10: RocksDB's own words were "No such file or directory: While
// mkdir", which names neither the state dir nor the cause.
TEST(PartitionStoresTest, AStateDirThatCanNotBeCreatedIsNamedWithTheReason) {
  testing::TempDir tmp("recur-partition-stores");
  const std::filesystem::path file = tmp.path() / "a-file";
  std::ofstream(file) << "not a directory";
  PartitionStoresOptions so;
  so.state_dir = (file / "state").string();  // ENOTDIR, even for root
  PartitionStores stores(so);
  auto opened = stores.Open(0);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), absl::StatusCode::kFailedPrecondition) << opened.status();
  const std::string message(opened.status().message());
  EXPECT_NE(message.find(so.state_dir + " can not be created"), std::string::npos) << message;
  EXPECT_NE(message.find("Not a directory"), std::string::npos) << message;
}

TEST(PartitionStoresTest, AStateDirInAReadOnlyDirSaysPermissionDenied) {
  if (geteuid() == 0) GTEST_SKIP() << "runs as root: permission bits do not stop root";
  testing::TempDir tmp("recur-partition-stores");
  const std::filesystem::path parent = tmp.path() / "read-only";
  std::filesystem::create_directories(parent);
  std::filesystem::permissions(
      parent, std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  PartitionStoresOptions so;
  so.state_dir = (parent / "state").string();
  PartitionStores stores(so);
  auto opened = stores.Open(0);
  std::filesystem::permissions(parent, std::filesystem::perms::owner_all);  // so it can be removed
  ASSERT_FALSE(opened.ok());
  const std::string message(opened.status().message());
  EXPECT_NE(message.find(so.state_dir + " can not be created"), std::string::npos) << message;
  EXPECT_NE(message.find("Permission denied"), std::string::npos) << message;
}

TEST_F(PipelinePartsTest, ABotBeyondTheDailyCapGoesToTheDlqAsRateLimitedInEitherWriteMode) {
  // Cap 3: six visits of c-1 on one day, in batches of two. The last three are
  // dead letters `rate_limited`, counted as such; the stored offsets cover all
  // six, with write-through (interval 0) as with write-back.
  options_.max_events_per_day = 3;
  options_.batch_max_events = 2;
  for (int interval : {0, 5'000}) {
    SCOPED_TRACE(interval);
    options_.commit_interval_ms = interval;
    options_.state_dir = (dir_ / ("state-" + std::to_string(interval))).string();
    sink_.reasons.clear();
    auto fake = std::make_unique<FakeRecordSource>();
    fake->Assigned({kSessions0});
    for (int i = 0; i < 6; ++i) {
      fake->AddRecord(kSessions0, i, "shop-1/c-1",
                      ev_.Session(Ms(2024, 3, 1, 8 + i), 3, 2, 1, 0).SerializeAsString(),
                      Ms(2024, 3, 2));
    }
    ASSERT_TRUE(RunScript(std::move(fake)).ok());
    pipeline_.reset();  // flushes and closes the stores
    EXPECT_EQ(sink_.reasons, std::vector<std::string>(3, "rate_limited"));
    EXPECT_EQ(counters_.applied, 3);
    EXPECT_EQ(counters_.dlq.at("rate_limited"), 3);
    EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kSessions0, 6}}));
  }
}

}  // namespace
}  // namespace recur
