#include "streams/pipeline_stats.h"

#include "nlohmann/json.hpp"

namespace recur {

std::string StatsJson(const PipelineCounters& counters, const ScoreWorker::Stats& scoring,
                      const FeatureStore::CacheStats& cache) {
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
                   {"flushes", counters.flushes},
                   {"flush_ms", counters.flush_ms},
                   {"dlq", counters.dlq}};
  j["cache"] = {{"customers", cache.entries},   {"bytes", cache.bytes},
                {"dirty", cache.dirty_entries}, {"loads", cache.loads},
                {"evictions", cache.evictions}, {"flushed", cache.flushed_customers}};
  const ScoringCounters& c = scoring.counters;
  j["scoring"] = {
      {"models", scoring.versions}, {"scored", c.scored},     {"published", c.published},
      {"unchanged", c.unchanged},   {"passes", c.passes},     {"reloads", c.reloads},
      {"refused", c.refused},       {"score_ms", c.score_ms}, {"deliver_ms", c.deliver_ms}};
  return j.dump();
}

}  // namespace recur
