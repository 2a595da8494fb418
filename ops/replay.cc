// `recur replay`: range resolution, the bounded Pipeline run, verification of
// the stored offsets, the score diff and the swap. See replay.h.
#include "ops/replay.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "base/fs.h"
#include "base/time.h"
#include "featurestore/feature_store.h"
#include "featurestore/state_dir.h"
#include "featurestore/store_errors.h"
#include "proto/recur.pb.h"
#include "scorer/scorer.h"
#include "spdlog/spdlog.h"
#include "streams/admin.h"

namespace recur {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

int64_t NowMs() { return absl::ToUnixMillis(absl::Now()); }

std::string FormatEta(double seconds) {
  if (!(seconds >= 0) || seconds > 359'999) return "?";
  const int64_t s = static_cast<int64_t>(seconds + 0.5);
  return s >= 3600 ? absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
                   : absl::StrFormat("%d:%02d", s / 60, s % 60);
}

std::string Compact(int64_t n) {
  if (n >= 10'000'000) return absl::StrCat(n / 1'000'000, "M");
  if (n >= 10'000) return absl::StrCat(n / 1000, "k");
  return absl::StrCat(n);
}

// The text of one progress line (the caller prints it): consumed / total, rate, ETA, lag by
// partition number and the slowest source partition.
class ReplayProgress {
 public:
  explicit ReplayProgress(const ReplayRange& range) : range_(range), total_(range.records()) {}

  std::string Format(const PipelineProgress& p) {
    const auto now = Clock::now();
    int64_t done = 0, lag = 0;
    std::map<int32_t, int64_t> lag_by_number;
    TopicPartition slowest;
    int64_t slowest_lag = -1;
    for (const auto& [tp, stop] : range_.stop) {
      const int64_t start = range_.start.at(tp);
      auto it = p.positions.find(tp);
      const int64_t pos =
          it == p.positions.end() || it->second < start ? start : std::min(it->second, stop);
      done += pos - start;
      const int64_t left = stop - pos;
      lag += left;
      lag_by_number[tp.partition] += left;
      if (left > slowest_lag) {
        slowest_lag = left;
        slowest = tp;
      }
    }
    if (done > 0 && !first_) first_ = now;
    const double dt = std::chrono::duration<double>(now - last_).count();
    const double rate = dt > 0 ? static_cast<double>(p.counters.events_in - last_events_) / dt : 0;
    last_ = now;
    last_events_ = p.counters.events_in;
    const double since_first = first_ ? std::chrono::duration<double>(now - *first_).count() : 0;
    const double avg = since_first > 0.5 ? static_cast<double>(done) / since_first : 0;
    if (p.positions.empty())
      return absl::StrFormat("replay: 0/%d records, waiting for the partitions (joining the group)",
                             total_);
    std::string by_number;
    for (const auto& [n, l] : lag_by_number)
      absl::StrAppend(&by_number, by_number.empty() ? "" : " ", "p", n, "=", Compact(l));
    return absl::StrFormat(
        "replay: %d/%d records (%.1f%%), %.0f events/s, ETA %s, lag %d by partition [%s]%s", done,
        total_,
        total_ > 0 ? 100.0 * static_cast<double>(done) / static_cast<double>(total_) : 100.0, rate,
        lag == 0 ? "0:00" : (avg > 0 ? FormatEta(static_cast<double>(lag) / avg) : "?"), lag,
        by_number,
        lag > 0
            ? absl::StrFormat(", slowest %s/%d (%d)", slowest.topic, slowest.partition, slowest_lag)
            : std::string());
  }

 private:
  const ReplayRange& range_;
  const int64_t total_;
  Clock::time_point last_ = Clock::now();
  int64_t last_events_ = 0;
  std::optional<Clock::time_point> first_;
};

// Opens (read-write: that takes RocksDB's LOCK) and closes every partition
// store of `dir`. A store another process holds is FailedPrecondition; one that
// can not be opened for another reason (corrupt, not a recur store) is let
// through: nobody can be using it, and a replay is the way to replace it.
absl::Status ProbeStores(const std::string& dir) {
  if (!fs::exists(dir)) return absl::OkStatus();
  auto parts = StateDir::CountPartitions(dir);
  if (!parts.ok()) return absl::OkStatus();  // no partition store: nothing to hold
  for (int32_t p = 0; p < *parts; ++p) {
    FeatureStore::Options o;
    o.path = StateDir::PartitionPath(dir, p);
    auto store = FeatureStore::Open(o);
    if (store.ok()) continue;
    if (IsStoreLocked(store.status())) {
      return absl::FailedPreconditionError(
          absl::StrCat("the live state dir ", dir, " is in use: ", o.path,
                       " is locked by another process (a running `recur run`?). Stop the pipeline "
                       "first (SIGTERM finishes its "
                       "batch), or replay with --out DIR and no --swap, and swap later"));
    }
    spdlog::warn("live store {} can not be opened ({}); it will be replaced", o.path,
                 std::string(store.status().message()));
  }
  return absl::OkStatus();
}

// POSIX record locks on every partition store's LOCK file: the lock RocksDB
// itself takes (fcntl F_SETLK), so a `recur run` starting during a swap waits
// for the store instead of opening the directory that is being replaced.
// RocksDB instances are never held across the rename: closing one after its
// directory was renamed would delete obsolete files by path — in the new dir.
class LockFiles {
 public:
  LockFiles() = default;
  LockFiles(const LockFiles&) = delete;
  LockFiles& operator=(const LockFiles&) = delete;
  ~LockFiles() {
    for (int fd : fds_) ::close(fd);  // releases the locks
  }
  absl::Status Lock(const std::string& dir) {
    auto parts = StateDir::CountPartitions(dir);
    if (!parts.ok()) return absl::OkStatus();
    for (int32_t p = 0; p < *parts; ++p) {
      const std::string path = StateDir::PartitionPath(dir, p) + "/LOCK";
      const int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd < 0) continue;  // no LOCK file: not a store anybody opened
      fds_.push_back(fd);
      struct flock l {};
      l.l_type = F_WRLCK;
      l.l_whence = SEEK_SET;
      if (::fcntl(fd, F_SETLK, &l) != 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("the live state dir ", dir, " is in use: ", path,
                         " was locked by another process meanwhile. Stop the pipeline first, or "
                         "replay with --out DIR"));
      }
    }
    return absl::OkStatus();
  }

 private:
  std::vector<int> fds_;
};

std::string UtcStamp() {
  return absl::FormatTime("%Y%m%dT%H%M%SZ", absl::Now(), absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<ReplayPosition> ReplayPosition::Parse(const std::string& text) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "beginning" || t == "earliest") return ReplayPosition{Kind::kBeginning, 0};
  if (t == "end" || t == "latest") return ReplayPosition{Kind::kEnd, 0};
  int64_t offset = 0;
  if (!t.empty() && t.find_first_not_of("0123456789") == std::string::npos &&
      absl::SimpleAtoi(t, &offset)) {
    return ReplayPosition{Kind::kOffset, offset};
  }
  if (auto time = ParseTime(text, DayBound::kStart); time.ok() && !t.empty() && t[0] != '-') {
    return ReplayPosition{Kind::kTime, *time};  // a date: from its first millisecond
  }
  return absl::InvalidArgumentError(absl::StrCat("'", text,
                                                 "' is not a position: beginning, end, an offset "
                                                 "(e.g. 1200) or a time (YYYY-MM-DD or RFC 3339)"));
}

std::string ReplayPosition::ToString() const {
  switch (kind) {
    case Kind::kBeginning:
      return "beginning";
    case Kind::kEnd:
      return "end";
    case Kind::kOffset:
      return absl::StrCat("offset ", value);
    case Kind::kTime:
      return FormatTimeMs(value);
  }
  return "?";
}

int64_t ReplayRange::records() const {
  int64_t n = 0;
  for (const auto& [tp, stop] : this->stop) n += stop - start.at(tp);
  return n;
}

absl::StatusOr<ReplayRange> ResolveReplayRange(const KafkaProperties& kafka,
                                               const std::vector<std::string>& topics,
                                               const ReplayPosition& from, const ReplayPosition& to,
                                               absl::Duration timeout) {
  using Kind = ReplayPosition::Kind;
  if (from.kind == Kind::kEnd) return absl::InvalidArgumentError("--from end replays nothing");
  if (to.kind == Kind::kBeginning)
    return absl::InvalidArgumentError("--to beginning replays nothing");
  if (from.kind == to.kind && (from.kind == Kind::kOffset || from.kind == Kind::kTime) &&
      to.value < from.value) {
    return absl::InvalidArgumentError(
        absl::StrCat("--to (", to.ToString(), ") is before --from (", from.ToString(), ")"));
  }
  auto admin = KafkaAdmin::Create(kafka, absl::StrCat("recur-replay-query-", NowMs()));
  if (!admin.ok()) return admin.status();
  auto counts = (*admin)->PartitionCounts(timeout);
  if (!counts.ok()) return counts.status();
  ReplayRange range;
  for (const std::string& t : topics) {
    if (absl::Status s = RequireTopic(*counts, t, "input", kafka); !s.ok()) return s;
    const int32_t n = counts->at(t);
    if (range.partitions != 0 && n != range.partitions) {
      return absl::FailedPreconditionError(absl::StrCat(
          "input topics have different partition counts (", topics.front(), ": ", range.partitions,
          ", ", t, ": ", n, "); recur needs co-partitioned input topics"));
    }
    range.partitions = n;
  }
  OffsetMap begin, end;
  for (const std::string& t : topics) {
    for (int32_t p = 0; p < range.partitions; ++p) {
      auto marks = (*admin)->QueryWatermarks(t, p, timeout, absl::StrCat("offsets of ", t, "/", p));
      if (!marks.ok()) return marks.status();
      begin[{t, p}] = marks->low;
      end[{t, p}] = marks->high;
    }
  }
  auto clamp = [&](const TopicPartition& tp, int64_t v) {
    return std::clamp(v, begin.at(tp), end.at(tp));
  };
  switch (from.kind) {
    case Kind::kTime: {
      auto o = (*admin)->OffsetsForTime(end, from.value, timeout);
      if (!o.ok()) return o.status();
      range.start = *o;
      break;
    }
    case Kind::kOffset:
      for (const auto& [tp, e] : end) range.start[tp] = clamp(tp, from.value);
      break;
    default:
      range.start = begin;
  }
  switch (to.kind) {
    case Kind::kTime: {
      auto o = (*admin)->OffsetsForTime(end, to.value, timeout);
      if (!o.ok()) return o.status();
      range.stop = *o;
      break;
    }
    case Kind::kOffset:
      for (const auto& [tp, e] : end) range.stop[tp] = std::min(to.value, e);
      break;
    default:
      range.stop = end;
  }
  for (const auto& [tp, stop] : range.stop) {
    if (stop < range.start.at(tp)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--to (", to.ToString(), ") is before --from (", from.ToString(), ") on ", tp.topic, "/",
          tp.partition, ": offset ", stop, " < offset ", range.start.at(tp)));
    }
  }
  return range;
}

absl::Status CheckStateDirUnlocked(const std::string& state_dir) { return ProbeStores(state_dir); }

absl::Status SwapStateDir(const std::string& live, const std::string& replayed,
                          std::string* previous) {
  previous->clear();
  if (absl::Status s = ProbeStores(live); !s.ok()) return s;
  if (!fs::exists(live)) return RenameNoReplace(replayed, live);
  // Held until the exchange is done: a `recur run` starting meanwhile waits
  // for the LOCK and then opens the new dir's stores.
  LockFiles held;
  if (absl::Status s = held.Lock(live); !s.ok()) return s;
  const std::string old = absl::StrCat(live, ".old-", UtcStamp());
  if (fs::exists(old)) return absl::AlreadyExistsError(absl::StrCat(old, " already exists"));
  if (::renameat2(AT_FDCWD, replayed.c_str(), AT_FDCWD, live.c_str(), RENAME_EXCHANGE) == 0) {
    // `replayed` now names the previous live dir: give it a name that says so.
    absl::Status s = RenameNoReplace(replayed, old);
    *previous = s.ok() ? old : replayed;
    if (!s.ok())
      spdlog::warn("the previous live state is at {} ({})", replayed, std::string(s.message()));
    return absl::OkStatus();
  }
  if (errno != EINVAL && errno != ENOSYS) {
    return absl::UnavailableError(
        absl::StrCat("swap ", replayed, " <-> ", live, ": ", std::strerror(errno),
                     errno == EXDEV ? " (--out must be on the live dir's file system)" : ""));
  }
  // No RENAME_EXCHANGE on this file system: two renames, with the stores'
  // locks still held (a moment without a live dir, never a mixed one).
  spdlog::warn("file system without RENAME_EXCHANGE: swapping with two renames");
  if (absl::Status s = RenameNoReplace(live, old); !s.ok()) return s;
  if (absl::Status s = RenameNoReplace(replayed, live); !s.ok()) {
    absl::Status back = RenameNoReplace(old, live);
    return absl::Status(s.code(),
                        absl::StrCat(s.message(), back.ok() ? "; the live dir was put back"
                                                            : "; the live dir is now at " + old));
  }
  *previous = old;
  return absl::OkStatus();
}

namespace {

// Refuses what a replay can not do before anything is read or written; sets
// result->out (default: beside the live dir, stamped).
absl::Status CheckReplayOptions(const ReplayOptions& options, ReplayResult* result) {
  const bool scoring = options.pipeline.scoring.enabled;
  if (options.live_dir.empty())
    return absl::InvalidArgumentError("--state-dir: the live state dir is required");
  if (!options.diff_topic.empty() && !scoring) {
    return absl::InvalidArgumentError("--diff compares re-scored output: it needs --scores-topic");
  }
  const std::vector<std::string> inputs = options.pipeline.topics.inputs();
  if (scoring) {
    const std::string& t = options.pipeline.topics.scores;
    if (std::find(inputs.begin(), inputs.end(), t) != inputs.end()) {
      return absl::InvalidArgumentError(absl::StrCat("--scores-topic ", t, " is an input topic"));
    }
    if (t == options.diff_topic) {
      return absl::InvalidArgumentError(
          "--diff names the replay's own --scores-topic; give the live scores topic");
    }
  }
  result->out = options.out.empty()
                    ? absl::StrCat(fs::path(options.live_dir).lexically_normal().string(),
                                   ".replay-", UtcStamp())
                    : options.out;
  if (fs::exists(result->out)) {
    return absl::AlreadyExistsError(absl::StrCat(
        "--out ", result->out,
        " already exists; a replay never writes into an existing directory: pick a new --out"));
  }
  if (IsWithin(result->out, options.live_dir)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--out ", result->out, " is inside the live state dir ", options.live_dir));
  }
  if (options.swap) {
    if (absl::Status s = CheckStateDirUnlocked(options.live_dir); !s.ok()) return s;
  }
  if (scoring) {
    // Re-scoring needs the models now (recur run would wait for them; a replay
    // would silently score nothing).
    auto scorer = Scorer::Create(options.pipeline.scoring.scorer);
    if (!scorer.ok()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "re-scoring needs both models in --models-dir ",
          options.pipeline.scoring.scorer.models_dir, ": ", scorer.status().message()));
    }
  }
  return absl::OkStatus();
}

// The output topics must exist: the scores topic (re-scoring) and the live
// scores topic (--diff).
absl::Status CheckOutputTopics(const ReplayOptions& options, bool scoring) {
  auto admin = KafkaAdmin::Create(options.pipeline.kafka, "recur-replay-query");
  if (!admin.ok()) return admin.status();
  auto counts = (*admin)->PartitionCounts(absl::Seconds(10));
  if (!counts.ok()) return counts.status();
  if (scoring) {
    absl::Status s = RequireTopic(*counts, options.pipeline.topics.scores,
                                  "scores (--scores-topic)", options.pipeline.kafka);
    if (!s.ok()) return s;
  }
  if (!options.diff_topic.empty()) {
    absl::Status s =
        RequireTopic(*counts, options.diff_topic, "live scores (--diff)", options.pipeline.kafka);
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

// Every partition store of the replayed `dir` holds exactly the stop offsets.
absl::Status VerifyStopOffsets(const std::string& dir, const ReplayRange& range) {
  for (int32_t n = 0; n < range.partitions; ++n) {
    FeatureStore::Options o;
    o.path = StateDir::PartitionPath(dir, n);
    o.read_only = true;
    auto store = FeatureStore::Open(o);
    absl::StatusOr<OffsetMap> stored = store.ok() ? (*store)->ReadOffsets() : store.status();
    if (!stored.ok()) {
      return absl::DataLossError(
          absl::StrCat("replayed store partition-", n, ": ", stored.status().message()));
    }
    OffsetMap expected;
    for (const auto& [tp, off] : range.stop) {
      if (tp.partition == n) expected[tp] = off;
    }
    if (*stored != expected) {
      std::string what;
      for (const auto& [tp, off] : expected) {
        auto it = stored->find(tp);
        absl::StrAppend(&what, " ", tp.topic, "/", n, " stored ",
                        it == stored->end() ? std::string("none") : absl::StrCat(it->second),
                        " expected ", off, ";");
      }
      return absl::DataLossError(
          absl::StrCat("replayed store partition-", n, " does not end at the stop offsets:", what));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ReplayResult> Replay(const ReplayOptions& options) {
  ReplayResult result;
  const bool scoring = options.pipeline.scoring.enabled;
  if (absl::Status s = CheckReplayOptions(options, &result); !s.ok()) return s;
  auto range = ResolveReplayRange(options.pipeline.kafka, options.pipeline.topics.inputs(),
                                  options.from, options.to);
  if (!range.ok()) return range.status();
  result.range = *range;
  if (absl::Status s = CheckOutputTopics(options, scoring); !s.ok()) return s;

  // Build beside OUT, publish with one rename.
  const fs::path out_path = fs::absolute(result.out);
  auto tmp_dir = TempDirBeside(out_path.string());
  if (!tmp_dir.ok()) return tmp_dir.status();
  const std::string tmp = *tmp_dir;
  auto remove_tmp = [&] {
    std::error_code ignored;
    fs::remove_all(tmp, ignored);
  };

  PipelineOptions p = options.pipeline;
  p.group_id = result.group_id = absl::StrCat("recur-replay-", NowMs());
  p.state_dir = tmp;
  p.start_offsets = range->start;
  p.stop_offsets = range->stop;
  p.exit_when_idle_ms = 0;
  p.scoring.reload_check_ms = INT_MAX;      // the models of the start, for the whole replay
  p.score_touched = options.score_history;  // else the final pass scores every customer once
  // Each batch's scores as they are (before the first pass without the
  // quantile segments), not held for the one pass at the end.
  p.scoring.quantiles_first = !options.score_history;
  ReplayProgress line(*range);
  if (options.progress) {
    p.on_progress = [&](const PipelineProgress& progress) {
      options.progress(line.Format(progress));
    };
  }
  spdlog::info(
      "replaying {} records of {} input partitions ({} to {}) into {} (group {}){}",
      range->records(), range->stop.size(), options.from.ToString(), options.to.ToString(),
      result.out, result.group_id,
      scoring ? absl::StrCat(", re-scoring into ", p.topics.scores) : std::string(", no scoring"));
  std::atomic<bool> no_stop{false};
  const std::atomic<bool>& stop = options.stop != nullptr ? *options.stop : no_stop;
  const auto started = Clock::now();
  {
    auto pipeline = Pipeline::Create(p);
    if (!pipeline.ok()) {
      remove_tmp();
      return pipeline.status();
    }
    absl::Status s = (*pipeline)->Run(stop);
    result.counters = (*pipeline)->counters();
    result.stats_json = (*pipeline)->StatsJson();
    if (s.ok() && options.progress) {
      PipelineProgress final{result.counters, range->stop};
      options.progress(line.Format(final));
    }
    if (!s.ok() || stop.load()) {
      pipeline->reset();
      remove_tmp();
      if (!s.ok()) return s;
      return absl::CancelledError("replay interrupted; nothing was left at --out");
    }
  }  // the pipeline is gone: every store is closed
  result.seconds = SecondsSince(started);

  // Exactly the stop offsets, in every partition store.
  if (absl::Status s = VerifyStopOffsets(tmp, *range); !s.ok()) {
    remove_tmp();
    return s;
  }
  if (absl::Status s = PublishDir(tmp, out_path.string()); !s.ok()) {
    remove_tmp();
    return s;
  }

  if (!options.diff_topic.empty()) {
    auto d = DiffScoreTopics(options.pipeline.kafka, options.diff_topic,
                             options.pipeline.topics.scores, options.diff);
    if (!d.ok()) {
      return absl::Status(
          d.status().code(),
          absl::StrCat(d.status().message(), " (the replayed state is at ", result.out, ")"));
    }
    result.diff = std::move(*d);
  }
  if (options.swap) {
    if (result.diff && !result.diff->differences.empty()) {
      result.not_swapped_reason = "the replayed scores differ from the live ones";
      return result;
    }
    std::string previous;
    absl::Status s = SwapStateDir(options.live_dir, out_path.string(), &previous);
    if (!s.ok()) {
      return absl::Status(
          s.code(),
          absl::StrCat(s.message(), " — not swapped; the replayed state is at ", result.out));
    }
    result.swapped = true;
    result.previous = previous;
    result.out = options.live_dir;
  }
  return result;
}

}  // namespace recur
