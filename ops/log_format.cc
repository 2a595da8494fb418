#include "ops/log_format.h"

#include <pthread.h>

#include <chrono>
#include <cstdint>
#include <ctime>
#include <optional>
#include <string_view>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "spdlog/spdlog.h"

namespace recur {
namespace {

// The thread's name (pthread_setname_np) as a component: "recur" is the main
// thread (the pipeline's loop), "recur-score" the scorer, "recur-http" the
// HTTP server's loops, librdkafka names its own ("rdk:...").
std::string Component() {
  char name[32] = {0};
  if (pthread_getname_np(pthread_self(), name, sizeof name) != 0) return "recur";
  const std::string n = name;
  if (n == "recur-score") return "scorer";
  if (n == "recur-http") return "http";
  if (n.rfind("rdk:", 0) == 0) return "kafka";
  return "pipeline";
}

// N when the message starts with "partition N" (then ':' or ' ').
std::optional<int64_t> PartitionOf(std::string_view msg) {
  constexpr std::string_view kPrefix = "partition ";
  if (msg.substr(0, kPrefix.size()) != kPrefix) return std::nullopt;
  int64_t n = 0;
  size_t i = kPrefix.size();
  const size_t start = i;
  while (i < msg.size() && msg[i] >= '0' && msg[i] <= '9' && i - start < 10) {
    n = n * 10 + (msg[i] - '0');
    ++i;
  }
  if (i == start || (i < msg.size() && msg[i] != ':' && msg[i] != ' ')) return std::nullopt;
  return n;
}

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& m, spdlog::memory_buf_t& dest) override {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(m.time.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    const std::string_view msg(m.payload.data(), m.payload.size());
    const auto level = spdlog::level::to_string_view(m.level);
    nlohmann::ordered_json j{
        {"ts", absl::StrFormat("%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                               static_cast<int>(ms % 1000))},
        {"level", std::string(level.data(), level.size())},
        {"component", Component()}};
    if (auto p = PartitionOf(msg)) j["partition"] = *p;
    j["msg"] = std::string(msg);
    // A message quoting bad input may hold bytes that are not UTF-8: replaced,
    // never a lost line.
    const std::string line =
        j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> MakeJsonLogFormatter() {
  return std::make_unique<JsonFormatter>();
}

absl::Status UseLogFormat(const std::string& format) {
  if (format == "text") return absl::OkStatus();
  if (format == "json") {
    spdlog::set_formatter(MakeJsonLogFormatter());
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(
      absl::StrCat("--log-format ", format, ": expected text or json"));
}

}  // namespace recur
