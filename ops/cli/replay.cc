// `recur replay`: rebuild the feature store from the input topics (ops/replay.h)
// and print its outcome: counts, the score diff, where the state went.
#include "ops/replay.h"

#include <iostream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/time.h"
#include "featurestore/retention.h"
#include "ops/cli/cli.h"

namespace recur::cli {
namespace {

class ReplayCommand : public Command {
 public:
  explicit ReplayCommand(CLI::App& app)
      : Command(app.add_subcommand("replay",
                                   "Rebuild the feature store from the input topics into a fresh "
                                   "directory; optionally re-score, diff, swap")) {
    AddOptions();
    sub_->footer(
        "Reads every input partition from --from up to --to with its own consumer group "
        "(recur-replay-<ms>) into\n"
        "OUT.tmp-XXXXXX, checks that every partition store holds exactly the stop offsets, "
        "renames it to OUT and\n"
        "exits. Progress (events/s, ETA, lag) on stderr about once a second.\n"
        "Exit codes: 0 done (and, with --diff, no customer differs); 1 failed (no broker, unknown "
        "topic, --to before\n"
        "--from, OUT exists, live dir locked with --swap, ...; nothing is left at OUT); 2 bad "
        "usage; 4 --diff found\n"
        "customers whose last scores differ (listed on stdout; the replayed state is kept, --swap "
        "is not done).");
  }

  int Run() override;

 private:
  void AddOptions();
  // The outcome on stdout; returns the exit code.
  int Report(const ReplayResult& r) const;

  ReplayOptions options_;
  std::string brokers_;
  std::string from_ = "beginning";
  std::string to_ = "end";
  std::string scores_topic_;
  std::vector<std::string> kafka_props_;
  CLI::Option* diff_tolerance_ = nullptr;
};

void ReplayCommand::AddOptions() {
  ReplayOptions& o = options_;
  sub_->add_option("--brokers", brokers_, "Kafka bootstrap servers host:port")->required();
  sub_->add_option("--state-dir", o.live_dir,
                   "the live state dir of `recur run`: never written, replaced only by --swap")
      ->required();
  sub_->add_option("--from", from_,
                   "beginning, an offset (the same for every input partition) or a time "
                   "(YYYY-MM-DD or RFC 3339, by the records' Kafka timestamps)")
      ->capture_default_str();
  sub_->add_option("--to", to_,
                   "end (the end offsets when the replay starts), an offset or a time; records "
                   "at or after it are not replayed")
      ->capture_default_str();
  auto* out = sub_->add_option("--out", o.out,
                               "new directory for the replayed state; must not exist (default: "
                               "<state-dir>.replay-<UTC time>)");
  sub_->add_flag("--swap", o.swap,
                 "on success, put the replayed state in place of --state-dir atomically "
                 "(refused while `recur run` holds it)")
      ->excludes(out);
  sub_->add_option("--scores-topic", scores_topic_,
                   "re-score every replayed customer into this topic (default: no scoring)");
  sub_->add_flag("--score-history", o.score_history,
                 "with --scores-topic: also publish each batch's scores (before the end without "
                 "quantile-based segments; default: one score per customer, as of the end)");
  sub_->add_option("--models-dir", o.pipeline.scoring.scorer.models_dir,
                   "model registry for --scores-topic: the CURRENT models when the replay starts")
      ->capture_default_str();
  sub_->add_option("--rules", o.pipeline.scoring.rules_file,
                   "segments/actions rules file (as given to `recur run`)");
  sub_->add_option("--score-epsilon", o.pipeline.scoring.epsilon, "as for `recur run`")
      ->capture_default_str()
      ->check(NotNaN())
      ->check(CLI::Range(0.0, 1.0));
  sub_->add_flag("--exact-reasons", o.pipeline.scoring.scorer.exact_reasons, "as for `recur run`");
  sub_->add_flag("--xgboost-predict", o.pipeline.scoring.scorer.xgboost_only, "as for `recur run`");
  sub_->add_option("--diff", o.diff_topic,
                   "after re-scoring, compare the last score per customer with this live scores "
                   "topic and list the customers that differ (exit code 4)");
  sub_->add_flag("--diff-exact", o.diff.exact,
                 "--diff compares the scores byte for byte (as_of_ms and reasons included)");
  diff_tolerance_ = sub_->add_option("--diff-tolerance", o.diff.tolerance,
                                     "--diff: probabilities closer than this are equal (default: "
                                     "2 x --score-epsilon)")
                        ->check(NotNaN())
                        ->check(CLI::Range(0.0, 1.0));
  sub_->add_option("--max-events-per-day", o.pipeline.max_events_per_day,
                   "as for `recur run` (the same value gives the same state)")
      ->capture_default_str();
  o.pipeline.decoder.retention_days = 0;  // until given: the live dir's (resolved in Run)
  sub_->add_option("--retention-days", o.pipeline.decoder.retention_days,
                   "days of history the replayed stores keep, recorded in them (default: the "
                   "live state dir's; another value rebuilds the state with that horizon)")
      ->check(CLI::Range(kMinRetentionDays, 100'000));
  sub_->add_option("--batch-size", o.pipeline.batch_max_events, "max events per micro-batch")
      ->capture_default_str()
      ->check(CLI::Range(1, 10'000'000));
  sub_->add_option("--dlq-topic", o.pipeline.topics.dlq,
                   "dead-letter topic (bad records of the range are dead-lettered again)")
      ->capture_default_str();
  sub_->add_option("-X", kafka_props_, "librdkafka property key=value (repeatable)");
}

int ReplayCommand::Run() {
  auto props = KafkaPropertiesOf(kafka_props_, brokers_);
  if (!props.ok()) return Fail(props.status());
  InstallStopHandlers();
  auto from = ReplayPosition::Parse(from_);
  if (!from.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--from: ", from.status().message())));
  }
  auto to = ReplayPosition::Parse(to_);
  if (!to.ok()) {
    return Fail(absl::InvalidArgumentError(absl::StrCat("--to: ", to.status().message())));
  }
  if (options_.pipeline.decoder.retention_days == 0) {
    auto retention = StateDirRetention(options_.live_dir, 0);
    if (!retention.ok()) return Fail(retention.status());
    options_.pipeline.decoder.retention_days = *retention;
  }
  options_.from = *from;
  options_.to = *to;
  options_.pipeline.kafka = *props;
  options_.pipeline.scoring.enabled = !scores_topic_.empty();
  if (diff_tolerance_->count() == 0) {
    options_.diff.tolerance = 2 * options_.pipeline.scoring.epsilon;
  }
  if (!scores_topic_.empty()) options_.pipeline.topics.scores = scores_topic_;
  options_.stop = &StopFlag();
  options_.progress = [](const std::string& line) { std::cerr << line << std::endl; };
  auto r = Replay(options_);
  if (!r.ok()) return Fail(r.status());
  return Report(*r);
}

int ReplayCommand::Report(const ReplayResult& r) const {
  const PipelineCounters& c = r.counters;
  int64_t dead = 0;
  for (const auto& [reason, n] : c.dlq) dead += n;
  std::cout << absl::StrFormat(
      "replayed %d records of %d input partitions (%s to %s) in %.1f s (%.0f events/s): %d "
      "applied, %d duplicates, %d dead letters; every partition store ends exactly at the stop "
      "offsets\n",
      c.events_in, r.range.stop.size(), options_.from.ToString(), options_.to.ToString(), r.seconds,
      r.seconds > 0 ? static_cast<double>(c.events_in) / r.seconds : 0.0, c.applied, c.duplicates,
      dead);
  std::cout << "stats " << r.stats_json << "\n";
  int rc = kExitOk;
  if (r.diff) {
    const ScoreDiff& d = *r.diff;
    std::cout << absl::StrFormat(
        "diff: %s (%d messages, %d customers) vs %s (%d messages, %d customers): %d customers "
        "differ\n",
        options_.diff_topic, d.live_messages, d.live_keys, scores_topic_, d.replay_messages,
        d.replay_keys, d.differences.size());
    for (const ScoreDifference& x : d.differences) {
      std::cout << "differs " << x.key << " " << absl::StrJoin(x.fields, ",")
                << (x.detail.empty() ? "" : "  ") << x.detail << "\n";
    }
    if (!d.differences.empty()) rc = kExitScoresDiffer;
  }
  if (r.swapped) {
    std::cout << "swapped: " << options_.live_dir << " now holds the replayed state"
              << (r.previous.empty()
                      ? std::string()
                      : "; the previous state is at " + r.previous + " (delete it once satisfied)")
              << "\n";
  } else {
    if (!r.not_swapped_reason.empty()) {
      std::cout << "not swapped: " << r.not_swapped_reason << "\n";
    }
    std::cout << "replayed state: " << r.out
              << "\nto use it, stop `recur run` and restart it with:  recur run --brokers "
              << brokers_ << " --state-dir " << r.out << " ...\n";
  }
  return rc;
}

}  // namespace

std::unique_ptr<Command> RegisterReplay(CLI::App& app) {
  return std::make_unique<ReplayCommand>(app);
}

}  // namespace recur::cli
