// Committer: makes one Batch durable, in the order that keeps the pipeline's
// guarantees (docs/DESIGN.md "Processing semantics"):
//   1. every dead letter is sent to the DLQ and its delivery confirmed (Flush);
//   2. then, per partition number, one FeatureStore::ApplyBatch — the events,
//      the next offsets and the stream times of every topic-partition read, in
//      one RocksDB WriteBatch — partitions in parallel.
// A crash after 1 repeats dead letters (at least once) but never loses one; the
// state and its offsets land together or not at all. An attempt that fails
// part-way remembers what already landed (Progress): a retry neither re-sends
// the dead letters nor re-applies a partition that was written.
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

namespace recur {

// Where dead letters go: Producer in production (ProducerSink).
class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual absl::Status Send(const std::string& topic, std::optional<std::string_view> key,
                            std::string_view value, const Headers& headers) = 0;
  // Waits until everything sent is delivered; the first failure otherwise.
  virtual absl::Status Flush(absl::Duration timeout) = 0;
};

class ProducerSink final : public DeadLetterSink {
 public:
  explicit ProducerSink(Producer* producer) : producer_(producer) {}
  absl::Status Send(const std::string& topic, std::optional<std::string_view> key,
                    std::string_view value, const Headers& headers) override {
    return producer_->Send(topic, key, value, headers);
  }
  absl::Status Flush(absl::Duration timeout) override { return producer_->Flush(timeout); }

 private:
  Producer* producer_;
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

class Committer {
 public:
  Committer(DeadLetterSink* dlq, std::string dlq_topic, PartitionWriter* stores)
      : dlq_(dlq), dlq_topic_(std::move(dlq_topic)), stores_(stores) {}

  // How far one batch's commit got, across attempts.
  struct Progress {
    bool dead_sent = false;     // the dead letters are delivered
    std::set<int32_t> applied;  // partition numbers whose WriteBatch landed
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

  // One attempt. Fails on the first DLQ failure (nothing stored), when a
  // partition has no open store (nothing stored), or with the first failed
  // ApplyBatch (the other partitions landed: see `report`).
  absl::Status Commit(const Batch& batch, Progress* progress, Report* report);

 private:
  absl::Status SendDeadLetters(const Batch& batch);

  DeadLetterSink* dlq_;
  std::string dlq_topic_;
  PartitionWriter* stores_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_COMMITTER_H_
