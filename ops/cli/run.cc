// `recur run`: the pipeline daemon (streams/pipeline.h), optionally on an
// embedded broker.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "featurestore/retention.h"
#include "http/server.h"
#include "ops/cli/cli.h"
#include "ops/cli/run_options.h"
#include "spdlog/spdlog.h"
#include "streams/changelog_kafka.h"
#include "streams/embedded.h"
#include "streams/missing_stores.h"
#include "streams/pipeline.h"

namespace recur::cli {
namespace {

class RunCommand : public Command {
 public:
  explicit RunCommand(CLI::App& app)
      : Command(app.add_subcommand("run",
                                   "Consume the input topics, keep the feature store current "
                                   "exactly once, and publish scores")) {
    // 0 until given: the state dir's recorded retention (resolved in Run).
    options_.decoder.retention_days = 0;
    AddRunOptions(sub_, &options_, &brokers_, &kafka_props_);
    sub_->add_flag("--rebuild-missing", rebuild_.rebuild_missing,
                   "rebuild partition stores the state dir recorded and lost (a deleted "
                   "partition-<n> directory) from the input topics; refused when a topic no "
                   "longer starts at offset 0 (see --accept-loss)");
    sub_->add_option("--http", http_.listen,
                     "serve the lookup API, /metrics, /healthz and /readyz on HOST:PORT "
                     "(README \"HTTP API\"); off unless given");
    sub_->add_option("--ready-max-lag", http_.ready_max_lag,
                     "/readyz answers 200 only when at most this many records behind")
        ->capture_default_str()
        ->check(CLI::NonNegativeNumber);
    sub_->add_option("--http-threads", http_.threads,
                     "event-loop threads serving HTTP connections (any number of "
                     "connections each; a request is answered on its connection's loop)")
        ->capture_default_str()
        ->check(CLI::Range(1, 64));
    sub_->add_option("--http-nice", http_.nice,
                     "niceness added to the HTTP threads, so that on a busy machine ingest and "
                     "scoring come first, at the price of the lookups' latency (0: the "
                     "pipeline's priority)")
        ->capture_default_str()
        ->check(CLI::Range(0, 19));
    sub_->add_flag("--accept-loss", rebuild_.accept_loss,
                   "with --rebuild-missing: rebuild even from input topics whose first records "
                   "were deleted (retention, kafka-delete-records); the lost offsets are logged");
  }

  int Run() override {
    auto props = KafkaPropertiesOf(kafka_props_, brokers_);
    if (!props.ok()) return Fail(props.status());
    std::unique_ptr<EmbeddedKafka> embedded;
    if (brokers_ == "embedded") {
      auto k = EmbeddedKafka::Start(4, options_.topics);
      if (!k.ok()) return Fail(k.status());
      embedded = std::move(*k);
      (*props)["bootstrap.servers"] = embedded->bootstraps();
      spdlog::info(
          "embedded Kafka (librdkafka mock cluster) at {}: produce with `recur produce --brokers "
          "{}`",
          embedded->bootstraps(), embedded->bootstraps());
    }
    options_.kafka = *props;
    if (options_.standby_replicas > 0 && options_.changelog_topic.empty()) {
      return Fail(absl::InvalidArgumentError(
          "--standby-replicas needs --changelog-topic (standby copies are read from it)"));
    }
    if (rebuild_.accept_loss && !rebuild_.rebuild_missing) {
      return Fail(absl::InvalidArgumentError("--accept-loss only goes with --rebuild-missing"));
    }
    // Every partition store (a rebuilt one too) and the decoder's lateness
    // rules use one retention: the recorded one unless a new dir is given one.
    auto retention = StateDirRetention(options_.state_dir, options_.decoder.retention_days);
    if (!retention.ok()) return Fail(retention.status());
    options_.decoder.retention_days = *retention;
    // Before anything is assigned: a lost store is refused or, when asked,
    // rebuilt; with a changelog it is restored from it.
    if (options_.changelog_topic.empty()) {
      if (absl::Status s = CheckMissingStores(options_, rebuild_); !s.ok()) return Fail(s);
    } else if (absl::Status s = CheckChangelogTopic(options_); !s.ok()) {
      return Fail(s);
    }
    InstallStopHandlers();
    auto pipeline = Pipeline::Create(options_);
    if (!pipeline.ok()) return Fail(pipeline.status());
    std::unique_ptr<HttpServer> http;
    if (!http_.listen.empty()) {
      http_.models_required =
          options_.scoring.enabled && !options_.scoring.scorer.models_dir.empty();
      auto started = HttpServer::Start(http_, pipeline->get());
      if (!started.ok()) return Fail(started.status());
      http = std::move(*started);
      spdlog::info("HTTP API at {}: /v1/customers/SHOP/CUSTOMER, /metrics, /healthz, /readyz",
                   http->url());
    }
    absl::Status s = (*pipeline)->Run(StopFlag());
    http.reset();  // before the pipeline it reads
    std::cout << (*pipeline)->StatsJson() << std::endl;
    if (!s.ok()) return Fail(s);
    return kExitOk;
  }

 private:
  PipelineOptions options_;
  RebuildOptions rebuild_;
  HttpOptions http_;
  std::string brokers_;
  std::vector<std::string> kafka_props_;
};

}  // namespace

std::unique_ptr<Command> RegisterRun(CLI::App& app) { return std::make_unique<RunCommand>(app); }

}  // namespace recur::cli
