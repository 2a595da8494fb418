// KafkaAdmin: the metadata and offset queries recur's tools make outside the
// consumer group — partition counts, low/high watermarks, offsets for a time —
// and the handle to read a topic with assign() without joining a group.
// `recur replay` resolves its range with it; the pipeline's own position and
// lag queries stay in its record source (kafka_source.h).
//
//   auto admin = recur::KafkaAdmin::Create(kafka, "recur-replay-query-123");
//   if (!admin.ok()) return admin.status();
//   auto counts = (*admin)->PartitionCounts(absl::Seconds(10));   // topic -> n
//   auto marks = (*admin)->QueryWatermarks("shop.purchases", 0, absl::Seconds(10), "offsets");
//   auto start = (*admin)->OffsetsForTime(ends, time_ms, absl::Seconds(10));
//
// Errors are absl::Status through KafkaError (kafka.h), except a cluster that
// does not answer at all: Unavailable naming the bootstrap servers, and an
// authentication/TLS failure: Unauthenticated at once (KafkaSecurityError).
// Thread-safety: one thread at a time. Owns its rd_kafka_t (a consumer that never
// subscribes; nothing joins, nothing commits).
#ifndef RECUR_STREAMS_ADMIN_H_
#define RECUR_STREAMS_ADMIN_H_

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "featurestore/types.h"
#include "streams/kafka.h"

namespace recur {

// The bootstrap servers of `kafka`, or "(no --brokers)", for messages.
std::string BootstrapServers(const KafkaProperties& kafka);

// OK when `topic` is among `counts` (PartitionCounts); NotFound saying which
// topic (`what` it is for) is missing on which cluster and how to create it.
absl::Status RequireTopic(const std::map<std::string, int32_t>& counts, const std::string& topic,
                          const char* what, const KafkaProperties& kafka);

class KafkaAdmin {
 public:
  // `group` is only set because rd_kafka_assign needs one. `eof`: report
  // partition ends while reading with assign() (enable.partition.eof).
  // InvalidArgument without bootstrap.servers.
  static absl::StatusOr<std::unique_ptr<KafkaAdmin>> Create(const KafkaProperties& kafka,
                                                            const std::string& group,
                                                            bool eof = false);
  KafkaAdmin(const KafkaAdmin&) = delete;
  KafkaAdmin& operator=(const KafkaAdmin&) = delete;

  // Partition count per topic of the cluster (topics the broker reports an
  // error for are left out). Unavailable when no broker answers in `timeout`;
  // Unauthenticated as soon as an authentication/TLS failure is reported.
  // Call it before reading with handle(): it serves the consumer queue.
  absl::StatusOr<std::map<std::string, int32_t>> PartitionCounts(absl::Duration timeout);

  struct Watermarks {
    int64_t low = 0;   // first offset still on the broker
    int64_t high = 0;  // next offset to be written
  };
  // Asks the partition's leader. `what` names the query in an error.
  absl::StatusOr<Watermarks> QueryWatermarks(const std::string& topic, int32_t partition,
                                             absl::Duration timeout, const std::string& what);

  // Per partition of `ends`: the first offset whose timestamp is >= `time_ms`,
  // or the partition's entry in `ends` when there is none (never beyond it).
  absl::StatusOr<OffsetMap> OffsetsForTime(const OffsetMap& ends, int64_t time_ms,
                                           absl::Duration timeout);

  // Consumer group `group` as its coordinator has it: its state and its
  // members (member ids) with the partition numbers assigned to each (of any
  // topic). While the group rebalances, members may be reported without
  // partitions or with their old ones: only a stable group's are its assignment.
  struct GroupView {
    std::string state;    // the coordinator's: "Stable", "PreparingRebalance", ...
    bool stable = false;  // Stable, or Empty (no member)
    std::map<std::string, std::set<int32_t>> members;
  };
  absl::StatusOr<GroupView> DescribeGroup(const std::string& group, absl::Duration timeout);

  // For reading with rd_kafka_assign + rd_kafka_consumer_poll.
  rd_kafka_t* handle() { return rk_.get(); }

 private:
  explicit KafkaAdmin(std::string bootstrap) : bootstrap_(std::move(bootstrap)) {}
  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque);

  std::string bootstrap_;
  absl::Status security_error_;  // set by OnError, on the thread that polls
  KafkaPtr rk_;                  // last: destroyed first, while OnError's state lives
};

}  // namespace recur

#endif  // RECUR_STREAMS_ADMIN_H_
