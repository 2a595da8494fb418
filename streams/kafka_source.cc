#include "streams/kafka_source.h"

#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "spdlog/spdlog.h"

namespace recur {

static_assert(kOffsetBeginning == RD_KAFKA_OFFSET_BEGINNING);

absl::StatusOr<std::unique_ptr<KafkaSource>> KafkaSource::Create(
    const KafkaSourceOptions& options) {
  if (!options.kafka.count("bootstrap.servers")) {
    return absl::InvalidArgumentError(
        "no brokers: pass --brokers host:port (or -X bootstrap.servers=...)");
  }
  KafkaProperties props = {{"group.id", options.group_id},
                           {"enable.auto.commit", "false"},
                           {"enable.auto.offset.store", "false"},
                           // Only consulted when a stored offset is no longer on the broker
                           // (new stores seek to the beginning explicitly): that is lost data,
                           // so stop instead of skipping it (FromMessage).
                           {"auto.offset.reset", "error"},
                           {"enable.partition.eof", "true"},
                           {"partition.assignment.strategy", "range"},
                           {"session.timeout.ms", "10000"},
                           {"queued.max.messages.kbytes", "262144"},
                           // Prefetch up to a million records. With librdkafka's
                           // default (100,000) the loop waited for fetches: a backlog's
                           // ingest 249,000-285,000 events/s against 347,000-400,000
                           // (docs/BENCHMARKS.md, "Prefetch and the apply thread").
                           {"queued.min.messages", "1000000"},
                           // A fetch waits for 64 KiB or 10 ms: with librdkafka's default
                           // (1 byte) its broker thread answered every few records, and
                           // polled and switched tasks for a third of recur's CPU
                           // (docs/BENCHMARKS.md, "Fetch batching").
                           {"fetch.min.bytes", "65536"},
                           {"fetch.wait.max.ms", "10"}};
  for (const auto& [k, v] : options.kafka) props[k] = v;
  if (options.cooperative) props["partition.assignment.strategy"] = "cooperative-sticky";
  auto conf = MakeConf(props);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<KafkaSource> source(new KafkaSource(options.topics, options.cooperative));
  rd_kafka_conf_set_rebalance_cb(conf->get(), &KafkaSource::OnRebalance);
  rd_kafka_conf_set_error_cb(conf->get(), &KafkaSource::OnError);
  rd_kafka_conf_set_opaque(conf->get(), source.get());
  auto rk = NewKafka(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  source->consumer_ = std::move(*rk);
  rd_kafka_poll_set_consumer(source->consumer_.get());
  return source;
}

KafkaSource::~KafkaSource() {
  closing_ = true;  // a revocation while consumer_ is destroyed is answered by the callback
  // rd_kafka_destroy waits for every message it handed out to be destroyed.
  current_.reset();
  pending_.clear();
}

absl::Status KafkaSource::Subscribe() {
  std::vector<std::string> members = topics_;
  if (cooperative_) {
    // The group's members share the first input topic that exists; the
    // others must have its partition count (co-partitioned).
    const rd_kafka_metadata_t* raw = nullptr;
    if (rd_kafka_resp_err_t err = rd_kafka_metadata(consumer_.get(), 1, nullptr, &raw, 30000))
      return KafkaError(err, "metadata for the cooperative group's topics");
    KafkaMetadataPtr md(raw);
    std::map<std::string, int> counts;
    for (int i = 0; i < md->topic_cnt; ++i)
      if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR)
        counts[md->topics[i].topic] = md->topics[i].partition_cnt;
    expanded_topics_.clear();
    for (const std::string& t : topics_) {
      auto it = counts.find(t);
      if (it == counts.end()) continue;
      if (!expanded_topics_.empty() && it->second != counts[expanded_topics_[0]]) {
        return absl::FailedPreconditionError(absl::StrCat(
            "cooperative rebalancing needs co-partitioned input topics: '", t, "' has ", it->second,
            " partitions, '", expanded_topics_[0], "' ", counts[expanded_topics_[0]]));
      }
      expanded_topics_.push_back(t);
    }
    if (expanded_topics_.empty()) {
      return absl::NotFoundError(
          absl::StrCat("none of the input topics exists (", absl::StrJoin(topics_, ", "), ")"));
    }
    members = {expanded_topics_[0]};
  }
  KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(members.size())));
  for (const auto& t : members) {
    rd_kafka_topic_partition_list_add(list.get(), t.c_str(), RD_KAFKA_PARTITION_UA);
  }
  return KafkaError(rd_kafka_subscribe(consumer_.get(), list.get()), "subscribe");
}

std::vector<TopicPartition> KafkaSource::Expand(
    const rd_kafka_topic_partition_list_t* parts) const {
  std::vector<TopicPartition> out;
  for (int i = 0; i < parts->cnt; ++i) {
    if (!cooperative_) {
      out.push_back({parts->elems[i].topic, parts->elems[i].partition});
      continue;
    }
    for (const std::string& t : expanded_topics_) out.push_back({t, parts->elems[i].partition});
  }
  return out;
}

KafkaPartitionsPtr KafkaSource::List(const std::vector<TopicPartition>& parts) {
  KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(parts.size())));
  for (const TopicPartition& tp : parts)
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  return list;
}

std::optional<SourceEvent> KafkaSource::Poll(int timeout_ms) {
  current_.reset();
  if (pending_.empty()) {
    KafkaMessagePtr m(rd_kafka_consumer_poll(consumer_.get(), timeout_ms));
    // Events the callbacks recorded during this poll come first.
    if (m) {
      if (auto e = FromMessage(m.get())) pending_.push_back({std::move(*e), std::move(m)});
    }
  }
  if (pending_.empty()) return std::nullopt;
  Pending next = std::move(pending_.front());
  pending_.pop_front();
  current_ = std::move(next.message);
  return std::move(next.event);
}

std::optional<SourceEvent> KafkaSource::FromMessage(const rd_kafka_message_t* m) const {
  SourceEvent e;
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    e.kind = SourceEvent::kEnd;
    e.tp = {rd_kafka_topic_name(m->rkt), m->partition};
    e.offset = m->offset;
    return e;
  }
  if (m->err == RD_KAFKA_RESP_ERR__AUTO_OFFSET_RESET) {
    e.kind = SourceEvent::kFatal;
    e.status = OffsetOutOfRange(m);
    return e;
  }
  if (m->err) {
    if (m->err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || m->err == RD_KAFKA_RESP_ERR__TRANSPORT) {
      e.kind = SourceEvent::kBrokerDown;
      e.status = absl::UnavailableError(rd_kafka_err2str(m->err));
      return e;
    }
    spdlog::warn("consumer: {}", rd_kafka_message_errstr(m));
    return std::nullopt;
  }
  e.kind = SourceEvent::kRecord;
  e.tp = {rd_kafka_topic_name(m->rkt), m->partition};
  RawRecord& r = e.record;
  r.topic = rd_kafka_topic_name(m->rkt);  // lives as long as the message, unlike e.tp
  r.partition = m->partition;
  r.offset = m->offset;
  if (m->key != nullptr) r.key = std::string_view(static_cast<const char*>(m->key), m->key_len);
  r.value =
      std::string_view(static_cast<const char*>(m->payload), m->payload != nullptr ? m->len : 0);
  rd_kafka_timestamp_type_t tstype;
  r.timestamp_ms = rd_kafka_message_timestamp(m, &tstype);
  r.log_append_time = tstype == RD_KAFKA_TIMESTAMP_LOG_APPEND_TIME;  // judges `future`
  return e;
}

absl::Status KafkaSource::OffsetOutOfRange(const rd_kafka_message_t* m) const {
  const std::string topic = rd_kafka_topic_name(m->rkt);
  // The offset the store asked for is either before the partition's first
  // offset (retention deleted records) or past its end (the topic is younger
  // than the store: deleted and created again). Ask the leader which.
  int64_t low = -1, high = -1;
  const bool known =
      rd_kafka_query_watermark_offsets(consumer_.get(), topic.c_str(), m->partition, &low, &high,
                                       5000) == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (known && m->offset >= 0 && high < m->offset) {
    return absl::DataLossError(absl::StrCat(
        topic, "/", m->partition, ": the topic's end offset ", high,
        " is before the stored offset ", m->offset,
        ": was the topic re-created? The state dir holds events the topic no longer has; "
        "recur stops rather than mix them with the new topic's. Start with a new --state-dir "
        "(or `recur replay` into one), or point --brokers at the cluster this state came from"));
  }
  return absl::DataLossError(absl::StrCat(
      rd_kafka_message_errstr(m),
      " — records this store still needed were deleted from the topic (retention) before "
      "recur read them; the state would be missing events, so recur stops. Rebuild with "
      "`recur replay` from what the topics hold, or accept the loss by restarting with -X "
      "auto.offset.reset=earliest"));
}

// Cooperative calls answer with an rd_kafka_error_t.
static absl::Status IncrementalError(rd_kafka_error_t* raw, const char* what) {
  std::unique_ptr<rd_kafka_error_t, KafkaDeleter> e(raw);
  if (!e) return absl::OkStatus();
  return KafkaError(rd_kafka_error_code(e.get()), what);
}

absl::Status KafkaSource::Assign(const std::vector<std::pair<TopicPartition, int64_t>>& starts) {
  if (starts.empty() && !cooperative_) return Unassign();
  KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(starts.size())));
  for (const auto& [tp, offset] : starts) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = offset;
  }
  if (cooperative_) {  // (an empty list too: it ends the rebalance)
    return IncrementalError(rd_kafka_incremental_assign(consumer_.get(), list.get()),
                            "incremental assign");
  }
  return KafkaError(rd_kafka_assign(consumer_.get(), list.get()), "assign");
}

absl::Status KafkaSource::Unassign() {
  if (cooperative_) {
    KafkaPartitionsPtr list = List(revoked_);
    revoked_.clear();
    return IncrementalError(rd_kafka_incremental_unassign(consumer_.get(), list.get()),
                            "incremental unassign");
  }
  return KafkaError(rd_kafka_assign(consumer_.get(), nullptr), "unassign");
}

void KafkaSource::Pause(const TopicPartition& tp) {
  KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition);
  rd_kafka_pause_partitions(consumer_.get(), list.get());
}

void KafkaSource::CommitAsync(const OffsetMap& offsets) {
  // Cooperative: never. librdkafka before the fix of confluentinc/librdkafka#4908
  // (Debian's 2.0.2 included) takes a commit the broker refuses during a
  // rebalance (the generation moved on) as the whole assignment lost, and
  // nothing tells the application when a rebalance starts. These offsets are
  // for monitoring only: recur's own are in the stores.
  if (cooperative_) return;
  KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, offset] : offsets) {
    rd_kafka_topic_partition_list_add(list.get(), tp.topic.c_str(), tp.partition)->offset = offset;
  }
  rd_kafka_commit(consumer_.get(), list.get(), /*async=*/1);
}

std::optional<int64_t> KafkaSource::EndOffset(const TopicPartition& tp) {
  int64_t lo = 0, hi = 0;
  if (rd_kafka_get_watermark_offsets(consumer_.get(), tp.topic.c_str(), tp.partition, &lo, &hi) !=
      0) {
    return std::nullopt;
  }
  return hi;
}

std::optional<int64_t> KafkaSource::Position(const TopicPartition& tp) {
  KafkaPartitionsPtr pos(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(pos.get(), tp.topic.c_str(), tp.partition);
  if (rd_kafka_position(consumer_.get(), pos.get()) != 0) return std::nullopt;
  return pos->elems[0].offset;
}

bool KafkaSource::ProbeBroker() {
  const rd_kafka_metadata_t* raw = nullptr;
  const bool answered =
      rd_kafka_metadata(consumer_.get(), 0, nullptr, &raw, 1000) == RD_KAFKA_RESP_ERR_NO_ERROR;
  KafkaMetadataPtr md(raw);
  return answered;
}

std::string KafkaSource::MemberId() const {
  char* id = rd_kafka_memberid(consumer_.get());
  if (id == nullptr) return "";
  std::string out(id);
  rd_kafka_mem_free(consumer_.get(), id);
  return out;
}

absl::Status KafkaSource::Rejoin() {
  if (rd_kafka_resp_err_t err = rd_kafka_unsubscribe(consumer_.get()); err)
    return KafkaError(err, "unsubscribe");
  return Subscribe();
}

absl::Status KafkaSource::Close() {
  closing_ = true;
  current_.reset();
  pending_.clear();
  rd_kafka_consumer_close(consumer_.get());
  absl::Status fatal;  // a fatal error the error callback recorded while closing
  for (const Pending& p : pending_) {
    if (p.event.kind == SourceEvent::kFatal) fatal = p.event.status;
  }
  pending_.clear();
  return fatal;
}

void KafkaSource::OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                              rd_kafka_topic_partition_list_t* parts, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  if (self->closing_) {
    // Nobody acts on events any more: the owner finished its partitions before Close().
    if (!self->cooperative_) {
      rd_kafka_assign(rk, nullptr);
    } else {  // the close revokes whatever an assignment now adds
      KafkaPartitionsPtr list = List(self->Expand(parts));
      IncrementalError(err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS
                           ? rd_kafka_incremental_assign(rk, list.get())
                           : rd_kafka_incremental_unassign(rk, list.get()),
                       "closing")
          .IgnoreError();
    }
    return;
  }
  SourceEvent e;
  e.kind =
      err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ? SourceEvent::kAssigned : SourceEvent::kRevoked;
  e.partitions = self->Expand(parts);
  e.incremental = self->cooperative_;
  if (self->cooperative_ && e.kind == SourceEvent::kRevoked) self->revoked_ = e.partitions;
  self->pending_.push_back({std::move(e), nullptr});
  rd_kafka_yield(rk);  // return from Poll now: the owner acts before anything else is read
}

void KafkaSource::OnError(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  auto* self = static_cast<KafkaSource*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  SourceEvent e;
  if (absl::Status security = KafkaSecurityError(err, reason); !security.ok()) {
    // Bad credentials or TLS settings: reported now, not after
    // --broker-down-timeout as a broker that is down.
    e.kind = SourceEvent::kFatal;
    e.status = std::move(security);
    rd_kafka_yield(rk);
  } else if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || code == RD_KAFKA_RESP_ERR__TRANSPORT ||
             code == RD_KAFKA_RESP_ERR__RESOLVE) {
    e.kind = SourceEvent::kBrokerDown;
    e.status = absl::UnavailableError(rd_kafka_err2str(code));
  } else if (code == RD_KAFKA_RESP_ERR__FATAL) {
    char buf[512];
    rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
    e.kind = SourceEvent::kFatal;
    e.status = KafkaError(orig, absl::StrCat("fatal Kafka client error: ", buf));
  } else {
    spdlog::warn("Kafka: {}: {}", rd_kafka_err2str(code), reason);
    return;
  }
  self->pending_.push_back({std::move(e), nullptr});
}

}  // namespace recur
