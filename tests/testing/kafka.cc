#include "tests/testing/kafka.h"

#include "absl/time/time.h"
#include "streams/kafka.h"

namespace recur::testing {

absl::Status ProduceEvents(const std::string& bootstraps, const TopicNames& topics,
                           absl::Span<const v1::Event> events) {
  auto p = Producer::Create({{"bootstrap.servers", bootstraps}});
  if (!p.ok()) return p.status();
  for (const v1::Event& e : events) {
    absl::Status s = (*p)->Send(topics.ForEvent(e), e.shop_id() + "/" + e.customer_id(),
                                e.SerializeAsString(), {});
    if (!s.ok()) return s;
  }
  return (*p)->Flush(absl::Seconds(30));
}

void EmbeddedKafkaTest::SetUp() {
  auto k = EmbeddedKafka::Start(partitions_, topics_);
  ASSERT_TRUE(k.ok()) << k.status();
  kafka_ = std::move(*k);
}

void EmbeddedKafkaTest::ProduceToBroker(absl::Span<const v1::Event> events) {
  absl::Status s = ProduceEvents(kafka_->bootstraps(), topics_, events);
  ASSERT_TRUE(s.ok()) << s;
}

recur::PipelineOptions EmbeddedKafkaTest::BrokerPipelineOptions() const {
  PipelineOptions o;
  o.kafka["bootstrap.servers"] = kafka_->bootstraps();
  o.state_dir = (dir_ / "state").string();
  o.exit_when_idle_ms = 1500;
  o.batch_linger_ms = 50;
  o.topics = topics_;
  return o;
}

absl::StatusOr<std::vector<TopicRecord>> ReadTopicToEnd(const std::string& bootstraps,
                                                        const std::string& topic,
                                                        int32_t partition) {
  auto conf = MakeConf({{"bootstrap.servers", bootstraps},
                        {"group.id", "recur-testing-reader"},
                        {"enable.partition.eof", "true"},
                        {"enable.auto.commit", "false"}});
  if (!conf.ok()) return conf.status();
  auto rk = NewKafka(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), partition)->offset =
      RD_KAFKA_OFFSET_BEGINNING;
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk->get(), list.get())) {
    return absl::InternalError(std::string("assign: ") + rd_kafka_err2str(err));
  }
  std::vector<TopicRecord> out;
  for (int idle = 0; idle < 100;) {
    KafkaMessagePtr m(rd_kafka_consumer_poll(rk->get(), 100));
    if (!m) {
      ++idle;
      continue;
    }
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) break;
    if (m->err) {
      ++idle;
      continue;
    }
    TopicRecord r;
    if (m->key != nullptr) r.key.assign(static_cast<const char*>(m->key), m->key_len);
    if (m->payload != nullptr) r.value.assign(static_cast<const char*>(m->payload), m->len);
    out.push_back(std::move(r));
  }
  rd_kafka_consumer_close(rk->get());
  return out;
}

}  // namespace recur::testing
