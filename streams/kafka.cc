#include "streams/kafka.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "spdlog/spdlog.h"

namespace recur {

absl::Status KafkaError(rd_kafka_resp_err_t err, const std::string& what) {
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  const std::string msg = absl::StrCat(what, ": ", rd_kafka_err2str(err));
  switch (err) {
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION:
    case RD_KAFKA_RESP_ERR__QUEUE_FULL:
      return absl::UnavailableError(msg);
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
      return absl::NotFoundError(msg);
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
      return absl::InvalidArgumentError(msg);
    case RD_KAFKA_RESP_ERR__FATAL:
      return absl::InternalError(msg);
    default:
      return absl::UnknownError(msg);
  }
}

absl::Status KafkaSecurityError(int err, const char* reason) {
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  const std::string text = reason != nullptr ? reason : "";
  const std::string lower = absl::AsciiStrToLower(text);
  const char* what = nullptr;
  switch (code) {
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    case RD_KAFKA_RESP_ERR_ILLEGAL_SASL_STATE:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_SASL_MECHANISM:
      what = "authentication (SASL) failed";
      break;
    case RD_KAFKA_RESP_ERR__SSL:
      what = "TLS (SSL) failed";
      break;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
      if (absl::StrContains(lower, "might")) break;  // a guess, not a verdict
      if (absl::StrContains(lower, "sasl authentication") ||
          absl::StrContains(lower, "sasl handshake")) {
        what = "authentication (SASL) failed";
      } else if (absl::StrContains(lower, "ssl handshake")) {
        what = "TLS (SSL) handshake failed";
      }
      break;
    default:
      break;
  }
  if (what == nullptr) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrCat(
      "Kafka ", what, ": ", text.empty() ? rd_kafka_err2str(code) : text,
      " — check security.protocol, sasl.* and ssl.* (-X) against the broker's listener; "
      "retrying would not help"));
}

namespace {

// librdkafka's own log lines (syslog levels) through spdlog, so that they
// take the process's log format (--log-format json) instead of raw stderr.
void LogThroughSpdlog(const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
  // Debug lines (7) come only when asked for with -X debug=...: shown as info.
  const spdlog::level::level_enum l = level <= 3   ? spdlog::level::err
                                      : level == 4 ? spdlog::level::warn
                                                   : spdlog::level::info;
  spdlog::log(l, "librdkafka {} {}: {}", rk != nullptr ? rd_kafka_name(rk) : "", fac, buf);
}

}  // namespace

absl::StatusOr<KafkaConfPtr> MakeConf(const KafkaProperties& properties) {
  KafkaConfPtr conf(rd_kafka_conf_new());
  rd_kafka_conf_set_log_cb(conf.get(), LogThroughSpdlog);
  char err[512];
  for (const auto& [k, v] : properties) {
    if (rd_kafka_conf_set(conf.get(), k.c_str(), v.c_str(), err, sizeof(err)) != RD_KAFKA_CONF_OK) {
      // librdkafka's message can quote the value ("Invalid value \"...\""): never
      // let a value through, a secret's least of all.
      std::string why = err;
      if (!v.empty()) why = absl::StrReplaceAll(why, {{v, "<value not shown>"}});
      return absl::InvalidArgumentError(absl::StrCat("Kafka property '", k, "': ", why));
    }
  }
  return conf;
}

absl::StatusOr<KafkaPtr> NewKafka(rd_kafka_type_t type, KafkaConfPtr conf) {
  char err[512];
  rd_kafka_t* rk = rd_kafka_new(type, conf.get(), err, sizeof(err));
  if (rk == nullptr) return absl::InvalidArgumentError(absl::StrCat("Kafka client: ", err));
  conf.release();  // rd_kafka_new took ownership
  return KafkaPtr(rk);
}

absl::Status AddProperty(const std::string& key_value, KafkaProperties* props) {
  auto eq = key_value.find('=');
  if (eq == std::string::npos || eq == 0) {
    // Show only the property name the argument starts with: a typo such as
    // "sasl.password:SECRET" must not print what follows it.
    const size_t name_end = key_value.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-");
    const std::string name = key_value.substr(0, std::min(name_end, eq));
    return absl::InvalidArgumentError(absl::StrCat(
        "-X expects key=value, got '", name, "...'",
        name.size() < key_value.size() ? " (the rest is not shown: it may be a secret)" : ""));
  }
  (*props)[key_value.substr(0, eq)] = key_value.substr(eq + 1);
  return absl::OkStatus();
}

bool LooksSecret(std::string_view name) {
  const std::string lower = absl::AsciiStrToLower(std::string(name));
  for (const char* word : {"password", "passwd", "secret", "token", "credential", "jaas",
                           "oauthbearer.config", "key.pem", "private"}) {
    if (absl::StrContains(lower, word)) return true;
  }
  return false;
}

std::string RedactSecretArgs(std::string text, const std::vector<std::string>& args) {
  std::vector<std::string> secrets;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const size_t sep = arg.find_first_of("=:");
    if (sep != std::string::npos) {
      if (LooksSecret(arg.substr(0, sep)) && sep + 1 < arg.size()) {
        secrets.push_back(arg.substr(sep + 1));
      }
    } else if (LooksSecret(arg) && i + 1 < args.size()) {
      secrets.push_back(args[i + 1]);
    }
  }
  // Longest first, so a secret that contains another is replaced whole. A very
  // short secret may blank out unrelated text too: a mangled message is the
  // lesser harm.
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  for (const auto& secret : secrets) {
    if (!secret.empty()) text = absl::StrReplaceAll(text, {{secret, "<not shown>"}});
  }
  return text;
}

KafkaProperties ProducerProperties(const KafkaProperties& kafka) {
  KafkaProperties props;
  for (const auto& [k, v] : kafka) {
    if (k.rfind("group.", 0) == 0 || k.rfind("auto.", 0) == 0 || k.rfind("enable.auto", 0) == 0 ||
        k.rfind("session.", 0) == 0 || k.rfind("fetch.", 0) == 0 ||
        k.rfind("partition.assignment", 0) == 0) {
      continue;
    }
    props[k] = v;
  }
  return props;
}

}  // namespace recur
