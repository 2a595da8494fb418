#include "streams/broker_watch.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "spdlog/spdlog.h"

namespace recur {

void BrokerWatch::Down(const absl::Status& why) {
  if (down_since_) return;
  down_since_ = Clock::now();
  spdlog::warn("Kafka unreachable ({}): waiting for it to come back", std::string(why.message()));
}

void BrokerWatch::Back(bool log) {
  if (log) spdlog::info("Kafka reachable again");
  down_since_.reset();
}

absl::Status BrokerWatch::Check(RecordSource& source, int timeout_s) {
  if (!down_since_) return absl::OkStatus();
  if (Clock::now() - last_probe_ > std::chrono::seconds(2)) {
    last_probe_ = Clock::now();
    if (source.ProbeBroker()) {
      Up(/*log=*/true);
      return absl::OkStatus();
    }
  }
  if (Clock::now() - *down_since_ > std::chrono::seconds(timeout_s)) {
    return absl::UnavailableError(
        absl::StrCat("no Kafka broker reachable for ", timeout_s,
                     " s; check --brokers and that Kafka is running, then restart"));
  }
  return absl::OkStatus();
}

}  // namespace recur
