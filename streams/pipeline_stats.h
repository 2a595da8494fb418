// The stats line of `recur run` ("stats {...}" every --stats seconds and at a
// clean stop): the pipeline's counters, the scoring thread's and the stores'
// cache, as one JSON object. StatsInterval adds, to each periodic line, the
// dead letters since the previous one, by reason and per second: the metric an
// alert on a rising DLQ rate watches (totals alone hide a burst in a long run).
//
//   StatsInterval interval;
//   if (interval.Due(options.stats_interval_s)) log(interval.Line(StatsJson(...)));
#ifndef RECUR_STREAMS_PIPELINE_STATS_H_
#define RECUR_STREAMS_PIPELINE_STATS_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "featurestore/feature_store.h"
#include "streams/kafka_source.h"
#include "streams/partition_stores.h"
#include "streams/pipeline.h"
#include "streams/score_worker.h"
#include "streams/standby.h"

namespace recur {

// The stores' options for a pipeline's (always write-back: see the .cc).
PartitionStoresOptions StoresOptions(const PipelineOptions& o);
// Whether the pipeline runs a StandbyKeeper: for --standby-replicas, and with
// a changelog for the cleanup alone (the keeper also deletes logged stores of
// partitions that moved away; no copies kept then).
bool RunsStandbyKeeper(const PipelineOptions& o);
// The standby keeper's options (streams/standby.h) for `source`'s group member.
StandbyOptions StandbyOptionsFor(const PipelineOptions& o, const KafkaSource* source);

// `standby` (with --standby-replicas): "standby": {"ends": {partition: changelog
// offset held}, "records": applied to the copies, "removed": copies deleted}.
std::string StatsJson(const PipelineCounters& counters, const ScoreWorker::Stats& scoring,
                      const FeatureStore::CacheStats& cache,
                      const std::optional<StandbyKeeper::Stats>& standby = std::nullopt);

// The counters other threads read (Pipeline::counters()): the loop's, with the
// scoring thread's and the caches' folded in. `loop_idle`: nothing consumed and
// not yet committed or scored, every partition at its end, no pass owed.
PipelineCounters SharedCounters(const PipelineCounters& loop, const ScoreWorker::Stats& scoring,
                                const FeatureStore::CacheStats& cache, bool loop_idle,
                                bool batch_empty);

// The open partitions whose re-scoring pass is due: asked for (`forced`: new
// models), or the store's watermark entered a later day than its last pass and
// `caught_up(partition)`. Not those with a pass requested or running.
std::vector<int32_t> PassesDue(const ScoreWorker::Stats& scoring,
                               const std::map<int32_t, std::unique_ptr<FeatureStore>>& open,
                               const std::set<int32_t>& forced,
                               const std::function<bool(int32_t)>& caught_up);

// Adds one store's ApplyBatch figures to the counters: applied and duplicates
// (also by the topic of each event kind), rate-limited events as dead letters.
void CountApplied(const FeatureStore::ApplyStats& stats, const TopicNames& topics,
                  PipelineCounters* counters);

// What the loop publishes for other threads (Pipeline::counters() and
// StatsJson(): the HTTP server, the stats line), as one snapshot under a mutex.
class SharedStats {
 public:
  void Publish(PipelineCounters counters, std::string json) {
    absl::MutexLock lock(&mu_);
    counters_ = std::move(counters);
    json_ = std::move(json);
  }
  PipelineCounters counters() const {
    absl::MutexLock lock(&mu_);
    return counters_;
  }
  std::string json() const {
    absl::MutexLock lock(&mu_);
    return json_;
  }

 private:
  mutable absl::Mutex mu_;
  PipelineCounters counters_ ABSL_GUARDED_BY(mu_);
  std::string json_ ABSL_GUARDED_BY(mu_) = "{}";
};

// The periodic stats lines of one run. Not thread-safe; the run loop owns it.
class StatsInterval {
 public:
  using Clock = std::chrono::steady_clock;
  explicit StatsInterval(Clock::time_point start = Clock::now()) : last_(start) {}

  // Whether interval_s seconds have passed since the previous line (or the start).
  bool Due(int interval_s, Clock::time_point now = Clock::now()) const;

  // `stats_json` (a StatsJson object, whose "dlq" holds the totals by reason)
  // with "dlq_interval" {reason: dead letters since the previous line},
  // "dlq_interval_s" and "dlq_per_s" added; starts the next interval. A string
  // that is not a JSON object is returned unchanged.
  std::string Line(const std::string& stats_json, Clock::time_point now = Clock::now());

 private:
  Clock::time_point last_;
  std::map<std::string, int64_t> last_dlq_;  // the totals at the previous line
};

}  // namespace recur

#endif  // RECUR_STREAMS_PIPELINE_STATS_H_
