#include "streams/changelog_kafka.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "streams/admin.h"

namespace recur {
namespace {

using KafkaErrorPtr = std::unique_ptr<rd_kafka_error_t, KafkaDeleter>;

int Ms(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

// A transactional call's error: fenced (another instance took the partition)
// is FailedPrecondition, a fatal one Internal, the rest Unavailable (retry).
absl::Status TxnError(const KafkaErrorPtr& e, std::string_view log, const char* what) {
  const std::string text = absl::StrCat("changelog ", std::string(log), ": ", what, ": ",
                                        rd_kafka_error_string(e.get()));
  const rd_kafka_resp_err_t code = rd_kafka_error_code(e.get());
  if (code == RD_KAFKA_RESP_ERR__FENCED || code == RD_KAFKA_RESP_ERR_PRODUCER_FENCED ||
      code == RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH) {
    return MarkChangelogFenced(absl::FailedPreconditionError(absl::StrCat(
        text,
        " (another instance opened this partition's changelog since: this one no longer "
        "owns the partition and writes nothing more to it)")));
  }
  if (rd_kafka_error_is_fatal(e.get())) return absl::InternalError(text);
  return absl::UnavailableError(text);
}

}  // namespace

KafkaChangelog::KafkaChangelog(KafkaChangelogOptions options)
    : options_(std::move(options)),
      name_(absl::StrCat(options_.topic, "[", options_.partition, "]")) {}

KafkaChangelog::~KafkaChangelog() = default;

void KafkaChangelog::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* self = static_cast<KafkaChangelog*>(opaque);
  ++self->delivered_;
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    if (self->delivery_error_ == RD_KAFKA_RESP_ERR_NO_ERROR) self->delivery_error_ = m->err;
  } else if (m->offset > self->last_offset_) {
    self->last_offset_ = m->offset;
  }
}

absl::StatusOr<std::unique_ptr<KafkaChangelog>> KafkaChangelog::Create(
    KafkaChangelogOptions options) {
  std::unique_ptr<KafkaChangelog> log(new KafkaChangelog(std::move(options)));
  if (absl::Status s = log->StartProducer(); !s.ok()) return s;
  return log;
}

std::unique_ptr<KafkaChangelog> KafkaChangelog::Reader(KafkaChangelogOptions options) {
  return std::unique_ptr<KafkaChangelog>(new KafkaChangelog(std::move(options)));
}

absl::Status KafkaChangelog::StartProducer() {
  KafkaProperties props = ProducerProperties(options_.kafka);
  props["transactional.id"] = absl::StrCat(options_.group, "-changelog-", options_.partition);
  props["transaction.timeout.ms"] = std::to_string(Ms(options_.timeout));
  // Uncompressed unless -X compression.type says otherwise (Kafka Streams'
  // changelogs too): the records are compact binary already, and lz4 cost
  // recur about 0.2 CPU-µs per event at backlog rates
  // (docs/BENCHMARKS.md, "Changelog").
  props.try_emplace("compression.type", "none");
  props["linger.ms"] = "20";
  // A customer's head can pass Kafka's default 1 MB (a bot at the daily cap
  // of several kinds for the 7 days of the tail): the topic is created with
  // the same max.message.bytes (kMaxRecordBytes, README).
  props["message.max.bytes"] = std::to_string(kMaxRecordBytes);
  auto conf = MakeConf(props);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &KafkaChangelog::OnDelivery);
  rd_kafka_conf_set_opaque(conf->get(), this);
  auto rk = NewKafka(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  producer_ = std::move(*rk);
  // Fences any earlier producer of this id (another instance's, or this
  // one's before a restart) and aborts the transaction it left open.
  KafkaErrorPtr e(rd_kafka_init_transactions(producer_.get(), Ms(options_.timeout)));
  if (e) return TxnError(e, name_, "init transactions");
  return absl::OkStatus();
}

absl::Status KafkaChangelog::Failed(const KafkaErrorPtr& e, const char* what) {
  absl::Status s = TxnError(e, name_, what);
  if (absl::IsFailedPrecondition(s) || rd_kafka_error_is_fatal(e.get())) {
    dead_ = s;  // never a new producer here: its init_transactions would fence the owner
  } else if (rd_kafka_error_txn_requires_abort(e.get())) {
    needs_abort_ = true;
  } else if (std::string_view(what) == "commit") {
    commit_pending_ = true;  // retriable: the next Append completes it first
  }
  return s;
}

absl::Status KafkaChangelog::Commit() {
  rd_kafka_t* rk = producer_.get();
  for (int attempt = 0;; ++attempt) {
    KafkaErrorPtr e(rd_kafka_commit_transaction(rk, Ms(options_.timeout)));
    if (!e) {
      commit_pending_ = false;
      return absl::OkStatus();
    }
    if (rd_kafka_error_is_retriable(e.get()) && attempt < 3) continue;
    return Failed(e, "commit");
  }
}

absl::Status KafkaChangelog::ProduceFailed(rd_kafka_resp_err_t err) {
  if (err != RD_KAFKA_RESP_ERR__FATAL) {
    needs_abort_ = true;  // some of the records are in the open transaction
    return KafkaError(err, absl::StrCat("changelog ", name_, ": produce"));
  }
  char reason[512];
  const rd_kafka_resp_err_t cause = rd_kafka_fatal_error(producer_.get(), reason, sizeof(reason));
  KafkaErrorPtr e(rd_kafka_error_new(cause, "%s", reason));
  absl::Status s = TxnError(e, name_, "produce");
  dead_ = ChangelogFenced(s) ? s : absl::InternalError(s.message());
  return dead_;
}

absl::StatusOr<int64_t> KafkaChangelog::Append(std::span<const ChangelogRecord> records) {
  // A flush always writes its times and watermark; an empty unit would have no offset.
  if (records.empty()) return absl::InvalidArgumentError("changelog: an empty append");
  if (!producer_) {
    return absl::FailedPreconditionError(
        absl::StrCat("changelog ", name_, " is open for reading only (a standby's copy)"));
  }
  rd_kafka_t* rk = producer_.get();
  // A producer that failed fatally (fenced: another instance owns the
  // partition now) stays failed; only the next owner's Create starts one.
  if (!dead_.ok()) return dead_;
  // What an earlier failed Append left: a commit to finish (its records then
  // lead the disk in the log, as after a crash; this append repeats them) or
  // a transaction to abort.
  if (commit_pending_) {
    if (absl::Status c = Commit(); !c.ok()) return c;
  }
  if (needs_abort_) {
    if (KafkaErrorPtr e(rd_kafka_abort_transaction(rk, Ms(options_.timeout))); e)
      return Failed(e, "abort");
    needs_abort_ = false;
  }
  rd_kafka_poll(rk, 0);  // the delivery reports of what came before, counted for none
  delivered_ = 0;
  last_offset_ = -1;
  delivery_error_ = RD_KAFKA_RESP_ERR_NO_ERROR;
  if (KafkaErrorPtr e(rd_kafka_begin_transaction(rk)); e) return Failed(e, "begin");
  for (const ChangelogRecord& r : records) {
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          rk, RD_KAFKA_V_TOPIC(options_.topic.c_str()), RD_KAFKA_V_PARTITION(options_.partition),
          RD_KAFKA_V_KEY(const_cast<char*>(r.key.data()), r.key.size()),
          RD_KAFKA_V_VALUE(r.tombstone ? nullptr : const_cast<char*>(r.value.data()),
                           r.tombstone ? 0 : r.value.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        rd_kafka_poll(rk, 10);  // serves delivery reports, making room
        continue;
      }
      return ProduceFailed(err);
    }
  }
  if (absl::Status c = Commit(); !c.ok()) {
    if (delivery_error_ == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE) {
      return absl::FailedPreconditionError(absl::StrCat(
          "changelog ", name_, ": a record is larger than the topic accepts (", c.message(),
          "); create the changelog topic with --config max.message.bytes=", kMaxRecordBytes));
    }
    return c;
  }
  // The commit flushed every record; its delivery reports are served here.
  const auto n = static_cast<int64_t>(records.size());
  for (int i = 0; delivered_ < n && i < 1000; ++i) rd_kafka_poll(rk, 10);
  if (delivery_error_ != RD_KAFKA_RESP_ERR_NO_ERROR || delivered_ < n ||
      (n > 0 && last_offset_ < 0)) {
    return absl::InternalError(absl::StrCat("changelog ", name_, ": committed, but ", delivered_,
                                            " of ", n, " delivery reports arrived (",
                                            rd_kafka_err2str(delivery_error_), ")"));
  }
  return last_offset_ + 1;
}

absl::StatusOr<int64_t> KafkaChangelog::ReadFrom(
    int64_t from,
    const std::function<absl::Status(std::span<const ChangelogRecord>, int64_t next)>& fn) {
  if (cancelled_.load())
    return absl::CancelledError(absl::StrCat("changelog ", name_, ": read cancelled"));
  // The read ends at the log's end, past the last unit's commit marker, which
  // is never delivered: only an empty fetch (its end-of-partition) says so, and
  // the broker holds an empty fetch fetch.wait.max.ms (500 ms by default).
  KafkaProperties props = options_.kafka;
  props["fetch.wait.max.ms"] = "10";
  auto admin = KafkaAdmin::Create(props, absl::StrCat(options_.group, "-changelog-restore"), true);
  if (!admin.ok()) return admin.status();
  auto marks = (*admin)->QueryWatermarks(options_.topic, options_.partition, options_.timeout,
                                         absl::StrCat("changelog ", name_));
  if (!marks.ok()) return marks.status();
  if (marks->high < from || marks->low > from) {
    return absl::FailedPreconditionError(
        absl::StrCat("changelog ", name_, " holds offsets ", marks->low, "..", marks->high,
                     " but the store was written up to ", from,
                     " (was the changelog topic deleted or truncated?)"));
  }
  const int64_t end = marks->high;
  if (end == from) return end;
  rd_kafka_t* rk = (*admin)->handle();
  KafkaPartitionsPtr list(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(list.get(), options_.topic.c_str(), options_.partition)
      ->offset = from;
  if (rd_kafka_resp_err_t err = rd_kafka_assign(rk, list.get()); err) {
    return KafkaError(err, absl::StrCat("changelog ", name_, ": assign"));
  }
  constexpr size_t kChunk = 4096;
  std::vector<KafkaMessagePtr> held;
  std::vector<ChangelogRecord> records;
  held.reserve(kChunk);
  records.reserve(kChunk);
  int64_t position = from;
  // When the read last moved (asking the clock only on an empty poll: per
  // record it cost 8% of a restore's CPU).
  absl::Time progress = absl::Now();
  bool moved = false;
  absl::Status result;
  auto deliver = [&]() -> absl::Status {
    if (records.empty()) return absl::OkStatus();
    absl::Status s = fn(records, position);
    records.clear();
    held.clear();
    return s;
  };
  while (position < end) {
    if (cancelled_.load()) {
      result = absl::CancelledError(absl::StrCat("changelog ", name_, ": read cancelled"));
      break;
    }
    KafkaMessagePtr m(rd_kafka_consumer_poll(rk, 200));
    if (!m) {
      if (moved) {
        progress = absl::Now();
        moved = false;
      } else if (absl::Now() - progress > options_.timeout) {
        result = absl::UnavailableError(absl::StrCat(
            "changelog ", name_, ": no progress for ", absl::FormatDuration(options_.timeout),
            " at offset ", position, " of ", end,
            " (a transaction left open by another writer, or the broker is down)"));
        break;
      }
      continue;
    }
    moved = true;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      position = std::max(position, m->offset);
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      result = KafkaError(m->err, absl::StrCat("changelog ", name_, ": read at ", position));
      break;
    }
    position = m->offset + 1;
    records.push_back({std::string_view(static_cast<const char*>(m->key), m->key_len),
                       m->payload == nullptr
                           ? std::string_view()
                           : std::string_view(static_cast<const char*>(m->payload), m->len),
                       m->payload == nullptr});
    held.push_back(std::move(m));
    if (records.size() >= kChunk) {
      if (result = deliver(); !result.ok()) break;
    }
  }
  if (result.ok()) result = deliver();
  rd_kafka_assign(rk, nullptr);
  if (!result.ok()) return result;
  return end;
}

absl::Status CheckChangelogTopic(const PipelineOptions& options) {
  auto admin = KafkaAdmin::Create(options.kafka, options.group_id + "-changelog-check");
  if (!admin.ok()) return admin.status();
  auto counts = (*admin)->PartitionCounts(absl::Seconds(30));
  if (!counts.ok()) return counts.status();
  const std::string& topic = options.changelog_topic;
  if (!counts->count(topic)) {
    return absl::NotFoundError(absl::StrCat(
        "changelog topic '", topic, "' does not exist on ", BootstrapServers(options.kafka),
        " (create it compacted with the input topics' partition count, e.g. "
        "ops/kafka/create-topics --broker ... --partitions N --compact --config "
        "max.message.bytes=",
        kMaxRecordBytes, " ", topic, ")"));
  }
  for (const std::string& input : options.topics.inputs()) {
    auto it = counts->find(input);
    if (it != counts->end() && it->second > counts->at(topic)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "changelog topic '", topic, "' has ", counts->at(topic), " partitions, input topic '",
          input, "' ", it->second, ": the changelog needs one partition per input partition"));
    }
  }
  return absl::OkStatus();
}

}  // namespace recur
