// Producer: an idempotent librdkafka producer with delivery tracking, used for
// `recur produce`, `recur simulate --brokers`, the DLQ and the scores.
//
//   auto p = recur::Producer::Create({{"bootstrap.servers", brokers}});
//   RETURN_IF_ERROR((*p)->Send("shop.purchases", key, bytes, {}));
//   RETURN_IF_ERROR((*p)->Flush(absl::Seconds(30)));   // every delivery confirmed
//
// Thread-safety: Send and Flush from one thread. Owns its rd_kafka_t.
#ifndef RECUR_STREAMS_PRODUCER_H_
#define RECUR_STREAMS_PRODUCER_H_

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/recur.pb.h"
#include "streams/kafka.h"
#include "streams/topics.h"

namespace recur {

using Headers = std::vector<std::pair<std::string, std::string>>;

// The outstanding deliveries of one group of records (e.g. one batch's scores),
// updated by delivery reports, which are served on the thread that calls
// Send/Poll/Flush. A group's failures do not show in Flush's result.
struct DeliveryGroup {
  int64_t outstanding = 0;
  absl::Status error;  // the first delivery failure of the group
};

class Producer {
 public:
  // enable.idempotence=true unless `properties` says otherwise.
  static absl::StatusOr<std::unique_ptr<Producer>> Create(const KafkaProperties& properties);
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Queues one record; waits (serving delivery reports) while the queue is full.
  // Unauthenticated once an authentication/TLS failure was reported.
  // A nullopt key sends a record without a key (not an empty one).
  absl::Status Send(const std::string& topic, std::optional<std::string_view> key,
                    std::string_view value, const Headers& headers,
                    int32_t partition = RD_KAFKA_PARTITION_UA, DeliveryGroup* group = nullptr);
  // Serves delivery reports, waiting up to `timeout_ms`.
  void Poll(int timeout_ms) { rd_kafka_poll(rk_.get(), timeout_ms); }
  // Waits until every queued record is delivered; returns the first delivery
  // failure since the last Flush (Unavailable on timeout), or at once an
  // authentication/TLS failure (Unauthenticated, kafka.h KafkaSecurityError).
  absl::Status Flush(absl::Duration timeout);
  int64_t delivered() const { return delivered_.load(); }
  rd_kafka_t* handle() { return rk_.get(); }

 private:
  Producer() = default;
  static void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque);
  static void OnError(rd_kafka_t*, int err, const char* reason, void* opaque);
  // The authentication/TLS failure an error callback reported, if any.
  absl::Status SecurityError();

  KafkaPtr rk_;
  absl::Mutex mu_;  // delivery reports vs Flush
  absl::Status first_error_ ABSL_GUARDED_BY(mu_);
  absl::Status security_error_ ABSL_GUARDED_BY(mu_);  // sticky: credentials do not heal
  std::atomic<int64_t> delivered_{0};
};

}  // namespace recur

#endif  // RECUR_STREAMS_PRODUCER_H_
