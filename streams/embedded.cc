#include "streams/embedded.h"

#include "absl/strings/str_cat.h"

namespace recur {

absl::StatusOr<std::unique_ptr<EmbeddedKafka>> EmbeddedKafka::Start(int partitions,
                                                                    const TopicNames& topics) {
  auto conf = MakeConf({{"log_level", "3"}});
  if (!conf.ok()) return conf.status();
  auto host = NewKafka(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!host.ok()) return host.status();
  std::unique_ptr<EmbeddedKafka> k(new EmbeddedKafka());
  k->host_ = std::move(*host);
  k->cluster_ = rd_kafka_mock_cluster_new(k->host_.get(), 1);
  if (k->cluster_ == nullptr)
    return absl::InternalError("embedded Kafka: could not create librdkafka's mock cluster");
  k->bootstraps_ = rd_kafka_mock_cluster_bootstraps(k->cluster_);
  std::vector<std::string> all = topics.inputs();
  all.push_back(topics.dlq);
  all.push_back(topics.scores);
  for (const auto& t : all) {
    absl::Status s = KafkaError(rd_kafka_mock_topic_create(k->cluster_, t.c_str(), partitions, 1),
                                absl::StrCat("embedded Kafka: create topic ", t));
    if (!s.ok()) return s;
  }
  return k;
}

EmbeddedKafka::~EmbeddedKafka() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

}  // namespace recur
