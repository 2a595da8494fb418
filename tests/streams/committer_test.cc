// The committer without a broker: dead letters are delivered before any state
// is written and nothing is stored when their delivery fails; the offsets and
// stream times land per partition store; a retry skips what already landed.
#include "streams/committer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>

#include "featurestore/state_dir.h"
#include "streams/partition_stores.h"
#include "streams/retry.h"
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

// What happened, in order, across the sink and the writer.
struct Log {
  std::mutex mu;
  std::vector<std::string> entries;
  void Add(std::string e) {
    std::lock_guard<std::mutex> lock(mu);
    entries.push_back(std::move(e));
  }
  size_t IndexOf(const std::string& e) {
    auto it = std::find(entries.begin(), entries.end(), e);
    return it == entries.end() ? entries.size() : static_cast<size_t>(it - entries.begin());
  }
  int Count(const std::string& e) {
    return static_cast<int>(std::count(entries.begin(), entries.end(), e));
  }
};

class RecordingSink : public DeadLetterSink {
 public:
  explicit RecordingSink(Log* log) : log_(log) {}
  absl::Status Send(const std::string& topic, std::optional<std::string_view> key,
                    std::string_view value, const Headers& headers) override {
    log_->Add("send");
    sent.push_back({topic, key ? std::optional<std::string>(std::string(*key)) : std::nullopt,
                    std::string(value), headers});
    return absl::OkStatus();
  }
  absl::Status Flush(absl::Duration) override {
    log_->Add("flush");
    if (flush_failures > 0) {
      --flush_failures;
      return absl::UnavailableError("broker down");
    }
    return absl::OkStatus();
  }
  struct Sent {
    std::string topic;
    std::optional<std::string> key;
    std::string value;
    Headers headers;
  };
  std::vector<Sent> sent;
  int flush_failures = 0;

 private:
  Log* log_;
};

// Real partition stores in a temp dir, with failures injected per partition.
class FlakyStores : public PartitionWriter {
 public:
  FlakyStores(Log* log, PartitionStores* stores) : log_(log), stores_(stores) {}
  bool IsOpen(int32_t p) const override { return stores_->IsOpen(p); }
  absl::Status Apply(int32_t p, std::span<const v1::Event> events, const OffsetMap& offsets,
                     const StreamTimeMap& stream_times, FeatureStore::ApplyStats* stats) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (failures_[p] > 0) {
        --failures_[p];
        log_->Add("fail " + std::to_string(p));
        return failure_;
      }
    }
    log_->Add("apply " + std::to_string(p));
    return stores_->Apply(p, events, offsets, stream_times, stats);
  }
  void FailNext(int32_t p, int times, absl::Status why = absl::UnavailableError("disk busy")) {
    failures_[p] = times;
    failure_ = std::move(why);
  }

 private:
  Log* log_;
  PartitionStores* stores_;
  std::mutex mu_;
  std::map<int32_t, int> failures_;
  absl::Status failure_;
};

class CommitterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PartitionStoresOptions o;
    o.state_dir = dir_.string();
    stores_ = std::make_unique<PartitionStores>(o);
    ASSERT_TRUE(stores_->Open(0).ok());
    ASSERT_TRUE(stores_->Open(1).ok());
    flaky_ = std::make_unique<FlakyStores>(&log_, stores_.get());
  }
  void TearDown() override { stores_.reset(); }

  // Two good events on partition 0 (two topics), one on partition 1, one dead letter.
  Batch MakeBatch() {
    BatchBuilder b(DecoderOptions{}, {});
    auto add = [&](const TopicPartition& tp, int64_t offset, const std::string& value) {
      b.Add(testing::Record{tp, offset, key_, value, Ms(2024, 3, 2)}.Raw());
    };
    add(kPurchases0, 10, ev_.Purchase(Ms(2024, 3, 1), 10).SerializeAsString());
    add(kSessions0, 20, ev_.Session(Ms(2024, 3, 1, 15), 3, 2, 1, 0).SerializeAsString());
    add(kPurchases1, 30, ev_.Purchase(Ms(2024, 2, 1), 10).SerializeAsString());
    add(kPurchases1, 31, "\xff\xff garbage");
    return b.batch();
  }

  OffsetMap StoredOffsets(int32_t p) {
    auto o = stores_->Get(p)->ReadOffsets();
    EXPECT_TRUE(o.ok()) << o.status();
    return o.ok() ? *o : OffsetMap{};
  }

  testing::TempDir tmp_{"recur-committer"};
  const std::filesystem::path dir_ = tmp_.path();
  Log log_;
  EventFactory ev_;
  const std::string key_ = "shop-1/c-1";
  std::unique_ptr<PartitionStores> stores_;
  std::unique_ptr<FlakyStores> flaky_;
};

TEST_F(CommitterTest, DeadLettersAreDeliveredBeforeAnyStateIsWritten) {
  RecordingSink sink(&log_);
  Committer committer(&sink, "recur.dlq", flaky_.get());
  Committer::Progress progress;
  Committer::Report report;
  ASSERT_TRUE(committer.Commit(MakeBatch(), &progress, &report).ok());
  const size_t flush = log_.IndexOf("flush");
  ASSERT_LT(flush, log_.entries.size());
  EXPECT_LT(log_.IndexOf("send"), flush);
  EXPECT_LT(flush, log_.IndexOf("apply 0"));
  EXPECT_LT(flush, log_.IndexOf("apply 1"));
  ASSERT_EQ(sink.sent.size(), 1u);
  EXPECT_EQ(sink.sent[0].topic, "recur.dlq");
  EXPECT_EQ(sink.sent[0].key, key_);
  EXPECT_EQ(sink.sent[0].value, "\xff\xff garbage");
  EXPECT_EQ(sink.sent[0].headers, (Headers{{"recur.error.reason", "undecodable"},
                                           {"recur.error.topic", "shop.purchases"},
                                           {"recur.error.partition", "1"},
                                           {"recur.error.offset", "31"}}));
  EXPECT_TRUE(progress.dead_sent);
  EXPECT_EQ(progress.applied, (std::set<int32_t>{0, 1}));
}

TEST_F(CommitterTest, OffsetsAndStreamTimesLandInTheirPartitionsStore) {
  RecordingSink sink(&log_);
  Committer committer(&sink, "recur.dlq", stores_.get());
  Committer::Progress progress;
  Committer::Report report;
  ASSERT_TRUE(committer.Commit(MakeBatch(), &progress, &report).ok());
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 11}, {kSessions0, 21}}));
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{kPurchases1, 32}}));  // the dead letter's offset too
  auto times = stores_->Get(0)->ReadStreamTimes();
  ASSERT_TRUE(times.ok());
  EXPECT_EQ(*times,
            (StreamTimeMap{{kPurchases0, Ms(2024, 3, 1)}, {kSessions0, Ms(2024, 3, 1, 15)}}));
  ASSERT_EQ(report.applied.size(), 2u);
  int64_t applied = 0;
  for (const auto& a : report.applied) applied += a.stats.applied;
  EXPECT_EQ(applied, 3);
}

TEST_F(CommitterTest, NothingIsStoredWhenDeadLetterDeliveryFails) {
  RecordingSink sink(&log_);
  sink.flush_failures = 1;
  Committer committer(&sink, "recur.dlq", flaky_.get());
  Committer::Progress progress;
  Committer::Report report;
  const Batch batch = MakeBatch();
  absl::Status s = committer.Commit(batch, &progress, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("dead-letter delivery"), std::string::npos) << s;
  EXPECT_EQ(log_.Count("apply 0") + log_.Count("apply 1"), 0);
  EXPECT_TRUE(StoredOffsets(0).empty());
  EXPECT_TRUE(StoredOffsets(1).empty());
  EXPECT_FALSE(progress.dead_sent);
  EXPECT_TRUE(report.applied.empty());
  // The retry sends the dead letters again, then stores the state.
  ASSERT_TRUE(committer.Commit(batch, &progress, &report).ok());
  EXPECT_EQ(sink.sent.size(), 2u);
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{kPurchases1, 32}}));
}

TEST_F(CommitterTest, ARetrySkipsDeadLettersAndPartitionsThatLanded) {
  RecordingSink sink(&log_);
  Committer committer(&sink, "recur.dlq", flaky_.get());
  flaky_->FailNext(1, 1);
  Committer::Progress progress;
  Committer::Report report;
  const Batch batch = MakeBatch();
  absl::Status s = committer.Commit(batch, &progress, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  // Partition 0 landed (its stats are reported for the counters), 1 did not.
  ASSERT_EQ(report.applied.size(), 1u);
  EXPECT_EQ(report.applied[0].partition, 0);
  EXPECT_EQ(progress.applied, (std::set<int32_t>{0}));
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 11}, {kSessions0, 21}}));
  EXPECT_TRUE(StoredOffsets(1).empty());

  ASSERT_TRUE(committer.Commit(batch, &progress, &report).ok());
  EXPECT_EQ(log_.Count("apply 0"), 1);  // not applied twice
  EXPECT_EQ(log_.Count("apply 1"), 1);
  EXPECT_EQ(log_.Count("send"), 1);  // dead letters not sent twice
  ASSERT_EQ(report.applied.size(), 1u);
  EXPECT_EQ(report.applied[0].partition, 1);
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{kPurchases1, 32}}));
}

TEST_F(CommitterTest, WithRetriesRetriesTransientFailuresAndStopsOnBadInput) {
  RecordingSink sink(&log_);
  Committer committer(&sink, "recur.dlq", flaky_.get());
  const Batch batch = MakeBatch();
  Committer::Progress progress;
  Committer::Report report;
  int64_t retries = 0;
  std::vector<int> waits;
  RetryPolicy policy{3, &retries, [&](int ms) { waits.push_back(ms); }};
  flaky_->FailNext(1, 2);
  ASSERT_TRUE(WithRetries("batch", policy, [&] {
                return committer.Commit(batch, &progress, &report);
              }).ok());
  EXPECT_EQ(retries, 2);
  EXPECT_EQ(waits, (std::vector<int>{200, 400}));
  EXPECT_EQ(log_.Count("apply 0"), 1);
  EXPECT_EQ(log_.Count("apply 1"), 1);

  Committer::Progress fresh;
  flaky_->FailNext(0, 5, absl::InvalidArgumentError("event[0]: bad"));
  absl::Status s =
      WithRetries("batch", policy, [&] { return committer.Commit(batch, &fresh, &report); });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(retries, 2);  // not retried
  EXPECT_NE(s.message().find("batch not committed"), std::string::npos) << s;
}

TEST_F(CommitterTest, APartitionWithoutAnOpenStoreFailsBeforeAnythingIsWritten) {
  PartitionStoresOptions o;
  o.state_dir = (dir_ / "other").string();
  PartitionStores only_zero(o);
  ASSERT_TRUE(only_zero.Open(0).ok());
  RecordingSink sink(&log_);
  Committer committer(&sink, "recur.dlq", &only_zero);
  Committer::Progress progress;
  Committer::Report report;
  absl::Status s = committer.Commit(MakeBatch(), &progress, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kInternal);
  auto offsets = only_zero.Get(0)->ReadOffsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_TRUE(offsets->empty());
}

}  // namespace
}  // namespace recur
