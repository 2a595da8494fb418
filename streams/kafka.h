// Owning wrappers for librdkafka's C handles and the one place where librdkafka
// errors become absl::Status. Every rd_kafka_* handle recur holds is one of these.
//
//   auto conf = recur::MakeConf({{"bootstrap.servers", "127.0.0.1:9092"}});
//   if (!conf.ok()) return conf.status();
//   auto producer = recur::NewKafka(RD_KAFKA_PRODUCER, std::move(*conf));
#ifndef RECUR_STREAMS_KAFKA_H_
#define RECUR_STREAMS_KAFKA_H_

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace recur {

struct KafkaDeleter {
  void operator()(rd_kafka_t* p) const { rd_kafka_destroy(p); }
  void operator()(rd_kafka_conf_t* p) const { rd_kafka_conf_destroy(p); }
  void operator()(rd_kafka_message_t* p) const { rd_kafka_message_destroy(p); }
  void operator()(rd_kafka_topic_partition_list_t* p) const {
    rd_kafka_topic_partition_list_destroy(p);
  }
  void operator()(rd_kafka_headers_t* p) const { rd_kafka_headers_destroy(p); }
  void operator()(rd_kafka_error_t* p) const { rd_kafka_error_destroy(p); }
  void operator()(const rd_kafka_metadata_t* p) const { rd_kafka_metadata_destroy(p); }
  void operator()(rd_kafka_queue_t* p) const { rd_kafka_queue_destroy(p); }
  void operator()(rd_kafka_event_t* p) const { rd_kafka_event_destroy(p); }
  void operator()(rd_kafka_AdminOptions_t* p) const { rd_kafka_AdminOptions_destroy(p); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using KafkaConfPtr = std::unique_ptr<rd_kafka_conf_t, KafkaDeleter>;
using KafkaMessagePtr = std::unique_ptr<rd_kafka_message_t, KafkaDeleter>;
using KafkaPartitionsPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, KafkaDeleter>;
using KafkaHeadersPtr = std::unique_ptr<rd_kafka_headers_t, KafkaDeleter>;
// rd_kafka_metadata() hands out a const pointer; this owns it.
using KafkaMetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, KafkaDeleter>;

using KafkaProperties = std::map<std::string, std::string>;

// Maps a librdkafka error: transport/timeouts are Unavailable (retry with
// backoff), the rest by kind. `what` says what recur was doing.
absl::Status KafkaError(rd_kafka_resp_err_t err, const std::string& what);

// An authentication or TLS failure reported to an error callback (librdkafka's
// `err` and `reason`) as Unauthenticated, saying what failed and what to check;
// OK for any other error. Waiting never heals these (unlike a broker that is
// down), so a client that sees one stops at once. Covers __AUTHENTICATION,
// __SSL, the broker's SASL refusals, and transport failures whose text reports
// a failed SASL or SSL handshake (not librdkafka's speculative "might require
// SASL" hint after a plain disconnect: a restarting broker causes those too).
absl::Status KafkaSecurityError(int err, const char* reason);

// A configuration with every property set; an unknown or invalid property is an
// InvalidArgument naming it (never the value: it may be a secret).
absl::StatusOr<KafkaConfPtr> MakeConf(const KafkaProperties& properties);

// Creates a client; the configuration is consumed.
absl::StatusOr<KafkaPtr> NewKafka(rd_kafka_type_t type, KafkaConfPtr conf);

// Parses "key=value" into `props` (for -X flags). A malformed argument is
// InvalidArgument that shows at most the property name it starts with, never
// what follows (`-X sasl.password:SECRET` must not print the secret).
absl::Status AddProperty(const std::string& key_value, KafkaProperties* props);

// `kafka` without the consumer-only settings (group.*, auto.*, session.*,
// fetch.*, ...), which would make a producer's configuration fail.
KafkaProperties ProducerProperties(const KafkaProperties& kafka);

// True for a property or option name whose value may be a secret (password,
// secret, token, credentials, JAAS/OAuth configuration, private key): such a
// value is never printed, whatever went wrong.
bool LooksSecret(std::string_view name);

// `text` (e.g. a command-line parser's error, which quotes the arguments it
// could not place) with every value that `args` gives to a secret-looking name
// replaced by "<not shown>": the value of `NAME=VALUE` or `NAME:VALUE` (with or
// without leading dashes, e.g. `-x sasl.password=...`, `--ssl.key.password=...`)
// and the word after a bare NAME (`-x sasl.password VALUE`).
std::string RedactSecretArgs(std::string text, const std::vector<std::string>& args);

}  // namespace recur

#endif  // RECUR_STREAMS_KAFKA_H_
