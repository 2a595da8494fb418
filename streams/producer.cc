#include "streams/producer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace recur {

void Producer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  if (auto* group = static_cast<DeliveryGroup*>(msg->_private); group != nullptr) {
    --group->outstanding;
    if (msg->err && group->error.ok()) {
      group->error =
          KafkaError(msg->err, absl::StrCat("delivery to ", rd_kafka_topic_name(msg->rkt)));
    }
    if (!msg->err) self->delivered_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (msg->err) {
    absl::MutexLock lock(&self->mu_);
    if (self->first_error_.ok()) {
      self->first_error_ =
          KafkaError(msg->err, absl::StrCat("delivery to ", rd_kafka_topic_name(msg->rkt)));
    }
  } else {
    self->delivered_.fetch_add(1, std::memory_order_relaxed);
  }
}

void Producer::OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  absl::Status security = KafkaSecurityError(err, reason);
  if (security.ok()) {
    // What librdkafka logs itself when no error callback is set.
    spdlog::warn("Kafka producer: {}: {}", rd_kafka_err2str(static_cast<rd_kafka_resp_err_t>(err)),
                 reason);
    return;
  }
  absl::MutexLock lock(&self->mu_);
  if (self->security_error_.ok()) self->security_error_ = std::move(security);
}

absl::Status Producer::SecurityError() {
  absl::MutexLock lock(&mu_);
  return security_error_;
}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(const KafkaProperties& properties) {
  KafkaProperties props = {{"enable.idempotence", "true"},
                           {"linger.ms", "5"},
                           {"compression.type", "lz4"},
                           {"partitioner", "consistent_random"}};
  for (const auto& [k, v] : properties) props[k] = v;
  auto conf = MakeConf(props);
  if (!conf.ok()) return conf.status();
  std::unique_ptr<Producer> p(new Producer());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::OnDelivery);
  rd_kafka_conf_set_error_cb(conf->get(), &Producer::OnError);
  rd_kafka_conf_set_opaque(conf->get(), p.get());
  auto rk = NewKafka(RD_KAFKA_PRODUCER, std::move(*conf));
  if (!rk.ok()) return rk.status();
  p->rk_ = std::move(*rk);
  return p;
}

Producer::~Producer() {
  // Nothing can be delivered without credentials: do not wait for it.
  if (rk_ && SecurityError().ok()) rd_kafka_flush(rk_.get(), 5000);
}

absl::Status Producer::Send(const std::string& topic, std::optional<std::string_view> key,
                            std::string_view value, const Headers& headers, int32_t partition,
                            DeliveryGroup* group) {
  for (int attempt = 0;; ++attempt) {
    if (absl::Status s = SecurityError(); !s.ok()) return s;
    rd_kafka_headers_t* hdrs = nullptr;
    if (!headers.empty()) {
      hdrs = rd_kafka_headers_new(headers.size());
      for (const auto& [k, v] : headers)
        rd_kafka_header_add(hdrs, k.data(), k.size(), v.data(), v.size());
    }
    const char* key_data = key ? key->data() : nullptr;
    const size_t key_size = key ? key->size() : 0;
    rd_kafka_resp_err_t err =
        rd_kafka_producev(rk_.get(), RD_KAFKA_V_TOPIC(topic.c_str()),
                          RD_KAFKA_V_PARTITION(partition), RD_KAFKA_V_KEY(key_data, key_size),
                          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
                          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
                          RD_KAFKA_V_OPAQUE(group), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (group != nullptr) ++group->outstanding;
      return absl::OkStatus();
    }
    if (hdrs != nullptr) rd_kafka_headers_destroy(hdrs);  // not taken on failure
    if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL || attempt > 6000)
      return KafkaError(err, absl::StrCat("produce to ", topic));
    rd_kafka_poll(rk_.get(), 10);
  }
}

absl::Status Producer::Flush(absl::Duration timeout) {
  // In slices, so an authentication/TLS failure ends the wait at once.
  const absl::Duration slice = absl::Milliseconds(200);
  const absl::Time deadline = absl::Now() + timeout;
  rd_kafka_resp_err_t err;
  for (;;) {
    const absl::Duration left = std::max(deadline - absl::Now(), absl::ZeroDuration());
    err = rd_kafka_flush(rk_.get(),
                         static_cast<int>(absl::ToInt64Milliseconds(std::min(left, slice))));
    if (absl::Status s = SecurityError(); !s.ok()) return s;
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR || left <= slice) break;
  }
  absl::MutexLock lock(&mu_);
  absl::Status s = first_error_;
  first_error_ = absl::OkStatus();
  if (!s.ok()) return s;
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(absl::StrCat(
        "producer: ", rd_kafka_outq_len(rk_.get()), " records still undelivered after ",
        absl::FormatDuration(timeout), " (is the broker reachable?)"));
  }
  return absl::OkStatus();
}

}  // namespace recur
