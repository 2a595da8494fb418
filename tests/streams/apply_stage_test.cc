// The apply stage of the pipelined loop without a broker: Start hands a batch
// to the stage's thread and returns while it is applied; Finish waits for it
// and reports what landed; failed attempts are retried (the committer skips
// what landed); a failure beyond the retries comes back with what landed; the
// write-through flush runs after each commit; inline (--no-pipeline) applies
// on Start; a batch handed over is applied even when the stage is destroyed.
#include "streams/apply_stage.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "streams/partition_stores.h"
#include "tests/testing/dead_letters.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/kafka.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;

using testing::kPurchases0;
using testing::kPurchases1;
using testing::kSessions0;
using testing::NoDeadLetters;

// Real partition stores behind a gate: an apply waits while the gate is shut,
// and the next `failures` applies fail.
class GatedStores : public PartitionWriter {
 public:
  explicit GatedStores(PartitionStores* stores) : stores_(stores) {}
  bool IsOpen(int32_t p) const override { return stores_->IsOpen(p); }
  absl::Status Apply(int32_t p, std::span<const v1::Event> events, const OffsetMap& offsets,
                     const StreamTimeMap& stream_times, FeatureStore::ApplyStats* stats) override {
    {
      absl::MutexLock lock(&mu_);
      ++entered_;
      mu_.Await(absl::Condition(&open_));
      ++applies_;
      if (failures_ > 0) {
        --failures_;
        return absl::UnavailableError("disk busy");
      }
    }
    return stores_->Apply(p, events, offsets, stream_times, stats);
  }
  void Shut() {
    absl::MutexLock lock(&mu_);
    open_ = false;
  }
  void Open() {
    absl::MutexLock lock(&mu_);
    open_ = true;
  }
  void FailNext(int n) {
    absl::MutexLock lock(&mu_);
    failures_ = n;
  }
  // Waits until `n` applies have reached the gate.
  void AwaitEntered(int n) {
    absl::MutexLock lock(&mu_);
    auto entered = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return entered_ >= n; };
    mu_.Await(absl::Condition(&entered));
  }
  int applies() {
    absl::MutexLock lock(&mu_);
    return applies_;
  }

 private:
  PartitionStores* stores_;
  absl::Mutex mu_;
  bool open_ ABSL_GUARDED_BY(mu_) = true;
  int failures_ ABSL_GUARDED_BY(mu_) = 0;
  int entered_ ABSL_GUARDED_BY(mu_) = 0;
  int applies_ ABSL_GUARDED_BY(mu_) = 0;
};

class ApplyStageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PartitionStoresOptions o;
    o.state_dir = tmp_.path().string();
    stores_ = std::make_unique<PartitionStores>(o);
    ASSERT_TRUE(stores_->Open(0).ok());
    ASSERT_TRUE(stores_->Open(1).ok());
    gated_ = std::make_unique<GatedStores>(stores_.get());
    committer_ = std::make_unique<Committer>(&sink_, "recur.dlq", gated_.get());
  }

  // Two good events on partition 0 (two topics) and one on partition 1.
  Batch MakeBatch() {
    BatchBuilder b(DecoderOptions{}, {});
    auto add = [&](const TopicPartition& tp, int64_t offset, const std::string& value) {
      b.Add(testing::Record{tp, offset, "shop-1/c-1", value, Ms(2024, 3, 2)}.Raw());
    };
    add(kPurchases0, 10, ev_.Purchase(Ms(2024, 3, 1), 10).SerializeAsString());
    add(kSessions0, 20, ev_.Session(Ms(2024, 3, 1, 15), 3, 2, 1, 0).SerializeAsString());
    add(kPurchases1, 30, ev_.Purchase(Ms(2024, 2, 1), 10).SerializeAsString());
    return b.TakeBatch();
  }

  OffsetMap StoredOffsets(int32_t p) {
    auto o = stores_->Get(p)->ReadOffsets();
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? *o : OffsetMap{};
  }

  static ApplyStage::Options Quick(bool threaded = true) {
    ApplyStage::Options o;
    o.threaded = threaded;
    o.sleep = [](int) {};  // retries without backoff
    return o;
  }

  testing::TempDir tmp_{"recur-apply-stage"};
  EventFactory ev_;
  NoDeadLetters sink_;
  std::unique_ptr<PartitionStores> stores_;
  std::unique_ptr<GatedStores> gated_;
  std::unique_ptr<Committer> committer_;
};

TEST_F(ApplyStageTest, StartReturnsWhileTheBatchIsAppliedAndFinishReportsIt) {
  ApplyStage stage(committer_.get(), Quick());
  gated_->Shut();
  const auto first = ApplyStage::Clock::now();
  stage.Start(MakeBatch(), first);  // returns with the apply held at the gate
  gated_->AwaitEntered(1);
  EXPECT_TRUE(stage.busy());
  EXPECT_FALSE(stage.done());
  EXPECT_EQ(StoredOffsets(0), OffsetMap{});  // nothing applied yet

  gated_->Open();
  ApplyStage::Outcome o = stage.Finish();
  EXPECT_FALSE(stage.busy());
  ASSERT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(o.first, first);
  EXPECT_EQ(o.retries, 0);
  ASSERT_EQ(o.applied.size(), 2u);
  int64_t applied = 0;
  for (const Committer::Applied& a : o.applied) applied += a.stats.applied;
  EXPECT_EQ(applied, 3);
  // The batch comes back with its offsets; its events were freed on the stage's thread.
  EXPECT_EQ(o.batch.offsets, (OffsetMap{{kPurchases0, 11}, {kSessions0, 21}, {kPurchases1, 31}}));
  EXPECT_TRUE(o.batch.events.empty());
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 11}, {kSessions0, 21}}));
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{kPurchases1, 31}}));
}

TEST_F(ApplyStageTest, AFailedAttemptIsRetriedWithoutApplyingAPartitionTwice) {
  ApplyStage stage(committer_.get(), Quick());
  gated_->FailNext(1);  // partition 0's or 1's first apply, whichever runs first
  stage.Start(MakeBatch(), ApplyStage::Clock::now());
  ApplyStage::Outcome o = stage.Finish();
  ASSERT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(o.retries, 1);
  // Three applies: the one that failed, the one that landed in the first
  // attempt and is not repeated, and the failed one again.
  EXPECT_EQ(gated_->applies(), 3);
  EXPECT_EQ(o.applied.size(), 2u);
  int64_t applied = 0;
  for (const Committer::Applied& a : o.applied) applied += a.stats.applied;
  EXPECT_EQ(applied, 3);
}

TEST_F(ApplyStageTest, AFailureBeyondTheRetriesComesBackWithWhatLanded) {
  ApplyStage::Options options = Quick();
  options.max_retries = 2;
  ApplyStage stage(committer_.get(), options);
  gated_->FailNext(100);
  stage.Start(MakeBatch(), ApplyStage::Clock::now());
  ApplyStage::Outcome o = stage.Finish();
  EXPECT_EQ(o.status.code(), absl::StatusCode::kUnavailable) << o.status;
  EXPECT_EQ(o.retries, 2);
  EXPECT_TRUE(o.applied.empty());
  EXPECT_EQ(StoredOffsets(0), OffsetMap{});
}

TEST_F(ApplyStageTest, TheWriteThroughFlushRunsAfterTheCommitAndIsRetried) {
  int flushes = 0;
  ApplyStage::Options options = Quick();
  options.flush = [&] {
    return ++flushes == 1 ? absl::UnavailableError("disk full") : stores_->FlushAll();
  };
  ApplyStage stage(committer_.get(), options);
  stage.Start(MakeBatch(), ApplyStage::Clock::now());
  ApplyStage::Outcome o = stage.Finish();
  ASSERT_TRUE(o.status.ok()) << o.status;
  EXPECT_EQ(flushes, 2);
  EXPECT_EQ(o.flushes, 1);  // the one that succeeded
  EXPECT_EQ(o.retries, 1);
  EXPECT_EQ(gated_->applies(), 2);  // the retry re-applied nothing
}

TEST_F(ApplyStageTest, InlineAppliesOnStart) {
  ApplyStage stage(committer_.get(), Quick(/*threaded=*/false));
  stage.Start(MakeBatch(), ApplyStage::Clock::now());
  EXPECT_TRUE(stage.busy());
  EXPECT_TRUE(stage.done());
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{kPurchases1, 31}}));
  EXPECT_TRUE(stage.Finish().status.ok());
}

TEST_F(ApplyStageTest, ABatchHandedOverIsAppliedBeforeTheStageIsDestroyed) {
  auto stage = std::make_unique<ApplyStage>(committer_.get(), Quick());
  gated_->Shut();
  stage->Start(MakeBatch(), ApplyStage::Clock::now());
  gated_->AwaitEntered(1);
  std::thread opener([&] { gated_->Open(); });
  stage.reset();  // waits for the batch, never abandons it half-way
  opener.join();
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 11}, {kSessions0, 21}}));
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{kPurchases1, 31}}));
}

}  // namespace
}  // namespace recur
