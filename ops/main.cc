// recur: the one binary. This file only wires the libraries together; every
// subcommand's logic lives in a component library.
#include <signal.h>
#include <unistd.h>

#include <atomic>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "featurestore/catalog.h"
#include "featurestore/snapshot.h"
#include "featurestore/state_dir.h"
#include "featurestore/validate.h"
#include "nlohmann/json.hpp"
#include "ops/demo.h"
#include "ops/jsonl.h"
#include "ops/replay.h"
#include "ops/simulator.h"
#include "spdlog/sinks/stdout_color_sinks.h"
#include "scorer/rules.h"
#include "streams/embedded.h"
#include "trainer/business_labels.h"
#include "trainer/parity.h"
#include "base/progress.h"
#include "trainer/trainer.h"
#include "streams/pipeline.h"
#include "streams/producer.h"
#include "spdlog/spdlog.h"

namespace recur {
namespace {

// Exit codes: 0 ok, 1 runtime failure, 2 bad usage (CLI11), 3 bad input data,
// 4 `recur replay --diff` found customers whose scores differ, or `recur train
// --check-parity` found an online/offline difference.
constexpr int kExitFailure = 1;
constexpr int kExitBadInput = 3;
constexpr int kExitScoresDiffer = 4;

int Fail(const absl::Status& s, const std::string& hint = "") {
  std::cerr << "recur: error: " << s.message() << "\n";
  if (!hint.empty()) std::cerr << "recur: " << hint << "\n";
  return kExitFailure;
}

// Accepts milliseconds since the epoch, YYYY-MM-DD (start of that UTC day) or RFC 3339.
absl::StatusOr<int64_t> ParseTimeArg(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789-") == std::string::npos && text.find('-', 1) == std::string::npos) {
    return std::stoll(text);
  }
  absl::Time t;
  std::string err;
  if (absl::ParseTime("%Y-%m-%d", text, absl::UTCTimeZone(), &t, &err) ||
      absl::ParseTime(absl::RFC3339_full, text, absl::UTCTimeZone(), &t, &err)) {
    return absl::ToUnixMillis(t);
  }
  return absl::InvalidArgumentError(absl::StrCat("'", text, "' is not a time (ms, YYYY-MM-DD or RFC 3339)"));
}

std::string FormatDay(int64_t ms) {
  return absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(ms), absl::UTCTimeZone());
}

// Applies events to the per-partition stores in batches, with a per-store record
// of the source position, so an interrupted import resumes without double counting.
class Importer {
 public:
  Importer(StateDir* dir, std::string source, size_t batch_size)
      : dir_(dir), source_{std::move(source), 0}, batch_size_(batch_size), pending_(dir->partitions()) {}

  absl::Status Start() {
    for (int32_t p = 0; p < dir_->partitions(); ++p) {
      auto offsets = dir_->store(p)->ReadOffsets();
      if (!offsets.ok()) return offsets.status();
      auto it = offsets->find(source_);
      resume_.push_back(it == offsets->end() ? 0 : it->second);
      max_time_.push_back(dir_->store(p)->max_event_time_ms());
    }
    return absl::OkStatus();
  }

  // `position` is the 0-based line number in the source.
  absl::Status Add(int64_t position, const absl::StatusOr<v1::Event>& event) {
    position_ = position + 1;
    if (!event.ok()) return Reject(position, "undecodable", event.status());
    const int32_t p = dir_->partitions() == 1 ? 0 : PartitionFor(absl::StrCat(event->shop_id(), "/", event->customer_id()), dir_->partitions());
    if (position < resume_[p]) {
      ++skipped_;
      return absl::OkStatus();
    }
    std::string reason;
    absl::Status valid = ValidateEvent(*event, &reason);
    if (!valid.ok()) return Reject(position, reason, valid);
    if (!WithinHorizon(event->event_time_ms(), max_time_[p], kDefaultRetentionDays)) {
      return Reject(position, "too_late", absl::InvalidArgumentError("event_time_ms: older than the retention horizon"));
    }
    max_time_[p] = std::max(max_time_[p], event->event_time_ms());
    pending_[p].push_back(*event);
    if (++pending_count_ >= batch_size_) return Flush();
    return absl::OkStatus();
  }

  absl::Status Flush() {
    for (int32_t p = 0; p < dir_->partitions(); ++p) {
      if (position_ <= resume_[p]) continue;
      FeatureStore::ApplyStats st;
      absl::Status s = dir_->store(p)->ApplyBatch(pending_[p], {{source_, position_}}, &st);
      if (!s.ok()) return s;
      applied_ += st.applied;
      duplicates_ += st.duplicates;
      pending_[p].clear();
    }
    pending_count_ = 0;
    return absl::OkStatus();
  }

  void PrintSummary(std::ostream& os) const {
    os << absl::StrFormat("imported: %d applied, %d duplicates, %d rejected, %d skipped (already imported)\n",
                          applied_, duplicates_, rejected_, skipped_);
    for (const auto& [reason, n] : rejected_by_reason_) os << "  rejected " << reason << ": " << n << "\n";
  }
  int64_t rejected() const { return rejected_; }

 private:
  absl::Status Reject(int64_t position, const std::string& reason, const absl::Status& why) {
    ++rejected_;
    ++rejected_by_reason_[reason];
    if (rejected_ <= 20) std::cerr << "recur: line " << position + 1 << ": " << reason << ": " << why.message() << "\n";
    return absl::OkStatus();
  }

  StateDir* dir_;
  TopicPartition source_;
  size_t batch_size_;
  std::vector<std::vector<v1::Event>> pending_;
  std::vector<int64_t> resume_, max_time_;
  size_t pending_count_ = 0;
  int64_t position_ = 0, applied_ = 0, duplicates_ = 0, rejected_ = 0, skipped_ = 0;
  std::map<std::string, int64_t> rejected_by_reason_;
};

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e12) return absl::StrFormat("%.0f", v);
  return absl::StrFormat("%.2f", v);
}

nlohmann::json FeaturesJson(const Features& f) {
  nlohmann::json j;
  for (int i = 0; i < kNumFeatures; ++i) {
    if (i == kTopCategory6m) {
      j[std::string(kFeatureNames[i])] = f.top_category_6m.empty() ? nlohmann::json() : nlohmann::json(f.top_category_6m);
    } else {
      j[std::string(kFeatureNames[i])] = std::isnan(f.values[i]) ? nlohmann::json() : nlohmann::json(f.values[i]);
    }
  }
  return j;
}

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop.store(true); }

// Sends events to their kind's topic, keyed shop_id/customer_id.
absl::Status ProduceEvent(Producer& producer, const TopicNames& topics, const v1::Event& e) {
  const std::string& topic = topics.ForEvent(e);
  if (topic.empty()) return absl::InvalidArgumentError("kind: none set, no topic to send to");
  return producer.Send(topic, absl::StrCat(e.shop_id(), "/", e.customer_id()), e.SerializeAsString(), {});
}

}  // namespace
}  // namespace recur

int main(int argc, char** argv) {
  using namespace recur;
  CLI::App app{"recur: live churn-risk and repurchase scores for every customer of every shop.\n"
               "See README.md; `recur <command> --help` for each command."};
  app.require_subcommand(1);
  app.set_config("--config", "", "config file (TOML/INI): a [run] section with the long option names as keys, "
                 "e.g. [run] brokers=\"host:9092\" state-dir=\"state\"");
  app.set_version_flag("--version", "recur 0.1.0 (catalog " + std::string(kCatalogVersion) + ")");

  // simulate
  SimulatorOptions sim;
  std::string sim_out = "-", sim_start = "2025-01-01";
  auto* simulate = app.add_subcommand("simulate", "Write a deterministic synthetic multi-shop event stream as JSON lines");
  simulate->add_option("--shops", sim.shops, "number of shops")->capture_default_str()->check(CLI::Range(1, 1000));
  simulate->add_option("--customers", sim.customers_per_shop, "customers per shop")->capture_default_str()->check(CLI::Range(1, 10'000'000));
  simulate->add_option("--days", sim.days, "days of activity")->capture_default_str()->check(CLI::Range(1, 3650));
  simulate->add_option("--seed", sim.seed, "random seed (same seed, same stream)")->capture_default_str();
  simulate->add_option("--start", sim_start, "first day, YYYY-MM-DD (UTC)")->capture_default_str();
  simulate->add_option("--duplicate-rate", sim.duplicate_rate, "share of events sent twice")->capture_default_str();
  simulate->add_option("--late-rate", sim.late_rate, "share of events sent 1-3 days late")->capture_default_str();
  simulate->add_option("-o,--output", sim_out, "output file, - for stdout")->capture_default_str();
  std::string brokers;
  std::vector<std::string> kafka_props;
  simulate->add_option("--brokers", brokers, "write to Kafka at host:port instead of a file");
  simulate->add_option("-X", kafka_props, "librdkafka property key=value (repeatable)");

  // produce
  std::vector<std::string> produce_in;
  TopicNames topic_names;
  auto* produce = app.add_subcommand("produce", "Publish JSON-lines events to the input topics (idempotent producer)");
  produce->add_option("input", produce_in, "JSON-lines files of events, - for stdin")->required();
  produce->add_option("--brokers", brokers, "Kafka bootstrap servers host:port")->required();
  produce->add_option("-X", kafka_props, "librdkafka property key=value (repeatable), e.g. security.protocol=SASL_SSL");

  // run
  PipelineOptions run_opts;
  auto* run = app.add_subcommand("run", "Consume the input topics, keep the feature store current exactly once, and publish scores");
  run->add_option("--brokers", brokers, "Kafka bootstrap servers host:port, or 'embedded' for an in-process broker (librdkafka's mock cluster; other clients can reach it at the address it prints)")->required();
  run->add_option("--group", run_opts.group_id, "consumer group id")->capture_default_str();
  run->add_option("--state-dir", run_opts.state_dir, "state directory (one RocksDB store per partition)")->capture_default_str();
  run->add_option("--batch-size", run_opts.batch_max_events, "max events per micro-batch")->capture_default_str()->check(CLI::Range(1, 10'000'000));
  run->add_option("--linger-ms", run_opts.batch_linger_ms, "max wait before a partial batch is committed")->capture_default_str()->check(CLI::Range(1, 600'000));
  run->add_option("--max-message-bytes", run_opts.decoder.max_message_bytes, "larger records go to the DLQ (oversized)")->capture_default_str();
  run->add_option("--dlq-topic", run_opts.topics.dlq, "dead-letter topic")->capture_default_str();
  run->add_option("--stats", run_opts.stats_interval_s, "print a stats line every N seconds (0: off)")->capture_default_str();
  run->add_option("--exit-when-idle-ms", run_opts.exit_when_idle_ms, "exit once caught up on every partition and idle this long (0: run forever)")->capture_default_str();
  run->add_option("--max-retries", run_opts.max_retries, "retries of a failed batch before exiting non-zero")->capture_default_str();
  run->add_option("--broker-down-timeout", run_opts.broker_down_timeout_s, "seconds without any broker before exiting non-zero")->capture_default_str();
  run->add_flag("--sync", run_opts.sync, "fsync every batch (survives power loss, slower)");
  run->add_option("--models-dir", run_opts.scoring.scorer.models_dir, "model registry: scores with <dir>/<target>/CURRENT of both targets, reloaded when CURRENT changes")->capture_default_str();
  run->add_option("--rules", run_opts.scoring.rules_file, "segments/actions rules file (default: the built-in set, see `recur rules`)");
  run->add_option("--scores-topic", run_opts.topics.scores, "output topic of CustomerScore")->capture_default_str();
  run->add_option("--score-epsilon", run_opts.scoring.epsilon, "a day-boundary re-score is published when a probability moved more than this, or a segment changed")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  run->add_flag("--exact-reasons", run_opts.scoring.scorer.exact_reasons, "exact TreeSHAP reasons (about 90x slower than the default approximate contributions)");
  run->add_flag("!--no-scoring", run_opts.scoring.enabled, "ingest only: no scores, no pending marks");
  run->add_option("-X", kafka_props, "librdkafka property key=value (repeatable): security.protocol, sasl.*, ssl.*, ...");

  // import
  std::string import_in, state_dir = "state";
  int32_t partitions = 1;
  size_t batch = 10'000;
  auto* import = app.add_subcommand("import", "Apply a JSON-lines event file to the feature store (resumable, exactly once)");
  import->add_option("input", import_in, "JSON-lines file of events")->required()->check(CLI::ExistingFile);
  import->add_option("--state-dir", state_dir, "state directory (one store per partition)")->capture_default_str();
  import->add_option("--partitions", partitions, "partition count of the state dir")->capture_default_str()->check(CLI::Range(1, 1024));
  import->add_option("--batch", batch, "events per write batch")->capture_default_str()->check(CLI::Range(1, 10'000'000));

  // inspect
  std::string who, as_of;
  bool as_json = false;
  auto* inspect = app.add_subcommand("inspect", "Show one customer's features and last score (segments, reasons, actions)");
  bool inspect_all = false, inspect_offsets = false;
  inspect->add_option("customer", who, "shop_id/customer_id");
  inspect->add_flag("--all", inspect_all, "every customer as JSON lines, sorted by key (needs --as-of)");
  inspect->add_flag("--offsets", inspect_offsets, "the source offsets stored in each partition's store");
  inspect->add_option("--state-dir", state_dir, "state directory")->capture_default_str();
  inspect->add_option("--as-of", as_of, "time (ms, YYYY-MM-DD, RFC 3339); default: the store's latest event time");
  inspect->add_flag("--json", as_json, "print JSON");

  // snapshot
  std::string snapshot_out;
  auto* snapshot = app.add_subcommand(
      "snapshot", "Copy a consistent checkpoint of every partition store (offsets included) while `recur run` keeps running");
  snapshot->add_option("--state-dir", state_dir, "state directory to copy: of a running `recur run`, or of nobody")->capture_default_str();
  snapshot->add_option("--out", snapshot_out, "new directory for the snapshot; must not exist")->required();
  snapshot->footer(
      "Each partition store is opened as a RocksDB secondary instance (it needs no lock, so the pipeline\n"
      "keeps running), brought to a batch boundary, copied key by key and verified; every store keeps the\n"
      "offsets its state was built from. OUT is built as OUT.tmp-XXXXXX beside it and renamed at the end.\n"
      "The result is a state dir:  recur train --state-dir OUT   recur inspect --state-dir OUT --offsets\n"
      "Exit codes: 0 done; 1 failed (no state dir, OUT exists, I/O...; nothing is left at OUT); 2 bad usage.");

  // replay
  ReplayOptions replay_opts;
  std::string replay_from = "beginning", replay_to = "end", replay_scores;
  auto* replay = app.add_subcommand(
      "replay", "Rebuild the feature store from the input topics into a fresh directory; optionally re-score, diff, swap");
  replay->add_option("--brokers", brokers, "Kafka bootstrap servers host:port")->required();
  replay->add_option("--state-dir", replay_opts.live_dir, "the live state dir of `recur run`: never written, replaced only by --swap")->required();
  replay->add_option("--from", replay_from, "beginning, an offset (the same for every input partition) or a time (YYYY-MM-DD or RFC 3339, by the records' Kafka timestamps)")->capture_default_str();
  replay->add_option("--to", replay_to, "end (the end offsets when the replay starts), an offset or a time; records at or after it are not replayed")->capture_default_str();
  auto* replay_out = replay->add_option("--out", replay_opts.out, "new directory for the replayed state; must not exist (default: <state-dir>.replay-<UTC time>)");
  replay->add_flag("--swap", replay_opts.swap, "on success, put the replayed state in place of --state-dir atomically (refused while `recur run` holds it)")->excludes(replay_out);
  replay->add_option("--scores-topic", replay_scores, "re-score every replayed customer into this topic (default: no scoring)");
  replay->add_flag("--score-history", replay_opts.score_history, "with --scores-topic: also publish each batch's scores as `recur run` does (default: one score per customer, as of the end)");
  replay->add_option("--models-dir", replay_opts.pipeline.scoring.scorer.models_dir, "model registry for --scores-topic: the CURRENT models when the replay starts")->capture_default_str();
  replay->add_option("--rules", replay_opts.pipeline.scoring.rules_file, "segments/actions rules file (as given to `recur run`)");
  replay->add_option("--score-epsilon", replay_opts.pipeline.scoring.epsilon, "as for `recur run`")->capture_default_str()->check(CLI::Range(0.0, 1.0));
  replay->add_flag("--exact-reasons", replay_opts.pipeline.scoring.scorer.exact_reasons, "as for `recur run`");
  replay->add_option("--diff", replay_opts.diff_topic, "after re-scoring, compare the last score per customer with this live scores topic and list the customers that differ (exit code 4)");
  replay->add_flag("--diff-exact", replay_opts.diff.exact, "--diff compares the scores byte for byte (as_of_ms and reasons included)");
  auto* diff_tolerance = replay->add_option("--diff-tolerance", replay_opts.diff.tolerance, "--diff: probabilities closer than this are equal (default: 2 x --score-epsilon)")->check(CLI::Range(0.0, 1.0));
  replay->add_option("--batch-size", replay_opts.pipeline.batch_max_events, "max events per micro-batch")->capture_default_str()->check(CLI::Range(1, 10'000'000));
  replay->add_option("--dlq-topic", replay_opts.pipeline.topics.dlq, "dead-letter topic (bad records of the range are dead-lettered again)")->capture_default_str();
  replay->add_option("-X", kafka_props, "librdkafka property key=value (repeatable)");
  replay->footer(
      "Reads every input partition from --from up to --to with its own consumer group (recur-replay-<ms>) into\n"
      "OUT.tmp-XXXXXX, checks that every partition store holds exactly the stop offsets, renames it to OUT and\n"
      "exits. Progress (events/s, ETA, lag) on stderr about once a second.\n"
      "Exit codes: 0 done (and, with --diff, no customer differs); 1 failed (no broker, unknown topic, --to before\n"
      "--from, OUT exists, live dir locked with --swap, ...; nothing is left at OUT); 2 bad usage; 4 --diff found\n"
      "customers whose last scores differ (listed on stdout; the replayed state is kept, --swap is not done).");

  // train
  TrainOptions train_opts;
  std::string target_name = "repurchase_30d";
  std::vector<std::string> xgb_params;
  auto* train = app.add_subcommand("train", "Train a model from a state dir or snapshot; register it; promote it if no worse");
  train->add_option("--state-dir", train_opts.state_dir, "state dir or snapshot to train from")->required();
  train->add_option("--models-dir", train_opts.models_dir, "model registry")->capture_default_str();
  train->add_option("--target", target_name, "repurchase_30d or activity_decline_90d")->capture_default_str();
  train->add_option("--seed", train_opts.seed, "seed (same data + seed = same model bytes)")->capture_default_str();
  train->add_option("--max-rounds", train_opts.max_rounds, "boosting rounds at most")->capture_default_str();
  train->add_option("--early-stopping", train_opts.early_stopping_rounds, "stop after N rounds without improvement")->capture_default_str();
  train->add_option("--decline-ratio", train_opts.labels.decline_ratio, "decline label: next 90 days' revenue below ratio x last 90 days'")->capture_default_str();
  train->add_option("-P", xgb_params, "XGBoost parameter key=value (repeatable), e.g. -P max_depth=4");
  train->add_flag("--force", train_opts.force, "promote even if worse than CURRENT");
  train->add_option("--labels-csv", train_opts.labels_csv,
                    "labels given by the business: CSV of shop_id,customer_id,label[,as_of] (as_of YYYY-MM-DD or ms; "
                    "default the snapshot's last day) instead of labels derived from events")
      ->check(CLI::ExistingFile);
  train->add_option("--folds", train_opts.folds, "k of the stratified k-fold used with a single cutoff")
      ->capture_default_str()->check(CLI::Range(2, 100));
  std::vector<std::string> cutoff_dates;
  train->add_option("--cutoff", cutoff_dates,
                    "a cutoff instead of month ends (repeatable; YYYY-MM-DD = the end of that UTC day, or ms); each "
                    "must have its whole label window inside the snapshot")
      ->delimiter(',');
  train->add_option("--cutoffs", train_opts.max_cutoffs, "use only the latest N month-end cutoffs (0: all)")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  train->add_option("--threshold", train_opts.threshold,
                    "score at or above which a customer counts as predicted positive (precision/recall)")
      ->capture_default_str()->check(CLI::Range(0.0, 1.0));
  train->add_option("--retention-days", train_opts.retention_days,
                    "the retention the snapshot was kept with (its horizon)")->capture_default_str()->check(CLI::Range(366, 100000));
  bool check_parity = false;
  double parity_tolerance = 1e-6;
  int parity_show = 20;
  train->add_flag("--check-parity", check_parity,
                  "train nothing: recompute, with the trainer's code, the features and probabilities behind every "
                  "customer's last score in --state-dir and report each difference by customer and feature");
  train->add_option("--tolerance", parity_tolerance, "--check-parity: allowed difference of a probability")
      ->capture_default_str()->check(CLI::NonNegativeNumber);
  train->add_option("--show", parity_show, "--check-parity: differences printed (all with --json)")->capture_default_str();
  train->add_flag("--json", as_json, "--check-parity: the report as JSON");
  train->footer(
      "--check-parity compares, for each customer with a delivered last score and no pending mark, the scorer's\n"
      "feature row (the store's horizon, as `recur run` computes it) with the trainer's point-in-time row as of the\n"
      "score's as_of, each reason's value with the trainer's, and each published probability with the model\n"
      "version the score names applied to the trainer's row. Run it on a `recur snapshot` of a running pipeline.\n"
      "Exit codes: 0 done (parity: no difference); 1 failed; 2 bad usage; 3 bad labels file; 4 parity differences.");

  // demo
  DemoOptions demo_opts;
  auto* demo = app.add_subcommand("demo", "The whole loop on the embedded broker: simulate, ingest, snapshot, train both "
                                          "models, pick them up without a restart, score, show the customers most at risk");
  demo->add_option("--shops", demo_opts.sim.shops, "shops")->capture_default_str()->check(CLI::Range(1, 100));
  demo->add_option("--customers", demo_opts.sim.customers_per_shop, "customers per shop")->capture_default_str()->check(CLI::Range(10, 10'000'000));
  demo->add_option("--days", demo_opts.sim.days, "days of history (training needs 200 or more)")->capture_default_str()->check(CLI::Range(200, 3650));
  demo->add_option("--seed", demo_opts.sim.seed, "simulator seed")->capture_default_str();
  demo->add_option("--top", demo_opts.top, "customers shown per shop")->capture_default_str();
  demo->add_option("--max-rounds", demo_opts.max_rounds, "boosting rounds per model at most")->capture_default_str();
  demo->add_option("--dir", demo_opts.dir, "work directory for state, snapshot and models (default: a new temporary directory)");
  demo->add_option("--brokers", demo_opts.brokers, "a real cluster instead of the embedded one (create the topics first: ops/kafka/README.md)");

  // rules
  std::string rules_file;
  auto* rules_cmd = app.add_subcommand("rules", "Check a segments/actions rules file, or print the built-in rule set");
  rules_cmd->add_option("file", rules_file, "rules file to check (none: print the default rules)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, version or the error
    return rc == 0 ? 0 : 2;      // bad usage: exit code 2, whatever CLI11's own code
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("recur"));

  KafkaProperties props;
  for (const auto& kv : kafka_props) {
    absl::Status s = AddProperty(kv, &props);
    if (!s.ok()) return Fail(s);
  }
  if (!brokers.empty()) props["bootstrap.servers"] = brokers;

  if (produce->parsed() || (simulate->parsed() && !brokers.empty())) {
    auto producer = Producer::Create(props);
    if (!producer.ok()) return Fail(producer.status());
    int64_t sent = 0, rejected = 0;
    auto send = [&](const v1::Event& e) -> absl::Status {
      absl::Status s = ProduceEvent(**producer, topic_names, e);
      if (s.ok()) ++sent;
      return s;
    };
    if (simulate->parsed()) {
      auto start = ParseTimeArg(sim_start);
      if (!start.ok()) return Fail(start.status());
      sim.start_ms = *start;
      absl::Status s = Simulate(sim, send);
      if (!s.ok()) return Fail(s);
    } else {
      for (const std::string& path : produce_in) {
        std::ifstream file;
        std::istream* in = &std::cin;
        if (path != "-") {
          file.open(path);
          if (!file) return Fail(absl::NotFoundError(absl::StrCat("cannot read ", path)));
          in = &file;
        }
        std::string line;
        for (int64_t n = 1; std::getline(*in, line); ++n) {
          if (line.empty()) continue;
          auto e = ParseEventJson(line);
          absl::Status s = e.ok() ? ValidateEvent(*e) : e.status();
          if (!s.ok()) {
            if (++rejected <= 20) std::cerr << "recur: " << path << ":" << n << ": " << s.message() << "\n";
            continue;
          }
          s = send(*e);
          if (!s.ok()) return Fail(s);
        }
      }
    }
    absl::Status s = (*producer)->Flush(absl::Minutes(5));
    if (!s.ok()) return Fail(s, "is the broker at --brokers reachable, and do the topics exist?");
    std::cerr << "produced " << sent << " events (" << (*producer)->delivered() << " delivered), " << rejected
              << " rejected\n";
    return rejected > 0 ? kExitBadInput : 0;
  }

  if (train->parsed() && check_parity) {
    ParityOptions po;
    po.state_dir = train_opts.state_dir;
    po.models_dir = train_opts.models_dir;
    po.retention_days = train_opts.retention_days;
    po.tolerance = parity_tolerance;
    ProgressLine progress("offline rows", "customers");
    po.progress = [&](int64_t done, int64_t total) { progress.Update(done, total); };
    auto r = CheckParity(po);
    if (!r.ok()) return Fail(r.status(), "pass a `recur snapshot` (or the state dir of a stopped `recur run`) and its --models-dir");
    progress.Finish(r->customers);
    if (as_json) {
      nlohmann::json j = {{"customers", r->customers}, {"checked", r->checked},
                          {"pending_skipped", r->pending_skipped}, {"no_model", r->no_model},
                          {"customers_differing", r->customers_differing}, {"models", r->model_versions},
                          {"differences", nlohmann::json::array()}};
      for (const auto& d : r->differences) {
        j["differences"].push_back({{"customer", d.key.Encode()}, {"as_of_ms", d.as_of_ms}, {"kind", d.kind},
                                    {"field", d.field}, {"online", d.online}, {"offline", d.offline}});
      }
      std::cout << j.dump(1) << "\n";
    } else {
      std::cout << absl::StrFormat(
          "parity: %d customers, %d with a delivered score checked, %d skipped (score pending); models %s\n",
          r->customers, r->checked, r->pending_skipped,
          r->model_versions.empty() ? "none found" : absl::StrJoin(r->model_versions, ", "));
      if (r->no_model > 0) {
        std::cout << absl::StrFormat("  %d probabilities not checked: their model version is not in %s\n", r->no_model,
                                     po.models_dir);
      }
      if (r->checked == 0) {
        std::cout << "  nothing to compare: no customer in " << po.state_dir
                  << " has a delivered score (has `recur run` scored with models yet?)\n";
      }
      int shown = 0;
      for (const auto& d : r->differences) {
        if (shown++ == parity_show) {
          std::cout << absl::StrFormat("  ... %d more (--show N, or --json for all)\n",
                                       r->differences.size() - static_cast<size_t>(parity_show));
          break;
        }
        std::cout << absl::StrFormat("  %s as of %s: %s %s: online %s, offline %s\n", d.key.Encode(),
                                     absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixMillis(d.as_of_ms), absl::UTCTimeZone()),
                                     d.kind, d.field, d.online, d.offline);
      }
      std::cout << absl::StrFormat("%d differences in %d customers\n", r->differences.size(), r->customers_differing);
    }
    return r->differences.empty() ? 0 : kExitScoresDiffer;
  }

  if (train->parsed()) {
    auto target = ParseTarget(target_name);
    if (!target.ok()) return Fail(target.status());
    train_opts.labels.target = *target;
    for (const auto& c : cutoff_dates) {
      auto ms = ParseAsOf(c);
      if (!ms.ok()) {
        std::cerr << "--cutoff: " << ms.status().message() << "\nRun with --help for more information.\n";
        return 2;
      }
      train_opts.cutoffs.push_back(*ms);
    }
    for (const auto& kv : xgb_params) {
      auto eq = kv.find('=');
      if (eq == std::string::npos) return Fail(absl::InvalidArgumentError("-P expects key=value"));
      train_opts.params[kv.substr(0, eq)] = kv.substr(eq + 1);
    }
    auto r = Train(train_opts);
    if (!r.ok()) {
      Fail(r.status());
      // A bad labels file is bad input data.
      return r.status().code() == absl::StatusCode::kInvalidArgument ? kExitBadInput : kExitFailure;
    }
    std::cout << absl::StrFormat(
        "%s %s: ROC-AUC %.4f (baseline %.4f), PR-AUC %.4f (baseline %.4f), lift@10%% %.2f (baseline %.2f), "
        "log-loss %.4f, %d rounds, %d train / %d %s rows\n%s\nreport: %s/report.html\n",
        target_name, r->version, r->model.roc_auc, r->baseline.roc_auc, r->model.pr_auc, r->baseline.pr_auc,
        r->model.lift_top_decile, r->baseline.lift_top_decile, r->model.log_loss, r->rounds, r->train_rows,
        r->valid_rows, r->split == "time" ? "validation" : r->split + " out-of-fold", r->promotion_note, r->model_dir);
    return 0;
  }

  if (snapshot->parsed()) {
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    SnapshotOptions so;
    so.stop = &g_stop;
    so.on_partition = [](const PartitionSnapshot& p) {
      std::cerr << absl::StrFormat("partition-%d: %d customers, %d keys, %.1f MB, %d source offsets (%d catch-ups)\n",
                                   p.partition, p.customers, p.keys, p.bytes / 1e6, p.offsets.size(), p.catch_ups);
    };
    auto r = Snapshot(state_dir, snapshot_out, so);
    if (!r.ok()) {
      switch (r.status().code()) {
        case absl::StatusCode::kNotFound:
          return Fail(r.status(), "pass the --state-dir of `recur run` or `recur import`");
        case absl::StatusCode::kAlreadyExists:
          return Fail(r.status(), "pick a new --out, e.g. snapshots/$(date +%F-%H%M%S)");
        case absl::StatusCode::kCancelled:
          return Fail(r.status(), "nothing was written");
        case absl::StatusCode::kInvalidArgument:
          return Fail(r.status());
        default:
          return Fail(r.status(), "nothing was left at --out; the running pipeline was not affected");
      }
    }
    int64_t customers = 0, max_time = 0;
    for (const auto& p : r->partitions) {
      customers += p.customers;
      max_time = std::max(max_time, p.max_event_time_ms);
    }
    std::cout << "snapshot " << r->out << ": " << r->partitions.size() << " partition stores, " << customers
              << " customers, latest event " << (max_time > 0 ? FormatDay(max_time) : "none") << "\n";
    for (const auto& p : r->partitions) {
      for (const auto& [tp, off] : p.offsets) {
        std::cout << "partition-" << p.partition << " " << tp.topic << " " << tp.partition << " " << off << "\n";
      }
    }
    return 0;
  }

  if (replay->parsed()) {
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    auto from = ReplayPosition::Parse(replay_from);
    if (!from.ok()) return Fail(absl::InvalidArgumentError(absl::StrCat("--from: ", from.status().message())));
    auto to = ReplayPosition::Parse(replay_to);
    if (!to.ok()) return Fail(absl::InvalidArgumentError(absl::StrCat("--to: ", to.status().message())));
    replay_opts.from = *from;
    replay_opts.to = *to;
    replay_opts.pipeline.kafka = props;
    replay_opts.pipeline.scoring.enabled = !replay_scores.empty();
    if (diff_tolerance->count() == 0) replay_opts.diff.tolerance = 2 * replay_opts.pipeline.scoring.epsilon;
    if (!replay_scores.empty()) replay_opts.pipeline.topics.scores = replay_scores;
    replay_opts.stop = &g_stop;
    replay_opts.progress = [](const std::string& line) { std::cerr << line << std::endl; };
    auto r = Replay(replay_opts);
    if (!r.ok()) return Fail(r.status());
    const PipelineCounters& c = r->counters;
    int64_t dead = 0;
    for (const auto& [reason, n] : c.dlq) dead += n;
    std::cout << absl::StrFormat(
        "replayed %d records of %d input partitions (%s to %s) in %.1f s (%.0f events/s): %d applied, %d "
        "duplicates, %d dead letters; every partition store ends exactly at the stop offsets\n",
        c.events_in, r->range.stop.size(), replay_opts.from.ToString(), replay_opts.to.ToString(), r->seconds,
        r->seconds > 0 ? static_cast<double>(c.events_in) / r->seconds : 0.0, c.applied, c.duplicates, dead);
    std::cout << "stats " << r->stats_json << "\n";
    int rc = 0;
    if (r->diff) {
      const ScoreDiff& d = *r->diff;
      std::cout << absl::StrFormat(
          "diff: %s (%d messages, %d customers) vs %s (%d messages, %d customers): %d customers differ\n",
          replay_opts.diff_topic, d.live_messages, d.live_keys, replay_scores, d.replay_messages, d.replay_keys,
          d.differences.size());
      for (const ScoreDifference& x : d.differences) {
        std::cout << "differs " << x.key << " " << absl::StrJoin(x.fields, ",") << (x.detail.empty() ? "" : "  ")
                  << x.detail << "\n";
      }
      if (!d.differences.empty()) rc = kExitScoresDiffer;
    }
    if (r->swapped) {
      std::cout << "swapped: " << replay_opts.live_dir << " now holds the replayed state"
                << (r->previous.empty() ? std::string() : "; the previous state is at " + r->previous +
                                                              " (delete it once satisfied)")
                << "\n";
    } else {
      if (!r->not_swapped_reason.empty()) std::cout << "not swapped: " << r->not_swapped_reason << "\n";
      std::cout << "replayed state: " << r->out << "\nto use it, stop `recur run` and restart it with:  recur run --brokers "
                << brokers << " --state-dir " << r->out << " ...\n";
    }
    return rc;
  }

  std::unique_ptr<EmbeddedKafka> embedded;
  if (run->parsed() && brokers == "embedded") {
    auto k = EmbeddedKafka::Start(4, run_opts.topics);
    if (!k.ok()) return Fail(k.status());
    embedded = std::move(*k);
    props["bootstrap.servers"] = embedded->bootstraps();
    spdlog::info("embedded Kafka (librdkafka mock cluster) at {}: produce with `recur produce --brokers {}`",
                 embedded->bootstraps(), embedded->bootstraps());
  }
  if (run->parsed()) {
    run_opts.kafka = props;
    struct sigaction sa {};
    sa.sa_handler = OnStopSignal;
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    auto pipeline = Pipeline::Create(run_opts);
    if (!pipeline.ok()) return Fail(pipeline.status());
    absl::Status s = (*pipeline)->Run(g_stop);
    std::cout << (*pipeline)->StatsJson() << std::endl;
    if (!s.ok()) return Fail(s);
    return 0;
  }

  if (simulate->parsed()) {
    auto start = ParseTimeArg(sim_start);
    if (!start.ok()) return Fail(start.status());
    sim.start_ms = *start;
    std::ofstream file;
    std::ostream* out = &std::cout;
    if (sim_out != "-") {
      file.open(sim_out, std::ios::trunc);
      if (!file) return Fail(absl::UnavailableError(absl::StrCat("cannot write ", sim_out)));
      out = &file;
    }
    std::ios::sync_with_stdio(false);
    absl::Status s = Simulate(sim, [&](const v1::Event& e) {
      *out << EventToJson(e) << '\n';
      return *out ? absl::OkStatus() : absl::UnavailableError("write failed (disk full or closed pipe?)");
    });
    if (!s.ok()) return Fail(s);
    out->flush();
    return 0;
  }

  auto ingest = [&](const std::string& path, std::istream& in, StateDir* dir) -> int {
    Importer importer(dir, "file:" + std::filesystem::absolute(path).string(), batch);
    absl::Status s = importer.Start();
    std::string line;
    for (int64_t n = 0; s.ok() && std::getline(in, line); ++n) {
      if (line.empty()) continue;
      s = importer.Add(n, ParseEventJson(line));
    }
    if (s.ok()) s = importer.Flush();
    if (!s.ok()) return Fail(s);
    importer.PrintSummary(std::cerr);
    return importer.rejected() > 0 ? kExitBadInput : 0;
  };

  auto open_dir = [&](const std::string& path, int32_t parts, bool read_only) {
    StateDir::Options o;
    o.path = path;
    o.partitions = parts;
    o.store.read_only = read_only;
    return StateDir::Open(o);
  };

  if (import->parsed()) {
    auto dir = open_dir(state_dir, partitions, false);
    if (!dir.ok()) return Fail(dir.status());
    std::ifstream in(import_in);
    return ingest(import_in, in, dir->get());
  }

  if (inspect->parsed() && (inspect_all || inspect_offsets)) {
    auto parts = StateDir::CountPartitions(state_dir);
    if (!parts.ok()) return Fail(parts.status(), "pass the --state-dir of a recur import or recur run");
    auto dir = open_dir(state_dir, *parts, true);
    if (!dir.ok()) return Fail(dir.status());
    if (inspect_offsets) {
      for (int32_t p = 0; p < *parts; ++p) {
        auto offsets = (*dir)->store(p)->ReadOffsets();
        if (!offsets.ok()) return Fail(offsets.status());
        for (const auto& [tp, off] : *offsets) std::cout << "partition-" << p << " " << tp.topic << " " << tp.partition << " " << off << "\n";
      }
      return 0;
    }
    auto t = ParseTimeArg(as_of);
    if (as_of.empty() || !t.ok()) return Fail(absl::InvalidArgumentError("--all needs --as-of (ms, YYYY-MM-DD or RFC 3339)"));
    std::map<std::string, std::string> lines;
    for (int32_t p = 0; p < *parts; ++p) {
      FeatureStore* store = (*dir)->store(p);
      absl::Status s = store->ForEachCustomer([&](const CustomerKey& k, const CustomerState& st) {
        nlohmann::json j{{"key", k.Encode()}, {"features", FeaturesJson(st.ComputeFeatures(*t, DayOf(*t) - kDefaultRetentionDays + 1))}};
        lines[k.Encode()] = j.dump();
        return absl::OkStatus();
      });
      if (!s.ok()) return Fail(s);
    }
    for (const auto& [k, line] : lines) std::cout << line << "\n";
    return 0;
  }

  if (inspect->parsed()) {
    if (who.empty()) return Fail(absl::InvalidArgumentError("inspect: give shop_id/customer_id, --all or --offsets"));
    auto key = CustomerKey::Decode(who);
    if (!key) return Fail(absl::InvalidArgumentError("customer: expected shop_id/customer_id, e.g. shop-1/c-000042"));
    auto parts = StateDir::CountPartitions(state_dir);
    if (!parts.ok()) return Fail(parts.status(), "run `recur import` or `recur run` first, or pass --state-dir");
    auto dir = open_dir(state_dir, *parts, true);
    if (!dir.ok()) return Fail(dir.status());
    FeatureStore* store = (*dir)->StoreFor(key->Encode());
    int64_t t = store->max_event_time_ms();
    if (!as_of.empty()) {
      auto parsed = ParseTimeArg(as_of);
      if (!parsed.ok()) return Fail(parsed.status());
      t = *parsed;
    }
    auto f = store->ComputeFeatures(*key, t);
    if (!f.ok()) return Fail(f.status());
    // The last score delivered to the scores topic, as `recur run` recorded it.
    std::optional<v1::CustomerScore> score;
    auto last = store->ledger().GetLastScore(*key);
    if (last.ok()) {
      score.emplace();
      if (!score->ParseFromString(*last)) return Fail(absl::DataLossError("stored last score is not a CustomerScore"));
    } else if (last.status().code() != absl::StatusCode::kNotFound) {
      return Fail(last.status());
    }
    if (as_json) {
      nlohmann::json j{{"shop_id", key->shop_id}, {"customer_id", key->customer_id}, {"as_of_ms", t},
                       {"catalog_version", std::string(kCatalogVersion)}, {"features", FeaturesJson(*f)}};
      j["last_score"] = nullptr;
      if (score) {
        std::string text;
        google::protobuf::util::JsonPrintOptions po;
        po.preserve_proto_field_names = true;
        if (google::protobuf::util::MessageToJsonString(*score, &text, po).ok()) j["last_score"] = nlohmann::json::parse(text);
      }
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << key->Encode() << " as of " << FormatDay(t) << " (catalog " << kCatalogVersion << ")\n";
      for (int i = 0; i < kNumFeatures; ++i) {
        std::string v = i == kTopCategory6m ? (f->top_category_6m.empty() ? "NaN" : f->top_category_6m) : FormatValue(f->values[i]);
        std::cout << absl::StrFormat("  %-26s %s\n", kFeatureNames[i], v);
      }
      if (!score) {
        std::cout << "last score: none (no model yet, or not scored: `recur run --models-dir ...`)\n";
      } else {
        std::cout << absl::StrFormat("last score (as of %s): risk of decline in 90 days %.3f, repurchase in 30 days %.3f\n",
                                     FormatDay(score->as_of_ms()), score->risk_decline_90d(), score->repurchase_30d());
        std::cout << "  models: risk " << score->risk_model_version() << ", repurchase "
                  << score->repurchase_model_version() << ", schema " << score->schema_hash() << "\n";
        std::cout << "  segments: " << (score->segments().empty() ? "none" : absl::StrJoin(score->segments(), ", ")) << "\n";
        std::cout << "  reasons (" << score->reasons_method() << "):";
        if (score->reasons().empty()) std::cout << " none";
        for (const auto& r : score->reasons()) {
          std::cout << absl::StrFormat(" %s=%s (+%.3f)", r.feature(), FormatValue(r.value()), r.contribution());
        }
        std::cout << "\n";
        for (const auto& a : score->actions()) std::cout << "  action: " << a << "\n";
      }
    }
    return 0;
  }

  if (rules_cmd->parsed()) {
    if (rules_file.empty()) {
      std::cout << DefaultRulesText();
      return 0;
    }
    auto r = Rules::Load(rules_file);
    if (!r.ok()) {
      std::cerr << "recur: error: " << r.status().message() << "\n";
      return kExitBadInput;
    }
    std::cout << rules_file << ": " << r->size() << " rules, valid\n";
    return 0;
  }

  if (demo->parsed()) {
    if (demo_opts.dir.empty()) {
      char tmpl[] = "/tmp/recur-demo-XXXXXX";
      if (mkdtemp(tmpl) == nullptr) return Fail(absl::UnavailableError("cannot create a temporary directory"));
      demo_opts.dir = tmpl;
    }
    std::cout << "recur demo in " << demo_opts.dir << std::endl;
    absl::Status s = RunDemo(demo_opts, std::cout);
    if (!s.ok()) return Fail(s);
    return 0;
  }
  return 0;
}
