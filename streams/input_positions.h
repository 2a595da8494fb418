// InputPositions: where the pipeline stands on each assigned input partition —
// the assignment, which partitions are read to their end, the next offset to
// read (progress) — and the questions the loop asks about them (every
// partition at its end? a partition number caught up? the lag per partition). Pure
// bookkeeping over the RecordSource's answers; no I/O of its own.
//
//   recur::InputPositions in;
//   in.Assign(parts, starts);            // on kAssigned, with the start offsets
//   if (in.Record(e.tp)) in.Consumed(e.record.offset);   // per kRecord
//   in.AtEnd(e.tp);                      // per kEnd
//   if (in.AllAtEnd(builder)) ...;
//
// Records arrive in runs per topic-partition (a fetch response each): Record()
// answers a run's later records without a lookup until something else happens
// (Interrupt(): an end, an outage, a pause, an assignment change).
// Thread-safety: none (the pipeline's thread).
#ifndef RECUR_STREAMS_INPUT_POSITIONS_H_
#define RECUR_STREAMS_INPUT_POSITIONS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "featurestore/types.h"
#include "streams/batch_builder.h"
#include "streams/record_source.h"

namespace recur {

// The partition numbers of `parts` (a number is one store; topics are co-partitioned).
std::set<int32_t> PartitionNumbers(const std::vector<TopicPartition>& parts);

// Where each of `parts` starts: the offset stored with its state (`stored`, by
// partition number), else `fallback`'s (a bounded run's start), else the beginning.
std::vector<std::pair<TopicPartition, int64_t>> StartOffsets(
    const std::vector<TopicPartition>& parts, const std::map<int32_t, OffsetMap>& stored,
    const OffsetMap& fallback);

class InputPositions {
 public:
  // Partitions assigned (added to any still assigned): `starts` holds each
  // one's start offset, in the group's order.
  void Assign(const std::vector<std::pair<TopicPartition, int64_t>>& starts);
  // Nothing assigned (a revocation).
  void Clear();
  // Forgets `parts` (an incremental revocation); the others stay.
  void Remove(const std::vector<TopicPartition>& parts);

  // A record of `tp` arrived: false when `tp` is not assigned (fetched before a
  // revocation; drop it). True: `tp` is no longer at its end; pass its offset
  // to Consumed() once the batch counted it.
  bool Record(const TopicPartition& tp);
  void Consumed(int64_t offset) { *run_position_ = offset + 1; }
  // `tp` is read to its end (ignored when not assigned).
  bool AtEnd(const TopicPartition& tp);
  // The ends are unknown (the broker is unreachable).
  void ForgetEnds();
  // A bounded run reached `tp`'s stop offset.
  void Stopped(const TopicPartition& tp, int64_t stop_offset);
  // Ends the current run of records (any other source event).
  void Interrupt() { run_.reset(); }

  bool empty() const { return assigned_.empty(); }
  // Every assigned partition read to its end or stopped.
  bool AllAtEnd(const BatchBuilder& builder) const;
  // Every assigned partition stopped (a bounded run is complete).
  bool AllStopped(const BatchBuilder& builder) const;
  // Every input partition of partition number `partition` read to its end
  // (asks `source` for the positions of the ones not known to be).
  bool CaughtUp(int32_t partition, const BatchBuilder& builder, RecordSource& source) const;
  // Records behind the end, per assigned partition whose end and position the
  // source knows (their sum is the pipeline's lag).
  std::map<TopicPartition, int64_t> LagByPartition(RecordSource& source) const;
  // Next offset to read per assigned partition (consumed, maybe not committed).
  const OffsetMap& positions() const { return positions_; }

 private:
  std::vector<TopicPartition> assigned_;  // in the group's order
  std::set<TopicPartition> assigned_set_;
  std::set<TopicPartition> at_end_;
  OffsetMap positions_;
  std::optional<TopicPartition> run_;  // the partition of the current run of records
  int64_t* run_position_ = nullptr;    // its entry in positions_
};

}  // namespace recur

#endif  // RECUR_STREAMS_INPUT_POSITIONS_H_
