// Committer: makes one Batch durable, in the order that keeps the pipeline's
// guarantees (docs/DESIGN.md "Processing semantics"):
//   1. every dead letter is sent to the DLQ and its delivery confirmed;
//   2. then, per partition number, one FeatureStore::ApplyBatch — the events,
//      the next offsets and the stream times of every topic-partition read, in
//      one RocksDB WriteBatch — partitions in parallel;
//   3. then the events the stores refused as beyond their daily cap
//      (ApplyStats::rate_limited) go to the DLQ as `rate_limited`. The stores
//      must be write-back (nothing durable before Flush, which the caller runs
//      after Commit), so these dead letters too are delivered before the state
//      that left their events out is durable.
// A crash after 1 repeats dead letters (at least once) but never loses one; the
// state and its offsets land together or not at all. An attempt that fails
// part-way remembers what already landed (Progress): a retry neither re-sends
// a delivered dead letter nor re-applies a partition that was written.
//
// One dead letter never blocks a batch: a record is relayed whole only up to
// CommitterOptions::max_relayed_bytes (key + value), otherwise headers-only
// (its reason and source coordinates, original size and SHA-256); and a dead
// letter the DLQ refuses (anything but Unavailable, e.g. the topic's
// max.message.bytes) is re-sent headers-only at once.
//
//   recur::Committer committer(&dlq_sink, "recur.dlq", &stores);
//   recur::Committer::Progress progress;   // one per batch
//   recur::Committer::Report report;
//   absl::Status s = committer.Commit(builder.batch(), &progress, &report);
//   // report.applied: the partitions written by this attempt, even when s fails
//
// Thread-safety: Commit on one thread; it calls PartitionWriter::Apply from
// several threads at once (one partition each).
#ifndef RECUR_STREAMS_COMMITTER_H_
#define RECUR_STREAMS_COMMITTER_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "featurestore/feature_store.h"
#include "streams/batch_builder.h"
#include "streams/producer.h"
#include "streams/topics.h"

namespace recur {

// One record for the DLQ. Views point into the batch's dead letters.
struct DlqRecord {
  std::optional<std::string_view> key;  // nullopt: no key
  std::string_view value;
  Headers headers;
};

// Where dead letters go: Producer in production (ProducerSink).
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  // Sends `records` to `topic` and waits up to `timeout` for their deliveries.
  // One Status per record, in order: OK when delivered, else why not —
  // Unavailable when the broker did not confirm it in time (it may still
  // arrive: dead letters are at least once), anything else when it was refused.
  virtual std::vector<absl::Status> Deliver(const std::string& topic,
                                            std::span<const DlqRecord> records,
                                            absl::Duration timeout) = 0;
};

// Ownership: does not own the producer, which must outlive it. Records not
// confirmed when Deliver returns stay tracked until their delivery reports.
class ProducerSink final : public DeadLetterSink {
 public:
  explicit ProducerSink(Producer* producer) : producer_(producer) {}
  ~ProducerSink() override;
  ProducerSink(const ProducerSink&) = delete;
  ProducerSink& operator=(const ProducerSink&) = delete;
  std::vector<absl::Status> Deliver(const std::string& topic, std::span<const DlqRecord> records,
                                    absl::Duration timeout) override;

 private:
  Producer* producer_;
  // One per record sent; librdkafka's delivery reports point at them.
  std::vector<std::unique_ptr<DeliveryGroup>> in_flight_;
};

// Where the state goes: the open partition stores (PartitionStores).
class PartitionWriter {
 public:
  virtual ~PartitionWriter() = default;
  virtual bool IsOpen(int32_t partition) const = 0;
  // FeatureStore::ApplyBatch on the partition's store. Called concurrently for
  // different partitions.
  virtual absl::Status Apply(int32_t partition, std::span<const v1::Event> events,
                             const OffsetMap& offsets, const StreamTimeMap& stream_times,
                             FeatureStore::ApplyStats* stats) = 0;
};

struct CommitterOptions {
  // The largest dead letter (key + value bytes) relayed whole; larger ones go
  // headers-only. Well under the 1,000,000 bytes of librdkafka's default
  // message.max.bytes and the broker's default max.message.bytes (1,048,588),
  // leaving room for the headers: a DLQ with default settings takes it.
  size_t max_relayed_bytes = 256 * 1024;
  // Headers-only dead letters keep the key up to this size.
  size_t max_headers_only_key_bytes = 1024;
  absl::Duration delivery_timeout = absl::Seconds(30);
  // The topic of each event kind: where a rate_limited event came from.
  TopicNames topics;
};

class Committer {
 public:
  Committer(DeadLetterSink* dlq, std::string dlq_topic, PartitionWriter* stores,
            CommitterOptions options = {})
      : dlq_(dlq), dlq_topic_(std::move(dlq_topic)), stores_(stores), options_(options) {}

  // How far one batch's commit got, across attempts.
  struct Progress {
    bool dead_sent = false;           // every dead letter is delivered
    std::set<size_t> dead_delivered;  // indexes into Batch::dead delivered so far
    std::set<int32_t> applied;        // partition numbers whose WriteBatch landed
    // The events the applied partitions left out as rate_limited, as dead
    // letters (the event re-encoded), and those of them delivered so far.
    std::vector<DeadLetter> limited;
    std::set<size_t> limited_delivered;
  };
  struct Applied {
    int32_t partition;
    FeatureStore::ApplyStats stats;
  };
  // What one attempt wrote.
  struct Report {
    std::vector<Applied> applied;  // partitions written by this attempt
    int64_t apply_ms = 0;          // wall time in ApplyBatch
  };

  // One attempt. Fails when a dead letter is not delivered even headers-only
  // (nothing stored; the delivered ones are not sent again), when a partition
  // has no open store (nothing stored), or with the first failed ApplyBatch
  // (the other partitions landed: see `report`).
  absl::Status Commit(const Batch& batch, Progress* progress, Report* report);

 private:
  // Delivers the dead letters not in `delivered` yet, recording each there.
  absl::Status SendDeadLetters(std::span<const DeadLetter> dead, std::set<size_t>* delivered);
  // The rate_limited dead letter of event `index` of `partition`'s events.
  DeadLetter RateLimited(const Batch& batch, int32_t partition, size_t index) const;
  // The DLQ form of a dead letter: whole, or headers-only.
  DlqRecord Relayed(const DeadLetter& d, bool whole) const;

  DeadLetterSink* dlq_;
  std::string dlq_topic_;
  PartitionWriter* stores_;
  CommitterOptions options_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_COMMITTER_H_
