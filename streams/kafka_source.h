// KafkaSource: the RecordSource of `recur run` — one librdkafka consumer in a
// consumer group over the input topics (range assignor, so every input topic's
// partition N goes to the same instance; or cooperative, options.cooperative,
// where kAssigned/kRevoked are incremental), read with rd_kafka_consumer_poll
// (never the batch consume APIs: docs/DESIGN.md "Known pitfalls").
//
//   auto source = recur::KafkaSource::Create({kafka, "recur", topics.inputs()});
//   RETURN_IF_ERROR((*source)->Subscribe());
//   while (auto e = (*source)->Poll(50)) { ... }   // see record_source.h
//   (*source)->Close();
//
// librdkafka's rebalance and error callbacks run inside Poll; they only record
// what happened (a kAssigned/kRevoked/kBrokerDown/kFatal event, queued in
// arrival order before any record fetched after it) and return, so the pipeline
// commits, closes and opens stores on its own loop, outside librdkafka. The one
// exception is a revocation during Close(): nobody polls any more, so the
// callback answers it itself.
// Thread-safety: one thread (the pipeline's). Owns its rd_kafka_t.
#ifndef RECUR_STREAMS_KAFKA_SOURCE_H_
#define RECUR_STREAMS_KAFKA_SOURCE_H_

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "streams/kafka.h"
#include "streams/record_source.h"

namespace recur {

struct KafkaSourceOptions {
  KafkaProperties kafka;  // bootstrap.servers and any librdkafka property (override the defaults)
  std::string group_id = "recur";
  std::vector<std::string> topics;
  // Cooperative incremental rebalancing: the group (cooperative-sticky) moves
  // only the partitions that must move, and the others keep being read. Its
  // membership is on the first input topic alone; partition N of every other
  // input topic follows partition N of that one (co-partitioning, which the
  // sticky assignor would not keep across topics). Subscribe refuses input
  // topics whose partition counts differ. CommitAsync commits nothing then
  // (docs/DESIGN.md, "Known pitfalls": librdkafka#4059).
  bool cooperative = false;
};

class KafkaSource final : public RecordSource {
 public:
  // Creates the consumer (not yet subscribed). InvalidArgument without
  // bootstrap.servers or for a bad property.
  static absl::StatusOr<std::unique_ptr<KafkaSource>> Create(const KafkaSourceOptions& options);
  ~KafkaSource() override;
  KafkaSource(const KafkaSource&) = delete;
  KafkaSource& operator=(const KafkaSource&) = delete;

  // Joins the group: assignments arrive as kAssigned events from Poll.
  absl::Status Subscribe();

  std::optional<SourceEvent> Poll(int timeout_ms) override;
  absl::Status Assign(const std::vector<std::pair<TopicPartition, int64_t>>& starts) override;
  absl::Status Unassign() override;
  void Pause(const TopicPartition& tp) override;
  void CommitAsync(const OffsetMap& offsets) override;
  std::optional<int64_t> EndOffset(const TopicPartition& tp) override;
  std::optional<int64_t> Position(const TopicPartition& tp) override;
  bool ProbeBroker() override;
  absl::Status Rejoin() override;
  absl::Status Close() override;
  // The group member id the coordinator gave this consumer ("" before it
  // joined). Thread-safe (the standby keeper asks from its thread).
  std::string MemberId() const;

 private:
  KafkaSource(std::vector<std::string> topics, bool cooperative)
      : topics_(std::move(topics)), cooperative_(cooperative) {}
  // Cooperative: the group's partitions of the membership topic as partition
  // N of every input topic (members_of_).
  std::vector<TopicPartition> Expand(const rd_kafka_topic_partition_list_t* parts) const;
  static KafkaPartitionsPtr List(const std::vector<TopicPartition>& parts);
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* parts, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque);
  // The event a fetched message stands for, if any.
  std::optional<SourceEvent> FromMessage(const rd_kafka_message_t* m) const;
  // DataLoss for a stored offset the partition no longer has: says whether
  // retention deleted it or the topic was re-created (its end is before it).
  absl::Status OffsetOutOfRange(const rd_kafka_message_t* m) const;

  struct Pending {
    SourceEvent event;
    KafkaMessagePtr message;  // keeps a kRecord's views valid
  };
  std::vector<std::string> topics_;
  const bool cooperative_;
  std::vector<std::string> expanded_topics_;  // cooperative: the input topics that exist
  std::vector<TopicPartition> revoked_;       // cooperative: what Unassign gives up
  std::deque<Pending> pending_;               // recorded by the callbacks, in arrival order
  KafkaMessagePtr current_;                   // the message behind the last kRecord returned
  bool closing_ = false;
  // Last member: destroyed first, while the callbacks' state is still alive
  // (the destructor releases the messages first: librdkafka waits for them).
  KafkaPtr consumer_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_KAFKA_SOURCE_H_
