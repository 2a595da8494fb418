// RecordSource: where the pipeline's records come from, one event at a time, in
// the order things happened — records, partition ends, assignment changes,
// broker outages. The pipeline acts on each event on its own thread; a source
// never calls back into it. KafkaSource (kafka_source.h) is the consumer-group
// implementation; FakeRecordSource (fake_source.h) a scripted one for tests.
//
//   while (auto e = source->Poll(50)) {
//     switch (e->kind) {
//       case SourceEvent::kAssigned: OpenStores(); source->Assign(stored_offsets); break;
//       case SourceEvent::kRevoked:  CommitInFlight(); CloseStores(); source->Unassign(); break;
//       case SourceEvent::kRecord:   builder.Add(e->record); break;
//       ...
//     }
//   }
//
// Assignment protocol: after kAssigned the source reads nothing until Assign()
// (with the offsets to start from); after kRevoked it must be answered with
// Unassign() before the next Poll — the group waits for both (within the
// session timeout), which is what lets the pipeline commit what is in flight
// before the partitions go to another instance.
#ifndef RECUR_STREAMS_RECORD_SOURCE_H_
#define RECUR_STREAMS_RECORD_SOURCE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "featurestore/types.h"
#include "streams/decoder.h"

namespace recur {

// Assign(): start a partition at its beginning (librdkafka's
// RD_KAFKA_OFFSET_BEGINNING).
inline constexpr int64_t kOffsetBeginning = -2;

struct SourceEvent {
  enum Kind {
    kRecord,      // `record`: views valid until the next Poll
    kEnd,         // `tp` is read to its end; `offset` is the end offset
    kAssigned,    // the group gave this instance `partitions`
    kRevoked,     // the group takes `partitions` (the whole assignment) away
    kBrokerDown,  // no broker reachable; `status` says why
    kFatal,       // the source can not go on; `status` says why
  };
  Kind kind = kRecord;
  RawRecord record;
  TopicPartition tp;  // kRecord and kEnd
  int64_t offset = 0;
  std::vector<TopicPartition> partitions;
  // kAssigned/kRevoked of a cooperative group: `partitions` are added to or
  // taken from the assignment, the rest stays (Assign adds, Unassign removes
  // just these). Otherwise a kRevoked takes everything.
  bool incremental = false;
  absl::Status status;
};

class RecordSource {
 public:
  virtual ~RecordSource() = default;

  // Waits up to `timeout_ms` for the next event; nullopt if nothing happened.
  virtual std::optional<SourceEvent> Poll(int timeout_ms) = 0;

  // Answers kAssigned: reads each partition from its offset (kOffsetBeginning
  // allowed), in this order. Empty: takes nothing (the assignment failed).
  virtual absl::Status Assign(const std::vector<std::pair<TopicPartition, int64_t>>& starts) = 0;
  // Answers kRevoked (an incremental one: gives up just its partitions).
  virtual absl::Status Unassign() = 0;

  // Stops fetching a partition (a bounded run reached its stop offset).
  virtual void Pause(const TopicPartition& tp) = 0;
  // Records `offsets` (next offset per partition) in the group, asynchronously.
  // Monitoring only: recur's offsets live in the partition stores.
  virtual void CommitAsync(const OffsetMap& offsets) = 0;
  // The last known end offset of a partition (nullopt: not known); may be
  // negative while the client has not learnt it.
  virtual std::optional<int64_t> EndOffset(const TopicPartition& tp) = 0;
  // The next offset to be fetched (nullopt: not known; negative: none yet).
  virtual std::optional<int64_t> Position(const TopicPartition& tp) = 0;
  // Asks the cluster something: true when a broker answered (after kBrokerDown,
  // nothing else may arrive to tell that it is back).
  virtual bool ProbeBroker() = 0;

  // Leaves the group and joins it again as a new member: after this instance
  // found its partitions taken over (ChangelogFenced) without a revocation;
  // a kRevoked of what it had and a new kAssigned follow.
  virtual absl::Status Rejoin() = 0;

  // Leaves the group. Call after answering the last kRevoked (or with nothing
  // assigned); the source answers any revocation during the close itself.
  // Returns a fatal client error reported while closing (OK if none).
  virtual absl::Status Close() = 0;
};

}  // namespace recur

#endif  // RECUR_STREAMS_RECORD_SOURCE_H_
