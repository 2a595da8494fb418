#include "streams/pipeline_stats.h"

#include <utility>

#include "nlohmann/json.hpp"
#include "scorer/policy.h"
#include "streams/changelog_kafka.h"

namespace recur {

std::string StatsJson(const PipelineCounters& counters, const ScoreWorker::Stats& scoring,
                      const FeatureStore::CacheStats& cache,
                      const std::optional<StandbyKeeper::Stats>& standby) {
  nlohmann::json j{{"events_in", counters.events_in},
                   {"applied", counters.applied},
                   {"duplicates", counters.duplicates},
                   {"late", counters.late},
                   {"batches", counters.batches},
                   {"batch_ms_last", counters.batch_ms_last},
                   {"batch_ms_max", counters.batch_ms_max},
                   {"lag", counters.lag},
                   {"retries", counters.retries + scoring.retries},
                   {"apply_ms", counters.apply_ms},
                   {"apply_wait_ms", counters.apply_wait_ms},
                   {"flushes", counters.flushes},
                   {"flush_ms", counters.flush_ms},
                   {"score_wait_ms", scoring.wait_ms},
                   {"score_wait_ms_max", scoring.wait_ms_max},
                   {"score_merged", scoring.merged},
                   {"dlq", counters.dlq}};
  j["cache"] = {{"customers", cache.entries},
                {"bytes", cache.bytes},
                {"dirty", cache.dirty_entries},
                {"loads", cache.loads},
                {"evictions", cache.evictions},
                {"flushed", cache.flushed_customers},
                {"flushed_bytes", cache.flushed_bytes},
                {"changelog_records", cache.changelog_records},
                {"restored_records", cache.restored_records}};
  if (standby) {
    nlohmann::json ends = nlohmann::json::object();
    for (const auto& [p, end] : standby->ends) ends[std::to_string(p)] = end;
    j["standby"] = {{"ends", ends}, {"records", standby->records}, {"removed", standby->removed}};
  }
  const ScoringCounters& c = scoring.counters;
  j["scoring"] = {{"models", scoring.versions},
                  {"scored", c.scored},
                  {"published", c.published},
                  {"unchanged", c.unchanged},
                  {"passes", c.passes},
                  {"reloads", c.reloads},
                  {"refused", c.refused},
                  {"score_ms", c.score_ms},
                  {"deliver_ms", c.deliver_ms},
                  {"passing", scoring.passing.size()},
                  {"pass_steps", scoring.pass_steps}};
  return j.dump();
}

void CountApplied(const FeatureStore::ApplyStats& stats, const TopicNames& topics,
                  PipelineCounters* c) {
  c->applied += stats.applied;
  c->duplicates += stats.duplicates;
  const std::string* names[] = {&topics.purchases, &topics.sessions, &topics.carts,
                                &topics.marketing, &topics.profiles};
  for (size_t k = 0; k < stats.applied_by_kind.size(); ++k) {
    if (stats.applied_by_kind[k] > 0) c->applied_by_topic[*names[k]] += stats.applied_by_kind[k];
    if (stats.duplicates_by_kind[k] > 0)
      c->duplicates_by_topic[*names[k]] += stats.duplicates_by_kind[k];
  }
  if (!stats.rate_limited.empty())
    c->dlq["rate_limited"] += static_cast<int64_t>(stats.rate_limited.size());
}

PipelineCounters SharedCounters(const PipelineCounters& loop, const ScoreWorker::Stats& scoring,
                                const FeatureStore::CacheStats& cache, bool loop_idle,
                                bool batch_empty) {
  PipelineCounters c = loop;
  c.models = scoring.versions;
  c.scores_published = scoring.counters.published;
  c.rescoring_passes = scoring.counters.passes;
  c.model_reloads = scoring.counters.reloads;
  c.scoring = scoring.counters;
  c.cache = cache;
  c.caught_up = loop_idle && (!scoring.active || scoring.idle);  // idle: no pass under way either
  c.durable = batch_empty && cache.dirty_entries == 0;
  return c;
}

bool StatsInterval::Due(int interval_s, Clock::time_point now) const {
  return now - last_ >= std::chrono::seconds(interval_s);
}

std::string StatsInterval::Line(const std::string& stats_json, Clock::time_point now) {
  nlohmann::json j = nlohmann::json::parse(stats_json, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return stats_json;
  std::map<std::string, int64_t> totals;
  if (auto it = j.find("dlq"); it != j.end() && it->is_object()) {
    for (const auto& [reason, n] : it->items()) {
      if (n.is_number_integer()) totals[reason] = n.get<int64_t>();
    }
  }
  nlohmann::json delta = nlohmann::json::object();
  int64_t sum = 0;
  for (const auto& [reason, n] : totals) {
    auto prev = last_dlq_.find(reason);
    // A total below the previous one (not expected: the counters only grow)
    // counts from zero rather than as a negative rate.
    const int64_t d = prev == last_dlq_.end() || n < prev->second ? n : n - prev->second;
    if (d > 0) delta[reason] = d;
    sum += d;
  }
  const double secs = std::chrono::duration<double>(now - last_).count();
  j["dlq_interval"] = std::move(delta);
  j["dlq_interval_s"] = secs;
  j["dlq_per_s"] = secs > 0 ? static_cast<double>(sum) / secs : 0.0;
  last_ = now;
  last_dlq_ = std::move(totals);
  return j.dump();
}

std::vector<int32_t> PassesDue(const ScoreWorker::Stats& scoring,
                               const std::map<int32_t, std::unique_ptr<FeatureStore>>& open,
                               const std::set<int32_t>& forced,
                               const std::function<bool(int32_t)>& caught_up) {
  std::vector<int32_t> due;
  for (const auto& [p, store] : open) {
    if (scoring.passing.count(p) > 0) continue;  // one at a time; a reload drops it (`forced`)
    auto day = scoring.rescored_days.find(p);
    const bool advanced = day != scoring.rescored_days.end() &&
                          RescoreDue(store->watermark_ms(), day->second) && caught_up(p);
    if (forced.count(p) > 0 || advanced) due.push_back(p);
  }
  return due;
}

PartitionStoresOptions StoresOptions(const PipelineOptions& o) {
  PartitionStoresOptions s;
  s.state_dir = o.state_dir;
  s.retention_days = o.decoder.retention_days;
  s.sync = o.sync;
  s.mark_pending = o.scoring.enabled;
  s.watermark_events = o.watermark_events;
  // Always write-back: the Committer relays a batch's rate_limited events
  // after ApplyBatch and before anything is durable. Without an interval
  // (FlushEveryBatch) the pipeline flushes after each commit.
  s.write_back = true;
  s.max_events_per_day = o.max_events_per_day;
  s.cache_bytes = o.cache_mb << 20;
  s.lock_timeout_ms = o.store_lock_timeout_ms;
  if (!o.changelog_topic.empty()) {
    s.changelog = [kafka = o.kafka, topic = o.changelog_topic, group = o.group_id](
                      int32_t partition) -> absl::StatusOr<std::unique_ptr<Changelog>> {
      auto log = KafkaChangelog::Create(
          {.kafka = kafka, .topic = topic, .partition = partition, .group = group});
      if (!log.ok()) return log.status();
      return std::unique_ptr<Changelog>(std::move(*log));
    };
  }
  return s;
}

bool RunsStandbyKeeper(const PipelineOptions& o) {
  return o.standby_replicas > 0 || (!o.changelog_topic.empty() && o.state_cleanup_delay_ms >= 0);
}

StandbyOptions StandbyOptionsFor(const PipelineOptions& o, const KafkaSource* source) {
  StandbyOptions s;
  s.replicas = o.standby_replicas;
  s.cleanup_delay = o.state_cleanup_delay_ms < 0 ? absl::InfiniteDuration()
                                                 : absl::Milliseconds(o.state_cleanup_delay_ms);
  s.state_dir = o.state_dir;
  s.kafka = o.kafka;
  s.group = o.group_id;
  s.changelog_topic = o.changelog_topic;
  s.member_id = [source] { return source->MemberId(); };
  return s;
}

}  // namespace recur
