// KafkaChangelog: a partition store's changelog (featurestore/changelog.h) on
// one partition of a compacted Kafka topic, partition number = the store's
// input partition number (docs/DESIGN.md, "Scale-out").
//
//   auto log = recur::KafkaChangelog::Create({.kafka = kafka, .topic = "recur.changelog",
//                                             .partition = 3, .group = "recur"});
//   store_options.changelog = log->get();   // then FeatureStore::Open
//
// Append is one Kafka transaction of a transactional producer whose
// transactional.id is "<group>-changelog-<partition>": whichever instance
// opens the partition's changelog last fences the one before (its producer
// can no longer commit) and aborts the transaction it left open, so a
// partition's changelog has one writer, as its store has one owner.
// ReadFrom reads with isolation.level=read_committed: aborted appends are
// never seen, and a flush's records only once its transaction committed.
// Reader() makes one without a producer (a standby's copy, streams/standby.h):
// it fences nobody, and its Append is refused.
// Thread-safety: one thread at a time (a store calls it from its flush or
// its Open), except Cancel. Owns its rd_kafka_t handles.
#ifndef RECUR_STREAMS_CHANGELOG_KAFKA_H_
#define RECUR_STREAMS_CHANGELOG_KAFKA_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "featurestore/changelog.h"
#include "streams/kafka.h"
#include "streams/pipeline.h"

namespace recur {

// The largest changelog record the producer sends; the topic's
// max.message.bytes must allow it (ops/kafka/create-topics --config).
inline constexpr int kMaxRecordBytes = 32 << 20;

struct KafkaChangelogOptions {
  KafkaProperties kafka;  // bootstrap.servers and the clients' properties
  std::string topic = "recur.changelog";
  int32_t partition = 0;
  std::string group = "recur";  // the transactional.id's prefix
  // For one transaction's commit, and for a read that makes no progress.
  absl::Duration timeout = absl::Seconds(60);
};

class KafkaChangelog final : public Changelog {
 public:
  // Initialises the transactional producer (fencing a previous one with the
  // same id). Unavailable when the cluster does not answer in time.
  static absl::StatusOr<std::unique_ptr<KafkaChangelog>> Create(KafkaChangelogOptions options);
  // Reads only: no producer, no transactional.id (nothing is fenced).
  static std::unique_ptr<KafkaChangelog> Reader(KafkaChangelogOptions options);
  ~KafkaChangelog() override;
  KafkaChangelog(const KafkaChangelog&) = delete;
  KafkaChangelog& operator=(const KafkaChangelog&) = delete;

  absl::StatusOr<int64_t> Append(std::span<const ChangelogRecord> records) override;
  absl::StatusOr<int64_t> ReadFrom(
      int64_t from,
      const std::function<absl::Status(std::span<const ChangelogRecord>, int64_t next)>& fn)
      override;
  std::string_view name() const override { return name_; }
  // From any thread: a ReadFrom in progress returns Cancelled at its next
  // poll (what it delivered stays delivered), and so does every later one.
  void Cancel() { cancelled_.store(true); }

 private:
  explicit KafkaChangelog(KafkaChangelogOptions options);
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque);
  absl::Status StartProducer();
  absl::Status Commit();
  // Records the state a failed transactional call left (below) and returns its error.
  absl::Status Failed(const std::unique_ptr<rd_kafka_error_t, KafkaDeleter>& e, const char* what);
  absl::Status ProduceFailed(rd_kafka_resp_err_t err);

  const KafkaChangelogOptions options_;
  const std::string name_;
  // Delivery reports of the transaction in flight (served on the caller's thread).
  int64_t delivered_ = 0;
  int64_t last_offset_ = -1;
  rd_kafka_resp_err_t delivery_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  // What a failed Append left for the next: an open transaction to abort, a
  // commit to finish (retriable), or a fatal error (fenced) that every later
  // Append returns. The producer is started once, by Create: restarting it
  // after a failure would fence the instance that owns the partition now.
  bool needs_abort_ = false;
  bool commit_pending_ = false;
  absl::Status dead_;
  std::atomic<bool> cancelled_{false};
  KafkaPtr producer_;  // last: destroyed first, while OnDelivery's state lives
};

// OK when options.changelog_topic exists with at least as many partitions as
// each input topic; NotFound / FailedPrecondition saying what to create.
absl::Status CheckChangelogTopic(const PipelineOptions& options);

}  // namespace recur

#endif  // RECUR_STREAMS_CHANGELOG_KAFKA_H_
