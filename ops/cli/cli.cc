#include "ops/cli/cli.h"

#include <signal.h>

#include <cmath>
#include <iostream>

namespace recur::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop.store(true); }

}  // namespace

int Fail(const absl::Status& s, const std::string& hint) {
  std::cerr << "recur: error: " << s.message() << "\n";
  if (!hint.empty()) std::cerr << "recur: " << hint << "\n";
  return kExitFailure;
}

absl::StatusOr<KafkaProperties> KafkaPropertiesOf(const std::vector<std::string>& x,
                                                  const std::string& brokers) {
  KafkaProperties props;
  for (const auto& kv : x) {
    absl::Status s = AddProperty(kv, &props);
    if (!s.ok()) return s;
  }
  if (!brokers.empty()) props["bootstrap.servers"] = brokers;
  return props;
}

const CLI::Validator& NotNaN() {
  static const CLI::Validator kNotNaN(
      [](std::string& text) {
        double v = 0;
        if (CLI::detail::lexical_cast(text, v) && std::isnan(v))
          return std::string("NaN is not a value here");
        return std::string();
      },
      "", "NotNaN");
  return kNotNaN;
}

std::atomic<bool>& StopFlag() { return g_stop; }

void InstallStopHandlers() {
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  // A closed terminal or session (and some supervisors) send SIGHUP: stop
  // cleanly as on SIGTERM rather than die with the default action (exit 129).
  sigaction(SIGHUP, &sa, nullptr);
}

}  // namespace recur::cli
