// Pipeline: the `recur run` daemon. A consumer group over the five input topics,
// micro-batches, decode + validate + dead-letter, and one feature-store
// WriteBatch per partition holding the batch's state changes and its offsets.
//
//   recur::PipelineOptions o;
//   o.kafka["bootstrap.servers"] = "127.0.0.1:9092";
//   auto p = recur::Pipeline::Create(o);
//   std::atomic<bool> stop{false};            // set from SIGTERM/SIGINT
//   absl::Status s = (*p)->Run(stop);
//
// Exactly once: on assignment the consumer seeks to the offsets stored in each
// partition's RocksDB store (Kafka's committed offsets are written only for lag
// monitoring). A batch changes the stores' cached states; a flush (every
// commit_interval_ms) writes the changed customers with the offsets they
// correspond to in one WriteBatch per store, so a crash resumes at the last
// flush and re-applies what followed it, exactly once. Dead letters are
// delivered before their batch is applied, so a crash can repeat a dead letter
// but never lose one. Touched customers are scored after their batch
// (ScoreStage); the ones still owed a score at a flush are marked pending in it,
// so a crash repeats a score (same bytes) but never loses one.
//
// The parts (streams/README.md): a RecordSource (record_source.h; KafkaSource
// in production) yields records and assignment changes; a BatchBuilder
// (batch_builder.h) decodes them into the next batch; the Committer
// (committer.h) delivers its dead letters, then writes one WriteBatch per
// PartitionStores store (partition_stores.h), on the ApplyStage's thread
// (apply_stage.h) while the loop reads the next batch; the ScoreStage
// (scoring.h) scores what the batch touched, on the ScoreWorker's thread. This
// class only wires them, on one loop: librdkafka's rebalance callback records
// the change and the loop acts on it.
// Test seams (base/sync_point.h): "Pipeline::AfterStateCommit" is reached (on
// Run's thread) after a batch is applied, before its scores are delivered;
// "ApplyStage::Apply" on the applying thread before each batch's commit;
// "Pipeline::AfterFlush" after the stores' flush; "FeatureStore::BeforeFlushWrite"
// inside a flush.
// Thread-safety: Run() on one thread; counters() and StatsJson() may be called
// from any thread (a snapshot taken after every loop iteration), and so may
// Lookup() (it reads the open stores under their locks).
#ifndef RECUR_STREAMS_PIPELINE_H_
#define RECUR_STREAMS_PIPELINE_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "base/histogram.h"
#include "featurestore/watermark.h"
#include "streams/decoder.h"
#include "streams/kafka.h"
#include "streams/partition_stores.h"
#include "streams/producer.h"
#include "streams/scoring.h"

namespace recur {

class DeadLetterSink;
class RecordSource;
struct PipelineProgress;

struct PipelineOptions {
  KafkaProperties kafka;  // bootstrap.servers and any librdkafka property (-X)
  std::string group_id = "recur";
  TopicNames topics;
  std::string state_dir = "state";
  size_t batch_max_events = 20'000;
  int batch_linger_ms = 200;
  DecoderOptions decoder;
  bool sync = false;  // fsync each flush (power-loss safety)
  // Batches change the stores' cached states; every commit_interval_ms (or
  // sooner, when the changed customers take half of cache_mb) one WriteBatch
  // per store makes them durable with their offsets (docs/DESIGN.md "State
  // layout"). A crash re-reads at most this much input; nothing is lost.
  // 0: write-through, every batch durable when it is committed.
  int commit_interval_ms = 5'000;
  size_t cache_mb = 2'048;    // decoded customers in memory, all stores together
  bool write_back = true;     // false: every batch is written (the old engine, for comparison)
  int stats_interval_s = 0;   // 0: no periodic stats line
  int exit_when_idle_ms = 0;  // >0: exit once every assigned partition is at its end this long
  int max_retries = 8;        // failed batch: retries with backoff, then Run() fails
  int broker_down_timeout_s = 300;  // no broker for this long: Run() fails
  int store_lock_timeout_ms =
      30'000;  // wait this long for a partition store another process still holds
  // Events past a day boundary before a store's watermark crosses it (its
  // re-scoring day; FeatureStore::Options::watermark_events).
  int32_t watermark_events = kDefaultWatermarkEvents;
  // The pipelined loop: a batch is applied on a thread of its own (ApplyStage)
  // while the loop reads and decodes the next. false: the loop applies it and
  // then reads on (for comparisons, --no-pipeline).
  bool pipelined = true;
  // Events applied per customer, kind (topic) and UTC day before the rest go to
  // the DLQ as `rate_limited` (a bot; FeatureStore::Options::max_events_per_day).
  // 0: no cap.
  uint32_t max_events_per_day = kDefaultMaxEventsPerDay;
  // Non-empty: every store flush is also appended to this compacted topic
  // (partition = the input partition number), and a store is restored or
  // caught up from it when it is opened (streams/changelog_kafka.h;
  // docs/DESIGN.md "Scale-out"). Empty: no changelog.
  std::string changelog_topic;
  // Cooperative incremental rebalancing (KafkaSourceOptions::cooperative): a
  // rebalance moves only the partitions that must move; the others go on.
  bool cooperative = false;
  // Warm copies of partition stores other instances own, kept by tailing the
  // changelog (streams/standby.h); needs changelog_topic. 0: none.
  int standby_replicas = 0;
  // A standby copy no longer wanted here is deleted this long after it was
  // closed (StandbyOptions::cleanup_delay); negative: kept.
  int64_t state_cleanup_delay_ms = 600'000;
  ScoringOptions scoring;  // scores to topics.scores (enabled by default; no model = ingest only)
  // Batches of touched customers waiting for the scoring thread before the
  // loop waits for it (backpressure).
  size_t score_queue = 4;
  // A day-boundary re-scoring pass runs in steps of scoring.chunk customers
  // on the scoring thread, between the batches' scores, while the loop goes on
  // consuming. false: the whole pass at once, the loop waiting for it (the
  // engine before; a bounded run's final pass always runs so).
  bool rescore_in_steps = true;

  // Bounded runs (`recur replay`); both maps empty for `recur run`.
  // Where an input partition starts when its store has no stored offset
  // (default: the partition's beginning).
  OffsetMap start_offsets;
  // Non-empty: every input partition is bounded. Records at or after a
  // partition's stop offset are never applied (one missing from the map is not
  // read at all); reaching it stores exactly the stop offset and pauses the
  // partition. Once every assigned partition reached its stop, the last batch is
  // committed, scoring finishes (a stopped partition counts as caught up, so the
  // day-boundary pass runs as at the end of a backlog) and Run() returns OK.
  OffsetMap stop_offsets;
  // false: customers a batch touched are only marked pending, not scored; the
  // day-boundary pass (at the end of a bounded run) scores each customer once
  // and clears the marks (`recur replay`: one score per customer, as of the end).
  bool score_touched = true;
  // Called on Run()'s thread about every progress_interval_ms (progress output).
  std::function<void(const PipelineProgress&)> on_progress;
  int progress_interval_ms = 1000;
};

struct PipelineCounters {
  int64_t events_in = 0;
  int64_t applied = 0;
  int64_t duplicates = 0;
  int64_t late = 0;
  int64_t batches = 0;
  int64_t batch_ms_last = 0;
  int64_t batch_ms_max = 0;
  int64_t lag = 0;
  std::map<TopicPartition, int64_t> lag_by_partition;  // the partitions whose end is known
  std::map<std::string, int64_t> consumed_by_topic;    // events_in by topic
  std::map<std::string, int64_t> late_by_topic;
  std::map<std::string, int64_t> applied_by_topic;             // applied and duplicates by the
  std::map<std::string, int64_t> duplicates_by_topic;          // topic of their event kind
  Histogram batch_commit_seconds{Histogram::LatencyBounds()};  // dead letters + apply, per batch
  int64_t retries = 0;
  int64_t apply_ms = 0;  // time in the feature stores' ApplyBatch
  // Time the loop waited for the apply stage to finish a batch (the loop read
  // faster than the stores applied; with --no-pipeline, all of the apply).
  int64_t apply_wait_ms = 0;
  int64_t flushes = 0;   // store flushes (commits of state and offsets to RocksDB)
  int64_t flush_ms = 0;  // time in them
  // Scoring, for watchers on other threads (the demo): see ScoringCounters.
  std::string models;  // "risk=<v> repurchase=<v>" or "none"
  int64_t scores_published = 0;
  int64_t rescoring_passes = 0;
  int64_t model_reloads = 0;
  int32_t stores_open = 0;             // partition numbers assigned (their stores open)
  bool caught_up = false;              // every assigned partition at its end, nothing pending
  bool durable = false;                // every applied event flushed to the stores (write-back)
  std::map<std::string, int64_t> dlq;  // by reason
  ScoringCounters scoring;             // the scoring thread's
  FeatureStore::CacheStats cache;      // the open stores', summed
};

struct PipelineProgress {
  PipelineCounters counters;
  OffsetMap positions;  // next offset to read per assigned input partition (consumed, maybe not yet
                        // committed)
};

class Pipeline {
 public:
  // Over a KafkaSource joining `group_id`, dead letters through the producer.
  static absl::StatusOr<std::unique_ptr<Pipeline>> Create(const PipelineOptions& options);
  // The same pipeline over another source (tests: FakeRecordSource; null: the
  // KafkaSource) and, when `dlq` is not null, another dead-letter sink (not
  // owned; must outlive the pipeline). Scores still go through a producer on
  // options.kafka.
  static absl::StatusOr<std::unique_ptr<Pipeline>> CreateWithSource(
      const PipelineOptions& options, std::unique_ptr<RecordSource> source, DeadLetterSink* dlq);
  virtual ~Pipeline() = default;
  // Consumes until `stop` is set (finishing the current batch), the group is
  // idle (exit_when_idle_ms) or a failure persists beyond the retries.
  virtual absl::Status Run(const std::atomic<bool>& stop) = 0;
  virtual PipelineCounters counters() const = 0;
  // One JSON object with the counters (the --stats line and the summary at exit).
  virtual std::string StatsJson() const = 0;
  // One customer of the partitions assigned now (PartitionStores::Lookup):
  // NotFound when none of them holds it. Does not wait for the loop; a
  // revocation waits for the lookups in flight.
  virtual absl::StatusOr<CustomerLookup> Lookup(const CustomerKey& key,
                                                std::optional<int64_t> as_of_ms) const = 0;
};

}  // namespace recur

#endif  // RECUR_STREAMS_PIPELINE_H_
