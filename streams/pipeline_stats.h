// The stats line of `recur run` ("stats {...}" every --stats seconds and at a
// clean stop): the pipeline's counters, the scoring thread's and the stores'
// cache, as one JSON object.
#ifndef RECUR_STREAMS_PIPELINE_STATS_H_
#define RECUR_STREAMS_PIPELINE_STATS_H_

#include <string>

#include "featurestore/feature_store.h"
#include "streams/pipeline.h"
#include "streams/score_worker.h"

namespace recur {

std::string StatsJson(const PipelineCounters& counters, const ScoreWorker::Stats& scoring,
                      const FeatureStore::CacheStats& cache);

}  // namespace recur

#endif  // RECUR_STREAMS_PIPELINE_STATS_H_
