// KafkaChangelog's fault paths against librdkafka's in-process mock cluster
// (the broker path itself: tests/integration/changelog_test.sh): appends read
// back in order with their tombstones, from any end offset; an append while
// the broker is down fails, and the next one succeeds; a fenced changelog
// stays fenced (never restarted); a store end beyond the log is refused. Fencing (a second writer
// of the partition) is Kafka's own: the mock cluster of librdkafka 2.0.2 lets the fenced producer
// commit, so tests/integration/changelog_test.sh checks it against the real broker.
#include "streams/changelog_kafka.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "streams/embedded.h"
#include "streams/topics.h"

namespace recur {
namespace {

struct Read {
  std::string key, value;
  bool tombstone = false;
  bool operator==(const Read&) const = default;
};

class KafkaChangelogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto kafka = EmbeddedKafka::Start(2, TopicNames{});
    ASSERT_TRUE(kafka.ok()) << kafka.status();
    kafka_ = std::move(*kafka);
    ASSERT_EQ(rd_kafka_mock_topic_create(kafka_->cluster(), "recur.changelog", 2, 1),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  absl::StatusOr<std::unique_ptr<KafkaChangelog>> Make(absl::Duration timeout = absl::Seconds(30),
                                                       KafkaProperties kafka = {}) {
    KafkaChangelogOptions o;
    o.kafka = std::move(kafka);
    o.kafka["bootstrap.servers"] = kafka_->bootstraps();
    o.partition = 1;
    o.group = "test";
    o.timeout = timeout;
    return KafkaChangelog::Create(o);
  }
  static absl::StatusOr<int64_t> Append(KafkaChangelog& log, const std::vector<Read>& records) {
    std::vector<ChangelogRecord> r;
    for (const Read& x : records) r.push_back({x.key, x.value, x.tombstone});
    return log.Append(r);
  }
  static std::vector<Read> ReadAll(KafkaChangelog& log, int64_t from, int64_t* end = nullptr) {
    std::vector<Read> out;
    int64_t last_next = from;
    auto e = log.ReadFrom(from, [&](std::span<const ChangelogRecord> part, int64_t next) {
      for (const ChangelogRecord& r : part)
        out.push_back({std::string(r.key), std::string(r.value), r.tombstone});
      EXPECT_GT(next, last_next);
      last_next = next;
      return absl::OkStatus();
    });
    EXPECT_TRUE(e.ok()) << e.status();
    if (end != nullptr && e.ok()) *end = *e;
    return out;
  }

  std::unique_ptr<EmbeddedKafka> kafka_;
};

TEST_F(KafkaChangelogTest, AppendsAreReadBackInOrderWithTombstonesFromAnyEnd) {
  auto log = Make();
  ASSERT_TRUE(log.ok()) << log.status();
  const std::vector<Read> first = {{"m:format", "recur-store-1"}, {"ca/1", "head"}};
  const std::vector<Read> second = {{"ca/1", "", true}, {"o", std::string("\0\x01", 2)}};
  auto end1 = Append(**log, first);
  ASSERT_TRUE(end1.ok()) << end1.status();
  EXPECT_EQ(*end1, 2);  // the offsets after the unit's records (its marker follows)
  auto end2 = Append(**log, second);
  ASSERT_TRUE(end2.ok()) << end2.status();
  EXPECT_GT(*end2, *end1 + 1);
  std::vector<Read> both = first;
  both.insert(both.end(), second.begin(), second.end());
  int64_t end = 0;
  EXPECT_EQ(ReadAll(**log, 0, &end), both);
  EXPECT_GE(end, *end2);
  EXPECT_EQ(ReadAll(**log, *end1), second);
  EXPECT_TRUE(ReadAll(**log, end).empty());
  // A store that was written further than the log goes (a recreated topic).
  auto beyond = (*log)->ReadFrom(end + 10, [](auto, int64_t) { return absl::OkStatus(); });
  EXPECT_TRUE(absl::IsFailedPrecondition(beyond.status())) << beyond.status();
}

// A standby's reader (KafkaChangelog::Reader) reads what the writer appended,
// can not append, does not fence the writer, and a cancelled one stops reading.
TEST_F(KafkaChangelogTest, AReaderReadsWithoutFencingTheWriterAndCanNotAppend) {
  auto writer = Make();
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE(Append(**writer, {{"k1", "v1"}}).ok());
  KafkaChangelogOptions o;
  o.kafka["bootstrap.servers"] = kafka_->bootstraps();
  o.partition = 1;
  o.group = "test";
  auto reader = KafkaChangelog::Reader(o);
  EXPECT_EQ(ReadAll(*reader, 0), (std::vector<Read>{{"k1", "v1"}}));
  auto refused = Append(*reader, {{"k2", "v2"}});
  EXPECT_TRUE(absl::IsFailedPrecondition(refused.status())) << refused.status();
  ASSERT_TRUE(Append(**writer, {{"k3", "v3"}}).ok()) << "the reader fenced the writer";
  EXPECT_EQ(ReadAll(*reader, 0), (std::vector<Read>{{"k1", "v1"}, {"k3", "v3"}}));
  reader->Cancel();
  auto cancelled = reader->ReadFrom(0, [](auto, int64_t) { return absl::OkStatus(); });
  EXPECT_TRUE(absl::IsCancelled(cancelled.status())) << cancelled.status();
}

TEST_F(KafkaChangelogTest, AnAppendWhileTheBrokerIsDownFailsAndTheNextSucceeds) {
  auto log = Make(absl::Seconds(3));
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(Append(**log, {{"k1", "v1"}}).ok());
  ASSERT_EQ(rd_kafka_mock_broker_set_down(kafka_->cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  auto failed = Append(**log, {{"k2", "lost"}});
  EXPECT_FALSE(failed.ok());
  ASSERT_EQ(rd_kafka_mock_broker_set_up(kafka_->cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  absl::StatusOr<int64_t> next = absl::UnavailableError("not tried");
  for (int i = 0; i < 20 && !next.ok(); ++i) next = Append(**log, {{"k3", "v3"}});
  ASSERT_TRUE(next.ok()) << next.status();
  // The failed append's commit is completed by the next one (a timed-out
  // commit can not be aborted) or aborted: its record is read whole or not
  // at all, before the next append's (a store repeats it in that append).
  const std::vector<Read> read = ReadAll(**log, 0);
  const std::vector<Read> without = {{"k1", "v1"}, {"k3", "v3"}};
  const std::vector<Read> with = {{"k1", "v1"}, {"k2", "lost"}, {"k3", "v3"}};
  EXPECT_TRUE(read == without || read == with) << read.size() << " records";
}

// A fenced producer (the broker says another instance opened the partition's
// changelog since) is never restarted: a new producer's init_transactions
// would fence the instance that owns the partition now. Every later append
// fails the same way, and the next owner's changelog writes on.
TEST_F(KafkaChangelogTest, AFencedChangelogStaysFencedAndWritesNothing) {
  // A queue of 10 records: the append below waits for room, and the
  // producer turns fatal while it is still producing (as with a large flush).
  auto log = Make(absl::Seconds(10), {{"queue.buffering.max.messages", "10"}});
  ASSERT_TRUE(log.ok()) << log.status();
  ASSERT_TRUE(Append(**log, {{"k1", "v1"}}).ok());
  // The broker's answer to the next AddPartitionsToTxn (ApiKey 24): an old epoch.
  rd_kafka_mock_push_request_errors(kafka_->cluster(), 24, 1,
                                    RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH);
  std::vector<Read> many;
  for (int i = 0; i < 1000; ++i) many.push_back({"k2/" + std::to_string(i), "zombie"});
  auto fenced = Append(**log, many);
  ASSERT_TRUE(absl::IsFailedPrecondition(fenced.status())) << fenced.status();
  EXPECT_NE(fenced.status().message().find("another instance"), std::string::npos);
  // The injected error was answered once: a restarted producer would succeed here.
  auto again = Append(**log, {{"k3", "zombie"}});
  EXPECT_TRUE(absl::IsFailedPrecondition(again.status())) << again.status();
  auto owner = Make(absl::Seconds(10));
  ASSERT_TRUE(owner.ok()) << owner.status();
  ASSERT_TRUE(Append(**owner, {{"k4", "v4"}}).ok());
  EXPECT_EQ(ReadAll(**owner, 0), (std::vector<Read>{{"k1", "v1"}, {"k4", "v4"}}));
}

}  // namespace
}  // namespace recur
