// What `recur run` does before it starts about partition stores the state dir
// recorded and lost (featurestore/partition_manifest.h; issue 15, item 8):
// refuse, unless the operator asked for a rebuild; a rebuild reads each lost
// partition's input topic-partitions from offset 0, so it first asks the broker
// whether they still start there (low watermark), and refuses to rebuild from
// a shortened history unless that loss is acknowledged too.
//
//   RebuildOptions r{.rebuild_missing = true};
//   RETURN_IF_ERROR(recur::CheckMissingStores(pipeline_options, r));  // then Pipeline::Create
//
// Thread-safety: a function; it opens and closes its own Kafka handle.
#ifndef RECUR_STREAMS_MISSING_STORES_H_
#define RECUR_STREAMS_MISSING_STORES_H_

#include "absl/status/status.h"
#include "streams/pipeline.h"

namespace recur {

struct RebuildOptions {
  bool rebuild_missing = false;  // --rebuild-missing: rebuild them from the input topics
  bool accept_loss = false;      // --accept-loss: even when a topic no longer starts at 0
};

// OK when no recorded store is missing. Otherwise, without rebuild_missing:
// FailedPrecondition naming them (MissingPartitionsError). With it: when an
// input topic-partition of a missing store starts after offset 0,
// FailedPrecondition naming each (topic, partition, first available offset)
// unless accept_loss (then logged); finally the missing stores are forgotten
// by the manifest, so the pipeline creates them anew when they are assigned.
// Unavailable when the broker can not be asked.
absl::Status CheckMissingStores(const PipelineOptions& options, const RebuildOptions& rebuild);

}  // namespace recur

#endif  // RECUR_STREAMS_MISSING_STORES_H_
