// The options of `recur run`, apart from the command so that the config file's
// fuzz target (tests/fuzz/config_fuzz.cc) parses into the very same options.
#include "ops/cli/run_options.h"

#include <limits>

#include "base/time.h"
#include "ops/cli/cli.h"

namespace recur::cli {

namespace {

// Scale-out on Kafka: rebalancing, the changelog, standbys (docs/DESIGN.md "Scale-out").
void AddScaleOutOptions(CLI::App* sub, PipelineOptions* options) {
  PipelineOptions& o = *options;
  sub->add_flag("--cooperative-rebalance", o.cooperative,
                "cooperative incremental rebalancing: when an instance joins or leaves, only the "
                "partitions that move stop (their stores flush and close) and the others are read "
                "on; membership is on the first input topic and partition N of every input topic "
                "follows it, so the input topics must have equal partition counts (docs/DESIGN.md "
                "\"Scale-out\"). Every instance of the group must use it. Default: eager (every "
                "rebalance stops every instance)");
  sub->add_option("--changelog-topic", o.changelog_topic,
                  "compacted topic that every flush of a partition store is also written to "
                  "(Kafka transactions), and that a store missing here is restored from: "
                  "state that follows its partition to any instance (docs/DESIGN.md "
                  "\"Scale-out\"). E.g. recur.changelog, created with ops/kafka/create-topics "
                  "--compact --config max.message.bytes=33554432 and the input topics' partition "
                  "count. Empty: none");
  sub->add_option("--standby-replicas", o.standby_replicas,
                  "keep warm copies of the partition stores that the N instances before this "
                  "one (in member-id order) own, by tailing the changelog into the state dir, "
                  "so a partition that fails over here reads only the last seconds of its "
                  "changelog, not all of it (docs/DESIGN.md \"Standbys\"). Needs "
                  "--changelog-topic. Default 0: none")
      ->check(CLI::Range(0, 16));
  sub->add_option("--state-cleanup-delay-ms", o.state_cleanup_delay_ms,
                  "with --changelog-topic: a logged store of a partition another member owns "
                  "(it moved away, or an earlier run left it) is deleted from the state dir "
                  "this long after that was seen; its changelog still holds it (Kafka Streams' "
                  "state.cleanup.delay.ms). So is a --standby-replicas copy the group no longer "
                  "wants here (it keeps neither the copy nor the partition). -1: kept")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{-1}, std::numeric_limits<int64_t>::max()).description(" >= -1"));
}

}  // namespace

void AddRunOptions(CLI::App* sub, PipelineOptions* options, std::string* brokers,
                   std::vector<std::string>* kafka_props) {
  PipelineOptions& o = *options;
  sub->add_option("--brokers", *brokers,
                  "Kafka bootstrap servers host:port, or 'embedded' for an in-process broker "
                  "(librdkafka's mock cluster; other clients can reach it at the address it "
                  "prints)")
      ->required();
  sub->add_option("--group", o.group_id, "consumer group id")->capture_default_str();
  sub->add_option("--state-dir", o.state_dir, "state directory (one RocksDB store per partition)")
      ->capture_default_str();
  sub->add_option("--batch-size", o.batch_max_events, "max events per micro-batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  sub->add_option("--linger-ms", o.batch_linger_ms, "max wait before a partial batch is committed")
      ->capture_default_str()
      ->check(CLI::Range(1, 600'000));
  sub->add_option("--max-message-bytes", o.decoder.max_message_bytes,
                  "larger records go to the DLQ (oversized)")
      ->capture_default_str();
  sub->add_option("--dlq-topic", o.topics.dlq, "dead-letter topic")->capture_default_str();
  sub->add_option("--stats", o.stats_interval_s, "print a stats line every N seconds (0: off)")
      ->capture_default_str();
  sub->add_option("--exit-when-idle-ms", o.exit_when_idle_ms,
                  "exit once caught up on every partition and idle this long (0: run forever)")
      ->capture_default_str();
  sub->add_option("--max-retries", o.max_retries,
                  "retries of a failed batch before exiting non-zero")
      ->capture_default_str();
  sub->add_option("--broker-down-timeout", o.broker_down_timeout_s,
                  "seconds without any broker before exiting non-zero")
      ->capture_default_str();
  sub->add_flag("--sync", o.sync, "fsync every flush (survives power loss, slower)");
  sub->add_option("--commit-interval-ms", o.commit_interval_ms,
                  "write the changed customers and their offsets to the state stores this "
                  "often (a crash re-reads at most this much input; 0: after every batch)")
      ->capture_default_str()
      ->check(CLI::Range(0, 3'600'000));
  sub->add_option("--cache-mb", o.cache_mb,
                  "MiB of decoded customers kept in memory, all partitions together "
                  "(least recently used ones are evicted; a flush runs early when the "
                  "changed ones take half of it)")
      ->capture_default_str()
      ->check(CLI::Range(64, 1 << 20));
  sub->add_option("--watermark-events", o.watermark_events,
                  "a partition's watermark (the day its customers are re-scored as of) is its "
                  "N-th largest event time: a day boundary is crossed once N events are past "
                  "it, so a single outlier does not move it")
      ->capture_default_str()
      ->check(CLI::Range(1, EventTimeWatermark::kKept));
  sub->add_option("--max-events-per-day", o.max_events_per_day,
                  "events applied per customer, event kind and UTC day; the rest go to the DLQ "
                  "as rate_limited (a bot's flood). Counted while the day's event ids are "
                  "remembered for dedupe (7 days); 0: no cap")
      ->capture_default_str();
  sub->add_option("--retention-days", o.decoder.retention_days,
                  "days of history the stores keep, recorded when they are created; events older "
                  "than the horizon go to the DLQ as too_late (default: the state dir's recorded "
                  "value, 400 for a new one; another value than the recorded one is refused)")
      ->check(CLI::Range(kMinRetentionDays, 100'000));
  sub->add_option("--models-dir", o.scoring.scorer.models_dir,
                  "model registry: scores with <dir>/<target>/CURRENT of both targets, "
                  "reloaded when CURRENT changes")
      ->capture_default_str();
  sub->add_option("--rules", o.scoring.rules_file,
                  "segments/actions rules file (default: the built-in set, see `recur rules`)");
  sub->add_option_function<size_t>(
         "--rescore-step",
         [&o](const size_t& n) {
           o.rescore_in_steps = n > 0;
           if (n > 0) o.scoring.chunk = n;
         },
         "customers per step of a day-boundary re-scoring pass; the steps run between the "
         "batches' scores while ingest goes on (0: the whole pass at once, ingest waits)")
      ->default_str(std::to_string(o.scoring.chunk))
      ->check(CLI::Range(size_t{0}, size_t{10'000'000}));
  sub->add_flag("!--rescore-all", o.scoring.skip_unchanged,
                "run the models for every customer of a day-boundary pass; by default a "
                "customer whose model inputs fall on the same side of every split as for its "
                "last score, and whose segments would not change, keeps it without a model "
                "call (the same scores are published either way; for comparisons)");
  sub->add_option("--scores-topic", o.topics.scores, "output topic of CustomerScore")
      ->capture_default_str();
  sub->add_option("--score-epsilon", o.scoring.epsilon,
                  "a day-boundary re-score is published when a probability moved more than "
                  "this, or a segment changed")
      ->capture_default_str()
      ->check(NotNaN())
      ->check(CLI::Range(0.0, 1.0));
  sub->add_flag("--exact-reasons", o.scoring.scorer.exact_reasons,
                "exact TreeSHAP reasons (about 90x slower than the default approximate "
                "contributions)");
  sub->add_flag("--xgboost-predict", o.scoring.scorer.xgboost_only,
                "predict and explain with XGBoost's own predictor instead of recur's tree "
                "evaluator (bit-identical results, slower; for comparisons)");
  sub->add_flag("!--no-scoring", o.scoring.enabled, "ingest only: no scores, no pending marks");
  sub->add_flag("!--no-pipeline", o.pipelined,
                "apply each batch on the loop's thread before reading the next (default: on a "
                "thread of its own while the loop reads the next; for comparisons)");
  AddScaleOutOptions(sub, &o);
  sub->add_option(
      "-X", *kafka_props,
      "librdkafka property key=value (repeatable): security.protocol, sasl.*, ssl.*, ...");
}

}  // namespace recur::cli
