// `recur simulate`: the simulator's event stream as JSON lines, or to Kafka.
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/time.h"
#include "ops/cli/cli.h"
#include "ops/cli/produce.h"
#include "ops/jsonl.h"
#include "ops/simulator.h"

namespace recur::cli {
namespace {

class SimulateCommand : public Command {
 public:
  explicit SimulateCommand(CLI::App& app)
      : Command(app.add_subcommand(
            "simulate", "Write a deterministic synthetic multi-shop event stream as JSON lines")) {
    sub_->add_option("--shops", sim_.shops, "number of shops")
        ->capture_default_str()
        ->check(CLI::Range(1, 1000));
    sub_->add_option("--customers", sim_.customers_per_shop, "customers per shop")
        ->capture_default_str()
        ->check(CLI::Range(1, 10'000'000));
    sub_->add_option("--days", sim_.days, "days of activity")
        ->capture_default_str()
        ->check(CLI::Range(1, 3650));
    sub_->add_option("--seed", sim_.seed, "random seed (same seed, same stream)")
        ->capture_default_str();
    sub_->add_option("--start", start_, "first day, YYYY-MM-DD (UTC)")->capture_default_str();
    sub_->add_option("--duplicate-rate", sim_.duplicate_rate, "share of events sent twice")
        ->capture_default_str();
    sub_->add_option("--late-rate", sim_.late_rate, "share of events sent 1-3 days late")
        ->capture_default_str();
    sub_->add_option("--minutes-factor", sim_.minutes_factor,
                     "drift for tests and demos: multiplies every session's minutes from "
                     "--shift-from on (nothing else in the stream changes)")
        ->capture_default_str()
        ->check(CLI::Range(0.01, 100.0));
    sub_->add_option("--shift-from", shift_from_,
                     "first day (YYYY-MM-DD) of --minutes-factor; default --start");
    sub_->add_option("-o,--output", out_, "output file, - for stdout")->capture_default_str();
    sub_->add_option("--brokers", brokers_, "write to Kafka at host:port instead of a file");
    sub_->add_option("-X", kafka_props_, "librdkafka property key=value (repeatable)");
  }

  int Run() override {
    auto props = KafkaPropertiesOf(kafka_props_, brokers_);
    if (!props.ok()) return Fail(props.status());
    if (!brokers_.empty()) {
      return ProduceEvents(*props, [&](const EventSink& send, int64_t*) -> absl::Status {
        absl::Status s = ParseDays();
        if (!s.ok()) return s;
        return Simulate(sim_, send);
      });
    }
    return WriteJsonLines();
  }

 private:
  int WriteJsonLines() {
    if (absl::Status s = ParseDays(); !s.ok()) return Fail(s);
    std::ofstream file;
    std::ostream* out = &std::cout;
    if (out_ != "-") {
      file.open(out_, std::ios::trunc);
      if (!file) return Fail(absl::UnavailableError(absl::StrCat("cannot write ", out_)));
      out = &file;
    }
    std::ios::sync_with_stdio(false);
    absl::Status s = Simulate(sim_, [&](const v1::Event& e) {
      *out << EventToJson(e) << '\n';
      return *out ? absl::OkStatus()
                  : absl::UnavailableError("write failed (disk full or closed pipe?)");
    });
    if (!s.ok()) return Fail(s);
    out->flush();
    return kExitOk;
  }

  absl::Status ParseDays() {
    auto start = ParseTime(start_, DayBound::kStart);
    if (!start.ok()) return start.status();
    sim_.start_ms = *start;
    sim_.shift_from_ms = *start;
    if (!shift_from_.empty()) {
      auto from = ParseTime(shift_from_, DayBound::kStart);
      if (!from.ok()) return from.status();
      sim_.shift_from_ms = *from;
    }
    return absl::OkStatus();
  }

  SimulatorOptions sim_;
  std::string shift_from_;
  std::string out_ = "-";
  std::string start_ = "2025-01-01";
  std::string brokers_;
  std::vector<std::string> kafka_props_;
};

}  // namespace

std::unique_ptr<Command> RegisterSimulate(CLI::App& app) {
  return std::make_unique<SimulateCommand>(app);
}

}  // namespace recur::cli
