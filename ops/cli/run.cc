// `recur run`: the pipeline daemon (streams/pipeline.h), optionally on an
// embedded broker.
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "ops/cli/cli.h"
#include "spdlog/spdlog.h"
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
    PipelineOptions& o = options_;
    sub_->add_option("--brokers", brokers_,
                     "Kafka bootstrap servers host:port, or 'embedded' for an in-process broker "
                     "(librdkafka's mock cluster; other clients can reach it at the address it "
                     "prints)")
        ->required();
    sub_->add_option("--group", o.group_id, "consumer group id")->capture_default_str();
    sub_->add_option("--state-dir", o.state_dir,
                     "state directory (one RocksDB store per partition)")
        ->capture_default_str();
    sub_->add_option("--batch-size", o.batch_max_events, "max events per micro-batch")
        ->capture_default_str()
        ->check(CLI::Range(1, 10'000'000));
    sub_->add_option("--linger-ms", o.batch_linger_ms,
                     "max wait before a partial batch is committed")
        ->capture_default_str()
        ->check(CLI::Range(1, 600'000));
    sub_->add_option("--max-message-bytes", o.decoder.max_message_bytes,
                     "larger records go to the DLQ (oversized)")
        ->capture_default_str();
    sub_->add_option("--dlq-topic", o.topics.dlq, "dead-letter topic")->capture_default_str();
    sub_->add_option("--stats", o.stats_interval_s, "print a stats line every N seconds (0: off)")
        ->capture_default_str();
    sub_->add_option("--exit-when-idle-ms", o.exit_when_idle_ms,
                     "exit once caught up on every partition and idle this long (0: run forever)")
        ->capture_default_str();
    sub_->add_option("--max-retries", o.max_retries,
                     "retries of a failed batch before exiting non-zero")
        ->capture_default_str();
    sub_->add_option("--broker-down-timeout", o.broker_down_timeout_s,
                     "seconds without any broker before exiting non-zero")
        ->capture_default_str();
    sub_->add_flag("--sync", o.sync, "fsync every flush (survives power loss, slower)");
    sub_->add_option("--commit-interval-ms", o.commit_interval_ms,
                     "write the changed customers and their offsets to the state stores this "
                     "often (a crash re-reads at most this much input; 0: after every batch)")
        ->capture_default_str()
        ->check(CLI::Range(0, 3'600'000));
    sub_->add_option("--cache-mb", o.cache_mb,
                     "MiB of decoded customers kept in memory, all partitions together "
                     "(least recently used ones are evicted; a flush runs early when the "
                     "changed ones take half of it)")
        ->capture_default_str()
        ->check(CLI::Range(64, 1 << 20));
    sub_->add_option("--watermark-events", o.watermark_events,
                     "a partition's watermark (the day its customers are re-scored as of) is its "
                     "N-th largest event time: a day boundary is crossed once N events are past "
                     "it, so a single outlier does not move it")
        ->capture_default_str()
        ->check(CLI::Range(1, EventTimeWatermark::kKept));
    sub_->add_option("--models-dir", o.scoring.scorer.models_dir,
                     "model registry: scores with <dir>/<target>/CURRENT of both targets, "
                     "reloaded when CURRENT changes")
        ->capture_default_str();
    sub_->add_option("--rules", o.scoring.rules_file,
                     "segments/actions rules file (default: the built-in set, see `recur rules`)");
    sub_->add_option("--scores-topic", o.topics.scores, "output topic of CustomerScore")
        ->capture_default_str();
    sub_->add_option("--score-epsilon", o.scoring.epsilon,
                     "a day-boundary re-score is published when a probability moved more than "
                     "this, or a segment changed")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 1.0));
    sub_->add_flag("--exact-reasons", o.scoring.scorer.exact_reasons,
                   "exact TreeSHAP reasons (about 90x slower than the default approximate "
                   "contributions)");
    sub_->add_flag("!--no-scoring", o.scoring.enabled, "ingest only: no scores, no pending marks");
    sub_->add_flag("--rebuild-missing", rebuild_.rebuild_missing,
                   "rebuild partition stores the state dir recorded and lost (a deleted "
                   "partition-<n> directory) from the input topics; refused when a topic no "
                   "longer starts at offset 0 (see --accept-loss)");
    sub_->add_flag("--accept-loss", rebuild_.accept_loss,
                   "with --rebuild-missing: rebuild even from input topics whose first records "
                   "were deleted (retention, kafka-delete-records); the lost offsets are logged");
    sub_->add_option(
        "-X", kafka_props_,
        "librdkafka property key=value (repeatable): security.protocol, sasl.*, ssl.*, ...");
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
    if (rebuild_.accept_loss && !rebuild_.rebuild_missing) {
      return Fail(absl::InvalidArgumentError("--accept-loss only goes with --rebuild-missing"));
    }
    // Before anything is assigned: a lost store is refused or, when asked, rebuilt.
    if (absl::Status s = CheckMissingStores(options_, rebuild_); !s.ok()) return Fail(s);
    InstallStopHandlers();
    auto pipeline = Pipeline::Create(options_);
    if (!pipeline.ok()) return Fail(pipeline.status());
    absl::Status s = (*pipeline)->Run(StopFlag());
    std::cout << (*pipeline)->StatsJson() << std::endl;
    if (!s.ok()) return Fail(s);
    return kExitOk;
  }

 private:
  PipelineOptions options_;
  RebuildOptions rebuild_;
  std::string brokers_;
  std::vector<std::string> kafka_props_;
};

}  // namespace

std::unique_ptr<Command> RegisterRun(CLI::App& app) { return std::make_unique<RunCommand>(app); }

}  // namespace recur::cli
