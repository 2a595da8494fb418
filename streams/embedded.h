// EmbeddedKafka: librdkafka's in-process mock cluster (Kafka protocol over
// loopback), the embedded default for the demo and for fault-path tests. Never a
// stand-in for the real broker in integration tests.
//
//   auto kafka = recur::EmbeddedKafka::Start(/*partitions=*/4, TopicNames{});
//   opts.kafka["bootstrap.servers"] = (*kafka)->bootstraps();   // "127.0.0.1:NNNNN"
//   rd_kafka_mock_broker_set_down((*kafka)->cluster(), 1);       // fault injection
//
// Lifecycle: the cluster lives as long as this object; clients must be destroyed
// first. Thread-safe as librdkafka's mock cluster is.
#ifndef RECUR_STREAMS_EMBEDDED_H_
#define RECUR_STREAMS_EMBEDDED_H_

#include <librdkafka/rdkafka.h>
// clang-format off: rdkafka_mock.h needs rdkafka.h first
#include <librdkafka/rdkafka_mock.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "streams/kafka.h"
#include "streams/producer.h"

namespace recur {

class EmbeddedKafka {
 public:
  // One mock broker with the input topics, the DLQ and the scores topic created.
  static absl::StatusOr<std::unique_ptr<EmbeddedKafka>> Start(int partitions,
                                                              const TopicNames& topics);
  ~EmbeddedKafka();
  EmbeddedKafka(const EmbeddedKafka&) = delete;
  EmbeddedKafka& operator=(const EmbeddedKafka&) = delete;

  const std::string& bootstraps() const { return bootstraps_; }
  rd_kafka_mock_cluster_t* cluster() { return cluster_; }

 private:
  EmbeddedKafka() = default;
  KafkaPtr host_;  // the rd_kafka_t that owns the mock cluster
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstraps_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_EMBEDDED_H_
