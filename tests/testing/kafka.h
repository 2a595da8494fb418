// Shared Kafka test set-up, for the tests that run against a broker (the
// in-process mock cluster of streams/embedded.h, or a real one): publishing
// events keyed "shop/customer" to their input topics, hand-built consumed
// records, and reading one
// partition of a topic back to its end. Kept apart from fixtures.h (its own
// target, recur::testing_kafka) so tests below streams do not link streams.
//
//   auto kafka = recur::EmbeddedKafka::Start(2, topics);
//   ASSERT_TRUE(recur::testing::ProduceEvents((*kafka)->bootstraps(), topics, events).ok());
//   auto scores = recur::testing::ReadTopicToEnd((*kafka)->bootstraps(), topics.scores, 0);
#ifndef RECUR_TESTS_TESTING_KAFKA_H_
#define RECUR_TESTS_TESTING_KAFKA_H_

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/types/span.h"
#include "featurestore/types.h"
#include "proto/recur.pb.h"
#include "streams/decoder.h"
#include "streams/embedded.h"
#include "streams/pipeline.h"
#include "streams/producer.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur::testing {

// A consumed record as the decoder sees it, built by hand; Raw()'s views point
// into this Record, so it must outlive them (e.g. `b.Add(Record{...}.Raw())`).
struct Record {
  TopicPartition tp;
  int64_t offset = 0;
  std::optional<std::string> key = "shop-1/c-1";
  std::string value;
  int64_t ts = Ms(2024, 3, 2);

  RawRecord Raw() const {
    RawRecord r;
    r.topic = tp.topic;
    r.partition = tp.partition;
    r.offset = offset;
    if (key) r.key = *key;
    r.value = value;
    r.timestamp_ms = ts;
    return r;
  }
};

// Sends every event to its input topic (TopicNames::ForEvent) keyed
// "shop/customer", in order, with one producer, and flushes (30 s).
absl::Status ProduceEvents(const std::string& bootstraps, const TopicNames& topics,
                           absl::Span<const v1::Event> events);

// A fixture over librdkafka's mock cluster: SetUp starts it with topics_
// created over `partitions`, TearDown stops it; dir_ is the test's TempDir.
// PipelineOptions() points a pipeline at it, with its state in dir_/state,
// quick batches and an exit once idle for 1.5 s.
class EmbeddedKafkaTest : public ::testing::Test {
 protected:
  EmbeddedKafkaTest(const std::string& prefix, int partitions)
      : tmp_(prefix), partitions_(partitions) {}
  void SetUp() override;
  void TearDown() override { kafka_.reset(); }

  // ProduceEvents to this broker; fails the test on error.
  void ProduceToBroker(absl::Span<const v1::Event> events);
  recur::PipelineOptions BrokerPipelineOptions() const;

  TempDir tmp_;
  const std::filesystem::path dir_ = tmp_.path();
  TopicNames topics_;
  std::unique_ptr<EmbeddedKafka> kafka_;

 private:
  int partitions_;
};

struct TopicRecord {
  std::string key;
  std::string value;
};

// Every record of `topic`'s `partition` from the beginning to its end (the
// partition EOF), in order, read by an unassigned-group consumer. Stops early
// after 100 polls that returned nothing or an error.
absl::StatusOr<std::vector<TopicRecord>> ReadTopicToEnd(const std::string& bootstraps,
                                                        const std::string& topic,
                                                        int32_t partition);

}  // namespace recur::testing

#endif  // RECUR_TESTS_TESTING_KAFKA_H_
