// The committer without a broker: dead letters are delivered before any state
// is written and nothing is stored when their delivery fails; the offsets and
// stream times land per partition store; a retry skips what already landed.
#include "streams/committer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <set>

#include "featurestore/changelog.h"
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

// Records what it is given; refuses records over `max_bytes` as a broker
// refuses a record over max.message.bytes, and fails whole deliveries or
// single records (by source offset) with Unavailable on request.
class RecordingSink : public DeadLetterSink {
 public:
  explicit RecordingSink(Log* log) : log_(log) {}
  std::vector<absl::Status> Deliver(const std::string& topic, std::span<const DlqRecord> records,
                                    absl::Duration) override {
    std::vector<absl::Status> out;
    const bool down = deliver_failures > 0;
    if (down) --deliver_failures;
    // A broker refuses a whole produce request when one of its records is too large.
    const bool one_too_large = std::any_of(records.begin(), records.end(), [&](const DlqRecord& r) {
      return r.value.size() + (r.key ? r.key->size() : 0) > max_bytes;
    });
    for (const DlqRecord& r : records) {
      log_->Add("send");
      Sent s{topic, r.key ? std::optional<std::string>(std::string(*r.key)) : std::nullopt,
             std::string(r.value), r.headers};
      const std::string offset = s.Header("recur.error.offset");
      if (down || unavailable_offsets.erase(offset) > 0) {
        out.push_back(absl::UnavailableError("broker down"));
      } else if (r.value.size() + (r.key ? r.key->size() : 0) > max_bytes ||
                 (refuse_together && one_too_large)) {
        refused.push_back(std::move(s));
        out.push_back(absl::InvalidArgumentError("Broker: Message size too large"));
      } else {
        sent.push_back(std::move(s));
        out.push_back(absl::OkStatus());
      }
    }
    log_->Add("flush");
    return out;
  }
  struct Sent {
    std::string topic;
    std::optional<std::string> key;
    std::string value;
    Headers headers;
    std::string Header(const std::string& name) const {
      for (const auto& [k, v] : headers) {
        if (k == name) return v;
      }
      return "";
    }
  };
  std::vector<Sent> sent;     // delivered
  std::vector<Sent> refused;  // refused as too large
  int deliver_failures = 0;
  std::set<std::string> unavailable_offsets;  // fail once each
  size_t max_bytes = SIZE_MAX;
  bool refuse_together = false;  // one record too large fails all of one Deliver

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
  EXPECT_EQ(sink.sent[0].headers,
            (Headers{{"recur.error.reason", "undecodable"},
                     {"recur.error.topic", "shop.purchases"},
                     {"recur.error.partition", "1"},
                     {"recur.error.offset", "31"},
                     {"recur.error.original_size", "10"},
                     {"recur.error.sha256",
                      "97d5409b5747fe765efffb4f84257a137d9ec9387ecf1889a444fe4852737329"}}));
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
  sink.deliver_failures = 1;
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
  EXPECT_EQ(log_.Count("send"), 2);
  EXPECT_EQ(sink.sent.size(), 1u);
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

// Issue 15, item 1: a dead letter larger than the DLQ takes (a 1,040,000-byte
// record is legal on an input topic with default limits) was refused, the batch
// failed, and every restart failed on it again. Now it goes headers-only.
TEST_F(CommitterTest, ADeadLetterTheDlqRefusesAsTooLargeIsRelayedHeadersOnly) {
  RecordingSink sink(&log_);
  sink.max_bytes = 1'000'000;  // librdkafka's default message.max.bytes
  CommitterOptions options;
  options.max_relayed_bytes = 10'000'000;  // no cap: the refusal itself must be handled
  Committer committer(&sink, "recur.dlq", flaky_.get(), options);
  BatchBuilder b(DecoderOptions{}, {});
  b.Add(testing::Record{kPurchases0, 10, key_, ev_.Purchase(Ms(2024, 3, 1), 10).SerializeAsString()}
            .Raw());
  const std::string huge(1'040'000, '\xff');  // garbage: undecodable
  b.Add(testing::Record{kPurchases1, 30, key_, huge}.Raw());
  b.Add(testing::Record{kPurchases1, 31, key_, "\xff\xff garbage"}.Raw());
  const Batch batch = b.batch();
  ASSERT_EQ(batch.dead.size(), 2u);
  Committer::Progress progress;
  Committer::Report report;
  absl::Status s = committer.Commit(batch, &progress, &report);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(sink.refused.size(), 1u);  // the whole one, once
  ASSERT_EQ(sink.sent.size(), 2u);     // the small one whole, the huge one headers-only
  const auto& small = sink.sent[0];
  EXPECT_EQ(small.value, "\xff\xff garbage");
  EXPECT_EQ(small.Header("recur.error.omitted"), "");
  const auto& headers_only = sink.sent[1];
  EXPECT_EQ(headers_only.value, "");
  EXPECT_EQ(headers_only.key, key_);
  EXPECT_EQ(headers_only.Header("recur.error.reason"), "undecodable");
  EXPECT_EQ(headers_only.Header("recur.error.topic"), "shop.purchases");
  EXPECT_EQ(headers_only.Header("recur.error.partition"), "1");
  EXPECT_EQ(headers_only.Header("recur.error.offset"), "30");
  EXPECT_EQ(headers_only.Header("recur.error.original_size"), "1040000");
  // sha256sum of 1,040,000 bytes 0xff, computed outside recur.
  EXPECT_EQ(headers_only.Header("recur.error.sha256"),
            "7f91b3bb75d2b2d0a605507e1c3c1f6dff843bbdd07e78a7f44db4711171eea9");
  EXPECT_EQ(headers_only.Header("recur.error.omitted"), "value");
  EXPECT_EQ(log_.Count("send"), 3);  // two whole, then only the refused one again
  EXPECT_TRUE(progress.dead_sent);
  EXPECT_EQ(StoredOffsets(0), (OffsetMap{{kPurchases0, 11}}));
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{kPurchases1, 32}}));
}

TEST_F(CommitterTest, ADeadLetterOverTheCapIsNeverSentWhole) {
  RecordingSink sink(&log_);
  Committer committer(&sink, "recur.dlq", flaky_.get());  // the default cap
  BatchBuilder b(DecoderOptions{}, {});
  const std::string big(CommitterOptions{}.max_relayed_bytes + 1, '\x0a');
  const std::string long_key(2000, 'k');
  b.Add(testing::Record{kPurchases0, 7, long_key, big}.Raw());
  b.Add(testing::Record{kPurchases0, 8, std::nullopt, big}.Raw());
  Committer::Progress progress;
  Committer::Report report;
  ASSERT_TRUE(committer.Commit(b.batch(), &progress, &report).ok());
  EXPECT_TRUE(sink.refused.empty());
  ASSERT_EQ(sink.sent.size(), 2u);
  EXPECT_EQ(sink.sent[0].value, "");
  EXPECT_FALSE(sink.sent[0].key.has_value());  // a key over 1 KiB goes too
  EXPECT_EQ(sink.sent[0].Header("recur.error.omitted"), "key,value");
  EXPECT_EQ(sink.sent[0].Header("recur.error.original_size"), std::to_string(big.size()));
  EXPECT_EQ(sink.sent[1].Header("recur.error.omitted"), "value");
  EXPECT_FALSE(sink.sent[1].key.has_value());
  EXPECT_EQ(log_.Count("send"), 2);
}

// Found by the integration test against a DLQ topic with max.message.bytes
// 50,000: the broker refuses a produce request as a whole, so a headers-only
// dead letter batched with a refused one fails too, and must be re-sent.
TEST_F(CommitterTest, DeadLettersRefusedAlongWithATooLargeOneAreResentHeadersOnly) {
  RecordingSink sink(&log_);
  sink.max_bytes = 50'000;
  sink.refuse_together = true;
  Committer committer(&sink, "recur.dlq", flaky_.get());
  BatchBuilder b(DecoderOptions{}, {});
  b.Add(testing::Record{kPurchases1, 50, key_, std::string(100'000, '\xff')}.Raw());    // whole
  b.Add(testing::Record{kPurchases1, 51, key_, std::string(1'040'000, '\xff')}.Raw());  // over cap
  Committer::Progress progress;
  Committer::Report report;
  absl::Status s = committer.Commit(b.batch(), &progress, &report);
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(sink.refused.size(), 2u);
  ASSERT_EQ(sink.sent.size(), 2u);
  for (const auto& sent : sink.sent) {
    EXPECT_EQ(sent.value, "");
    EXPECT_EQ(sent.Header("recur.error.omitted"), "value");
  }
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{kPurchases1, 52}}));
}

TEST_F(CommitterTest, ARetrySendsOnlyTheDeadLettersNotYetDelivered) {
  RecordingSink sink(&log_);
  Committer committer(&sink, "recur.dlq", flaky_.get());
  BatchBuilder b(DecoderOptions{}, {});
  for (int64_t o = 40; o < 45; ++o) b.Add(testing::Record{kPurchases1, o, key_, "\xff junk"}.Raw());
  const Batch batch = b.batch();
  sink.unavailable_offsets = {"42"};
  Committer::Progress progress;
  Committer::Report report;
  absl::Status s = committer.Commit(batch, &progress, &report);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("dead-letter delivery (shop.purchases/1/42)"), std::string::npos) << s;
  EXPECT_TRUE(StoredOffsets(1).empty());
  EXPECT_EQ(sink.sent.size(), 4u);
  ASSERT_TRUE(committer.Commit(batch, &progress, &report).ok());
  EXPECT_EQ(log_.Count("send"), 6);  // five, then only the one not delivered
  ASSERT_EQ(sink.sent.size(), 5u);
  EXPECT_EQ(sink.sent[4].Header("recur.error.offset"), "42");
  EXPECT_EQ(StoredOffsets(1), (OffsetMap{{kPurchases1, 45}}));
}

// A fenced changelog's error is not retried and keeps its mark through
// WithRetries: the pipeline gives its partitions up instead of stopping.
TEST(WithRetriesTest, AFencedChangelogIsNotRetriedAndStaysMarked) {
  int64_t retries = 0;
  int calls = 0;
  RetryPolicy policy{3, &retries, [](int) {}};
  absl::Status s = WithRetries("flush", policy, [&] {
    ++calls;
    return MarkChangelogFenced(absl::FailedPreconditionError("changelog x[0]: fenced"));
  });
  EXPECT_EQ(calls, 1);
  EXPECT_TRUE(ChangelogFenced(s)) << s;
  EXPECT_NE(s.message().find("flush not committed"), std::string::npos) << s;
  EXPECT_FALSE(ChangelogFenced(absl::FailedPreconditionError("other")));
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

  // Beyond the retries: 3 retries after the first attempt, then no wait.
  Committer::Progress beyond;
  waits.clear();
  flaky_->FailNext(0, 10);
  s = WithRetries("batch", policy, [&] { return committer.Commit(batch, &beyond, &report); });
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(retries, 5);
  EXPECT_EQ(waits, (std::vector<int>{200, 400, 800}));

  // A full disk: RocksDB refuses writes on that handle from then on, so the
  // step is not retried either (the process exits; a restart resumes).
  Committer::Progress again;
  flaky_->FailNext(0, 5, absl::ResourceExhaustedError("state store p-0: no space left on device"));
  s = WithRetries("batch", policy, [&] { return committer.Commit(batch, &again, &report); });
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(retries, 5);  // not retried
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

TEST_F(CommitterTest, EventsBeyondTheDailyCapGoToTheDlqBeforeAnythingIsDurable) {
  // Cap 2 per customer, kind and day: of four visits of c-1 on one day (offsets
  // 40..43 of shop.sessions/0), the last two are rate_limited. They are relayed
  // (the event re-encoded, its source coordinates in the headers) after the
  // apply and before any flush; a failed delivery is retried without applying
  // the partition again or re-sending the delivered one.
  PartitionStoresOptions o;
  o.state_dir = (dir_ / "capped").string();
  o.max_events_per_day = 2;
  PartitionStores capped(o);
  ASSERT_TRUE(capped.Open(0).ok());
  FlakyStores flaky(&log_, &capped);
  BatchBuilder b(DecoderOptions{}, {});
  std::vector<v1::Event> visits;
  for (int i = 0; i < 4; ++i) {
    visits.push_back(ev_.Session(Ms(2024, 3, 1, 8 + i), 3, 2, 1, 0));
    b.Add(
        testing::Record{kSessions0, 40 + i, key_, visits.back().SerializeAsString(), Ms(2024, 3, 2)}
            .Raw());
  }
  RecordingSink sink(&log_);
  sink.unavailable_offsets = {"43"};  // its first delivery fails
  CommitterOptions options;
  Committer committer(&sink, "recur.dlq", &flaky, options);
  Committer::Progress progress;
  Committer::Report report;
  absl::Status s = committer.Commit(b.batch(), &progress, &report);
  EXPECT_TRUE(absl::IsUnavailable(s)) << s;
  ASSERT_EQ(report.applied.size(), 1u);
  EXPECT_EQ(report.applied[0].stats.applied, 2);
  EXPECT_EQ(report.applied[0].stats.rate_limited, (std::vector<size_t>{2, 3}));
  EXPECT_EQ(capped.Get(0)->cache_stats().flushes, 0);  // nothing durable yet
  ASSERT_TRUE(committer.Commit(b.batch(), &progress, &report).ok());
  EXPECT_EQ(log_.Count("apply 0"), 1);  // not applied again
  ASSERT_EQ(sink.sent.size(), 2u);      // 42 once, 43 on the retry
  for (size_t k = 0; k < 2; ++k) {
    const RecordingSink::Sent& d = sink.sent[k];
    EXPECT_EQ(d.topic, "recur.dlq");
    EXPECT_EQ(d.Header("recur.error.reason"), "rate_limited");
    EXPECT_EQ(d.Header("recur.error.topic"), "shop.sessions");
    EXPECT_EQ(d.Header("recur.error.partition"), "0");
    EXPECT_EQ(d.Header("recur.error.offset"), std::to_string(42 + k));
    EXPECT_EQ(d.key, std::optional<std::string>("shop-1/c-1"));
    v1::Event relayed;
    ASSERT_TRUE(relayed.ParseFromString(d.value));
    EXPECT_EQ(relayed.event_id(), visits[2 + k].event_id());
  }
  EXPECT_LT(log_.IndexOf("apply 0"), log_.IndexOf("send"));
  auto sessions = capped.Get(0)->ComputeFeatures({"shop-1", "c-1"}, Ms(2024, 3, 1, 23));
  ASSERT_TRUE(sessions.ok());
  EXPECT_EQ((*sessions)[kSessions7d], 2);
}

}  // namespace
}  // namespace recur
