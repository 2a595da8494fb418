#include "streams/admin.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace recur {

std::string BootstrapServers(const KafkaProperties& kafka) {
  auto it = kafka.find("bootstrap.servers");
  return it == kafka.end() ? std::string("(no --brokers)") : it->second;
}

absl::StatusOr<std::unique_ptr<KafkaAdmin>> KafkaAdmin::Create(const KafkaProperties& kafka,
                                                               const std::string& group, bool eof) {
  if (!kafka.count("bootstrap.servers")) {
    return absl::InvalidArgumentError(
        "no brokers: pass --brokers host:port (or -X bootstrap.servers=...)");
  }
  KafkaProperties props = kafka;
  props["group.id"] = group;  // rd_kafka_assign needs one; nothing joins or commits
  props["enable.auto.commit"] = "false";
  props["enable.partition.eof"] = eof ? "true" : "false";
  props["auto.offset.reset"] = "earliest";
  auto conf = MakeConf(props);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<KafkaAdmin> admin(new KafkaAdmin(BootstrapServers(kafka)));
  rd_kafka_conf_set_error_cb(conf->get(), &KafkaAdmin::OnError);
  rd_kafka_conf_set_opaque(conf->get(), admin.get());
  auto rk = NewKafka(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  admin->rk_ = std::move(*rk);
  rd_kafka_poll_set_consumer(admin->rk_.get());
  return admin;
}

void KafkaAdmin::OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaAdmin*>(opaque);
  absl::Status security = KafkaSecurityError(err, reason);
  if (!security.ok() && self->security_error_.ok()) self->security_error_ = std::move(security);
}

absl::StatusOr<std::map<std::string, int32_t>> KafkaAdmin::PartitionCounts(absl::Duration timeout) {
  // Asked in slices, serving the error callback between them (nothing is
  // assigned yet, so the consumer queue holds no records): bad credentials end
  // the wait at once instead of passing for a broker that does not answer.
  const absl::Duration slice = absl::Milliseconds(500);
  const absl::Time deadline = absl::Now() + timeout;
  KafkaMetadataPtr md;
  rd_kafka_resp_err_t err;
  for (;;) {
    const absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
    const rd_kafka_metadata_t* raw = nullptr;
    err = rd_kafka_metadata(rk_.get(), /*all_topics=*/1, nullptr, &raw,
                            static_cast<int>(absl::ToInt64Milliseconds(std::min(left, slice))));
    md.reset(raw);
    KafkaMessagePtr ignored(rd_kafka_consumer_poll(rk_.get(), 0));
    if (!security_error_.ok()) return security_error_;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || left <= slice) break;
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat(
        "no Kafka broker answered at ", bootstrap_, " within ", absl::FormatDuration(timeout), " (",
        rd_kafka_err2str(err), "): check --brokers and that Kafka is running"));
  }
  std::map<std::string, int32_t> out;
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      out[md->topics[i].topic] = md->topics[i].partition_cnt;
    }
  }
  return out;
}

absl::StatusOr<KafkaAdmin::Watermarks> KafkaAdmin::QueryWatermarks(const std::string& topic,
                                                                   int32_t partition,
                                                                   absl::Duration timeout,
                                                                   const std::string& what) {
  Watermarks w;
  rd_kafka_resp_err_t err =
      rd_kafka_query_watermark_offsets(rk_.get(), topic.c_str(), partition, &w.low, &w.high,
                                       static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return KafkaError(err, what);
  return w;
}

absl::StatusOr<OffsetMap> KafkaAdmin::OffsetsForTime(const OffsetMap& ends, int64_t time_ms,
                                                     absl::Duration timeout) {
  KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(ends.size())));
  for (const auto& [tp, end] : ends) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = time_ms;
  }
  rd_kafka_resp_err_t err = rd_kafka_offsets_for_times(
      rk_.get(), list.get(), static_cast<int>(absl::ToInt64Milliseconds(timeout)));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return KafkaError(err, "offsets for a time (offsets_for_times)");
  }
  OffsetMap out;
  for (int i = 0; i < list->cnt; ++i) {
    const auto& e = list->elems[i];
    const TopicPartition tp{e.topic, e.partition};
    if (e.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return KafkaError(e.err, absl::StrCat("offsets_for_times on ", tp.topic, "/", tp.partition));
    }
    out[tp] = e.offset < 0 ? ends.at(tp) : std::min(e.offset, ends.at(tp));
  }
  return out;
}

absl::StatusOr<KafkaAdmin::GroupView> KafkaAdmin::DescribeGroup(const std::string& group,
                                                                absl::Duration timeout) {
  const int ms = static_cast<int>(absl::ToInt64Milliseconds(timeout));
  std::unique_ptr<rd_kafka_queue_t, KafkaDeleter> queue(rd_kafka_queue_new(rk_.get()));
  std::unique_ptr<rd_kafka_AdminOptions_t, KafkaDeleter> options(
      rd_kafka_AdminOptions_new(rk_.get(), RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS));
  char errstr[256];
  rd_kafka_AdminOptions_set_request_timeout(options.get(), ms, errstr, sizeof(errstr));
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(rk_.get(), groups, 1, options.get(), queue.get());
  std::unique_ptr<rd_kafka_event_t, KafkaDeleter> event(
      rd_kafka_queue_poll(queue.get(), ms + 1000));
  const std::string what = absl::StrCat("describe consumer group '", group, "'");
  if (!event) return absl::UnavailableError(absl::StrCat(what, ": no answer in time"));
  if (rd_kafka_resp_err_t err = rd_kafka_event_error(event.get()); err) {
    return KafkaError(err, what);
  }
  size_t n = 0;
  const rd_kafka_ConsumerGroupDescription_t** descs = rd_kafka_DescribeConsumerGroups_result_groups(
      rd_kafka_event_DescribeConsumerGroups_result(event.get()), &n);
  GroupView out;
  for (size_t g = 0; g < n; ++g) {
    if (const rd_kafka_error_t* e = rd_kafka_ConsumerGroupDescription_error(descs[g]); e) {
      return KafkaError(rd_kafka_error_code(e), what);
    }
    const rd_kafka_consumer_group_state_t state = rd_kafka_ConsumerGroupDescription_state(descs[g]);
    out.state = rd_kafka_consumer_group_state_name(state);
    out.stable = state == RD_KAFKA_CONSUMER_GROUP_STATE_STABLE ||
                 state == RD_KAFKA_CONSUMER_GROUP_STATE_EMPTY;
    const size_t members = rd_kafka_ConsumerGroupDescription_member_count(descs[g]);
    for (size_t i = 0; i < members; ++i) {
      const rd_kafka_MemberDescription_t* m = rd_kafka_ConsumerGroupDescription_member(descs[g], i);
      std::set<int32_t>& numbers = out.members[rd_kafka_MemberDescription_consumer_id(m)];
      const rd_kafka_topic_partition_list_t* tps =
          rd_kafka_MemberAssignment_partitions(rd_kafka_MemberDescription_assignment(m));
      for (int k = 0; tps != nullptr && k < tps->cnt; ++k) numbers.insert(tps->elems[k].partition);
    }
  }
  return out;
}

absl::Status RequireTopic(const std::map<std::string, int32_t>& counts, const std::string& topic,
                          const char* what, const KafkaProperties& kafka) {
  if (counts.count(topic)) return absl::OkStatus();
  return absl::NotFoundError(
      absl::StrCat(what, " topic '", topic, "' does not exist on ", BootstrapServers(kafka),
                   " (create it, e.g. ops/kafka/create-topics --broker ... ", topic, ")"));
}

}  // namespace recur
