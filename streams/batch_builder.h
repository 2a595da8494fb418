// BatchBuilder: turns consumed records into the next commit — pure logic, no
// I/O, no clock. Each record is decoded and checked (Decoder) against its
// source partition's stream time, and lands as an event of its partition
// number or as a dead letter with a reason; the batch remembers the next offset
// and the stream time of every topic-partition it read. For bounded runs it
// owns the stop offsets: a record at or beyond its partition's stop is dropped
// before it is counted, and reaching the stop puts exactly the stop offset in
// the batch.
//
//   recur::BatchBuilder builder(decoder_options, /*stop_offsets=*/{}, topics);
//   builder.SetStreamTime(tp, stored_time);              // on assignment
//   auto added = builder.Add(record);                    // per record
//   if (added.dead_reason) ...;                          // counted in the DLQ stats
//   committer.Commit(builder.batch(), ...);              // DLQ, then state
//   builder.Clear();                                     // once it is committed
//
// Thread-safety: none (the pipeline's thread).
#ifndef RECUR_STREAMS_BATCH_BUILDER_H_
#define RECUR_STREAMS_BATCH_BUILDER_H_

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "featurestore/types.h"
#include "proto/recur.pb.h"
#include "streams/decoder.h"

namespace recur {

// A record that goes to the DLQ: its original key and bytes, where it came
// from and why (the recur.error.* headers).
struct DeadLetter {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string> key;  // nullopt: the record had no key
  std::string value;
  std::string reason;
};

// Everything consumed since the last commit.
// The older of two Kafka timestamps, -1 meaning unknown.
inline int64_t OldestKnownMs(int64_t a, int64_t b) {
  return a < 0 ? b : (b < 0 ? a : std::min(a, b));
}

struct Batch {
  std::map<int32_t, std::vector<v1::Event>> events;  // good events by partition number
  // The source offset of each event, parallel to `events` (its topic is its
  // kind's: TopicNames::ForEvent): where a dead letter the store decides on
  // (rate_limited) came from.
  std::map<int32_t, std::vector<int64_t>> event_offsets;
  OffsetMap offsets;           // next offset per topic-partition read (stored with the state)
  StreamTimeMap stream_times;  // largest event time per topic-partition in `offsets`
  std::vector<DeadLetter> dead;
  size_t count = 0;  // records consumed (good and dead)
  // The smallest Kafka timestamp of its good records (-1: none had one): where
  // the event-to-score latency of the scores it causes starts.
  int64_t oldest_record_ms = -1;
  bool empty() const { return offsets.empty(); }
};

class BatchBuilder {
 public:
  // `stop_offsets` non-empty: a bounded run (PipelineOptions::stop_offsets);
  // a topic-partition missing from it is not read at all. `topics`: the input
  // topic of each event kind (an event on another kind's topic is `wrong_topic`).
  BatchBuilder(DecoderOptions decoder, OffsetMap stop_offsets, TopicNames topics = {});

  struct Added {
    bool counted = false;  // false: at or beyond the stop offset, dropped undecoded
    std::optional<std::string> dead_reason;  // set: dead-lettered
    bool late = false;     // good, but older than its stream time - the allowed lateness
    bool stopped = false;  // reached the stop offset with this record (pause the partition)
  };
  Added Add(const RawRecord& record);

  // The source says `tp` is read to `end_offset`. True when that reached the
  // stop offset just now (pause the partition).
  bool AtEnd(const TopicPartition& tp, int64_t end_offset);

  // The stream time a store remembers for `tp` (on assignment).
  void SetStreamTime(const TopicPartition& tp, int64_t time_ms) { stream_times_[tp] = time_ms; }

  const Batch& batch() const { return batch_; }
  bool empty() const { return batch_.empty(); }
  // After the batch is committed.
  void Clear() {
    batch_ = Batch();
    slot_ = Slot();
  }
  // Hands the batch to its commit (ApplyStage) and starts the next one.
  Batch TakeBatch() {
    Batch b = std::move(batch_);
    Clear();
    return b;
  }
  // After a revocation: the batch, the stream times and the stopped partitions.
  void Reset();

  bool bounded() const { return !stop_offsets_.empty(); }
  // The stop offset of `tp` (0 when it has none: not read at all).
  int64_t StopOf(const TopicPartition& tp) const;
  bool Stopped(const TopicPartition& tp) const { return stopped_.count(tp) > 0; }

 private:
  // Everything before the stop offset was read: store exactly the stop offset
  // with the next commit (also for an empty range or a gap before the stop,
  // e.g. transaction markers). True the first time.
  bool ReachStop(const TopicPartition& tp);

  // The map entries of the topic-partition the previous record came from.
  // Records arrive in runs per topic-partition (a fetch response each), so
  // most records skip the four map lookups. Pointers into std::map nodes stay
  // valid until the maps are replaced (Clear, Reset).
  struct Slot {
    std::string topic;  // empty: no slot
    int32_t partition = 0;
    int64_t* next_offset = nullptr;        // batch_.offsets
    int64_t* stream_time = nullptr;        // stream_times_
    int64_t* batch_stream_time = nullptr;  // batch_.stream_times
    std::vector<v1::Event>* events = nullptr;
    std::vector<int64_t>* event_offsets = nullptr;
  };
  Slot& SlotFor(const RawRecord& r);

  const Decoder decoder_;
  const OffsetMap stop_offsets_;
  Slot slot_;
  Batch batch_;
  StreamTimeMap stream_times_;  // largest event time per source partition, as stored
  std::set<TopicPartition> stopped_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_BATCH_BUILDER_H_
