// Replay: `recur replay`. Rebuilds a state dir from the input topics into a
// fresh directory with the ordinary Pipeline (its own consumer group, every
// input partition read from --from up to --to, then it exits), optionally
// re-scores into a separate topic, compares those scores with a live scores
// topic, and swaps the result in for the live state dir.
//
//   recur::ReplayOptions o;
//   o.pipeline.kafka["bootstrap.servers"] = "127.0.0.1:9092";
//   o.live_dir = "state";
//   o.from = *recur::ReplayPosition::Parse("2025-06-01");   // or "beginning", an offset
//   auto r = recur::Replay(o);                              // r->out holds the new state dir
//
// The live state dir is never written: the replay builds <out>.tmp-XXXXXX,
// checks that every partition store holds exactly the stop offsets, and renames
// it to <out>. A swap exchanges <out> and the live dir with one
// renameat2(RENAME_EXCHANGE) after checking that no process holds a live store,
// and holding every live store's LOCK file meanwhile, so a `recur run` can
// neither be running during it nor open the old dir half-way.
// Thread-safety: every function here runs on the caller's thread.
#ifndef RECUR_OPS_REPLAY_H_
#define RECUR_OPS_REPLAY_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "featurestore/types.h"
#include "streams/kafka.h"
#include "streams/pipeline.h"

namespace recur {

// A --from / --to argument: "beginning", "end", an offset (a plain integer,
// applied to every input partition) or a time (YYYY-MM-DD, RFC 3339) compared
// with the records' Kafka timestamps through offsets_for_times.
struct ReplayPosition {
  enum class Kind { kBeginning, kEnd, kOffset, kTime };
  Kind kind = Kind::kBeginning;
  int64_t value = 0;  // the offset, or the time in UTC ms

  static absl::StatusOr<ReplayPosition> Parse(const std::string& text);
  std::string ToString() const;
};

// The offsets a replay reads: [start, stop) of every input partition.
struct ReplayRange {
  OffsetMap start;
  OffsetMap stop;
  int32_t partitions = 0;  // per input topic (all equal)
  int64_t records() const;
};

// Resolves --from and --to on the brokers. From: beginning -> the log start;
// an offset -> clamped into [log start, end]; a time -> the first offset whose
// timestamp is >= it (the end if none). To: end -> the end offset now; an offset
// -> at most the end; a time -> the first offset whose timestamp is >= it
// (records before it are replayed). Errors: Unavailable (no broker within
// `timeout`), NotFound (an input topic does not exist), FailedPrecondition
// (input topics with different partition counts), InvalidArgument (--to before
// --from, on some partition).
absl::StatusOr<ReplayRange> ResolveReplayRange(const KafkaProperties& kafka,
                                               const std::vector<std::string>& topics,
                                               const ReplayPosition& from, const ReplayPosition& to,
                                               absl::Duration timeout = absl::Seconds(10));

// One customer whose last scores differ; `fields` are CustomerScore field
// names ("missing in live" / "missing in replay" when a side has no score).
struct ScoreDifference {
  std::string key;
  std::vector<std::string> fields;
  std::string detail;  // "field: live=... replay=..." for the scalar fields (and as_of_ms)
};

// What counts as a difference. A live scores topic holds, per customer, the
// last score that moved more than --score-epsilon, not necessarily the score
// as of the latest day (a day-boundary re-score within epsilon is not
// published), so a live pipeline that caught up and re-scored in the middle of
// a stream and a replay that re-scored once at the end can publish different
// last scores for the same state, each within epsilon of the current one. The
// default compares what a score says — model versions, schema, segments,
// actions, and both probabilities within `tolerance` — and ignores when it was
// computed (as_of_ms) and the reasons that go with it; `exact` compares bytes.
struct ScoreDiffOptions {
  bool exact = false;
  double tolerance =
      0.02;  // 2 x the default --score-epsilon: both sides within epsilon of the current score
  absl::Duration timeout = absl::Seconds(30);  // per topic, without any record arriving
};

struct ScoreDiff {
  int64_t live_messages = 0, replay_messages = 0;
  int64_t live_keys = 0, replay_keys = 0;
  std::vector<ScoreDifference> differences;  // sorted by key
};

// Reads both topics from their beginning to their current end and compares the
// last score of every key as `options` says; differing scores are decoded to
// name the fields.
absl::StatusOr<ScoreDiff> DiffScoreTopics(const KafkaProperties& kafka,
                                          const std::string& live_topic,
                                          const std::string& replay_topic,
                                          const ScoreDiffOptions& options = {});

// FailedPrecondition when a partition store of `state_dir` is locked by another
// process (a running `recur run`). A missing dir is not locked.
absl::Status CheckStateDirUnlocked(const std::string& state_dir);

// Puts `replayed` in place of `live` atomically (the old live dir moves to
// `live`.old-<time>, returned in *previous; empty when there was no live dir).
// Refuses like CheckStateDirUnlocked, then holds the LOCK file of every live
// store (fcntl, as RocksDB locks it) during the rename.
absl::Status SwapStateDir(const std::string& live, const std::string& replayed,
                          std::string* previous);

struct ReplayOptions {
  // kafka, topics (inputs; scores when scoring), scoring, batch size, decoder.
  // Replay sets group_id, state_dir, start/stop offsets, exit and progress hooks.
  PipelineOptions pipeline;
  std::string live_dir;  // the state dir of `recur run` (read only for --swap)
  std::string out;       // empty: <live_dir>.replay-<UTC time>
  ReplayPosition from;   // default: beginning
  ReplayPosition to{ReplayPosition::Kind::kEnd, 0};
  bool swap = false;  // replace live_dir by the result
  // With scoring: false (default) publishes one score per customer, as of the
  // end of the replay (the final day-boundary pass); true also every batch's
  // event-driven scores, as `recur run` publishes them.
  bool score_history = false;
  std::string diff_topic;  // compare the replay's scores with this topic (needs scoring)
  ScoreDiffOptions diff;
  const std::atomic<bool>* stop = nullptr;  // set to abandon: Cancelled, nothing left behind
  std::function<void(const std::string&)> progress;  // a line about every second
};

struct ReplayResult {
  std::string out;       // the replayed state dir (live_dir after a swap)
  std::string previous;  // after a swap: where the previous live dir is now
  std::string group_id;
  ReplayRange range;
  PipelineCounters counters;
  std::string stats_json;
  double seconds = 0;  // pipeline start to exit
  std::optional<ScoreDiff> diff;
  bool swapped = false;
  std::string not_swapped_reason;  // --swap given but not done (differences found)
};

// Errors: those of ResolveReplayRange; AlreadyExists (out exists);
// InvalidArgument (bad combination, out inside live_dir); FailedPrecondition
// (--swap while live_dir is locked; no models for re-scoring; a scores or diff
// topic that does not exist); Cancelled; the pipeline's errors; DataLoss (a
// store does not end at its stop offsets). On error nothing is left at `out`.
absl::StatusOr<ReplayResult> Replay(const ReplayOptions& options);

}  // namespace recur

#endif  // RECUR_OPS_REPLAY_H_
