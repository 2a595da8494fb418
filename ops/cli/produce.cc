// `recur produce`: publishes JSON-lines events to the input topics.
#include "ops/cli/produce.h"

#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "featurestore/validate.h"
#include "ops/cli/cli.h"
#include "ops/jsonl.h"
#include "streams/producer.h"

namespace recur::cli {

int ProduceEvents(
    const KafkaProperties& props,
    const std::function<absl::Status(const EventSink& send, int64_t* rejected)>& feed) {
  auto producer = Producer::Create(props);
  if (!producer.ok()) return Fail(producer.status());
  const TopicNames topics;
  int64_t sent = 0, rejected = 0;
  const EventSink send = [&](const v1::Event& e) -> absl::Status {
    const std::string& topic = topics.ForEvent(e);
    if (topic.empty()) return absl::InvalidArgumentError("kind: none set, no topic to send to");
    absl::Status s = (*producer)->Send(topic, absl::StrCat(e.shop_id(), "/", e.customer_id()),
                                       e.SerializeAsString(), {});
    if (s.ok()) ++sent;
    return s;
  };
  absl::Status s = feed(send, &rejected);
  if (!s.ok()) return Fail(s);
  s = (*producer)->Flush(absl::Minutes(5));
  if (!s.ok()) return Fail(s, "is the broker at --brokers reachable, and do the topics exist?");
  std::cerr << "produced " << sent << " events (" << (*producer)->delivered() << " delivered), "
            << rejected << " rejected\n";
  return rejected > 0 ? kExitBadInput : kExitOk;
}

namespace {

class ProduceCommand : public Command {
 public:
  explicit ProduceCommand(CLI::App& app)
      : Command(app.add_subcommand(
            "produce", "Publish JSON-lines events to the input topics (idempotent producer)")) {
    sub_->add_option("input", inputs_, "JSON-lines files of events, - for stdin")->required();
    sub_->add_option("--brokers", brokers_, "Kafka bootstrap servers host:port")->required();
    sub_->add_option("-X", kafka_props_,
                     "librdkafka property key=value (repeatable), e.g. security.protocol=SASL_SSL");
  }

  int Run() override {
    auto props = KafkaPropertiesOf(kafka_props_, brokers_);
    if (!props.ok()) return Fail(props.status());
    return ProduceEvents(*props, [&](const EventSink& send, int64_t* rejected) {
      for (const std::string& path : inputs_) {
        absl::Status s = SendFile(path, send, rejected);
        if (!s.ok()) return s;
      }
      return absl::OkStatus();
    });
  }

 private:
  // Sends every valid line of `path` ("-": stdin); an invalid one is counted in
  // *rejected (the first 20 are printed with file and line number).
  static absl::Status SendFile(const std::string& path, const EventSink& send, int64_t* rejected) {
    std::ifstream file;
    std::istream* in = &std::cin;
    if (path != "-") {
      file.open(path);
      if (!file) return absl::NotFoundError(absl::StrCat("cannot read ", path));
      in = &file;
    }
    std::string line;
    for (int64_t n = 1; std::getline(*in, line); ++n) {
      if (line.empty()) continue;
      auto e = ParseEventJson(line);
      absl::Status s = e.ok() ? ValidateEvent(*e) : e.status();
      if (!s.ok()) {
        if (++*rejected <= 20)
          std::cerr << "recur: " << path << ":" << n << ": " << s.message() << "\n";
        continue;
      }
      s = send(*e);
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  std::vector<std::string> inputs_;
  std::string brokers_;
  std::vector<std::string> kafka_props_;
};

}  // namespace

std::unique_ptr<Command> RegisterProduce(CLI::App& app) {
  return std::make_unique<ProduceCommand>(app);
}

}  // namespace recur::cli
