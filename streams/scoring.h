// ScoreStage: the scoring step of `recur run`. After a batch's state is committed
// the touched customers are scored (both models, one XGBoost call each), given
// segments, actions and reasons, published to recur.scores keyed
// "shop_id/customer_id", and — once the producer confirmed delivery, without
// holding up the next batch — recorded as each customer's last score while their
// pending marks are cleared.
//
//   auto stage = recur::ScoreStage::Create(options, "recur.scores", producer);
//   stage->MaybeReload();                          // between batches: hot reload
//   stage->ScoreCustomers(store, touched);         // event-driven
//   stage->Rescore(partition, store);              // day boundary / new model
//   stage->Drain(/*wait=*/false);                  // record delivered scores
//
// The decisions are the scorer's: as of which time a customer is scored, when
// a store is due for a re-scoring pass and which re-scores are published come
// from scorer/policy.h; the model registry, its hot-reload check (CURRENT
// changed) and the targets from scorer/registry.h and scorer/targets.h. This
// stage applies them to the pipeline's stores and its producer.
// Thread-safety: one thread (the pipeline's).
#ifndef RECUR_STREAMS_SCORING_H_
#define RECUR_STREAMS_SCORING_H_

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "base/histogram.h"
#include "featurestore/feature_store.h"
#include "scorer/registry.h"
#include "scorer/rules.h"
#include "scorer/scorer.h"
#include "streams/producer.h"

namespace recur {

struct ScoringOptions {
  bool enabled = true;     // false: ingest only (no pending marks, no scores)
  ScorerOptions scorer;    // models_dir, targets, reasons
  std::string rules_file;  // "" -> the default rule set
  double epsilon = 0.01;  // ShouldPublish's: a re-score is published when a probability moved more,
                          // a segment or a model changed
  int reload_check_ms = 1000;  // how often the targets' CURRENT is checked (CurrentWatch)
  size_t chunk = 8192;         // customers per scoring call in a re-scoring pass
  // A pass runs the models only for customers whose InputsKey differs from
  // their last score's (the others would get that score again: nothing to
  // publish). false: every customer through the models (`--rescore-all`).
  bool skip_unchanged = true;
  // A store whose rules need a quantile table it has not made yet holds its
  // scores for its first pass (ScoreCustomers). false: they go out at once,
  // without the quantile segments (`recur replay --score-history`).
  bool quantiles_first = true;
};

struct ScoringCounters {
  int64_t scored = 0;     // customers run through the models
  int64_t published = 0;  // scores delivered
  int64_t unchanged = 0;  // re-scored, within epsilon and same segments: not published
  int64_t same_inputs =
      0;                   // of those, not run through the models: same InputsKey as the last score
  int64_t passes = 0;      // re-scoring passes (day boundary, new model)
  int64_t reloads = 0;     // model swaps
  int64_t refused = 0;     // model files refused on reload
  int64_t score_ms = 0;    // time in features + models + rules + reasons
  int64_t deliver_ms = 0;  // time waiting for the scores' delivery and commit
  // When the models in use were loaded (Unix seconds, wall clock: for the
  // metrics only, nothing scored depends on it); 0 while none is.
  int64_t models_loaded_s = 0;
  // The probabilities of the scores sent for publication, per target (bins of
  // 0.1): the score distribution of /metrics and the status page.
  Histogram risk{Histogram::ProbabilityBounds()};
  Histogram repurchase{Histogram::ProbabilityBounds()};
  // Per target whose model has a drift reference: its features and score in
  // the population of the stores' last complete re-scoring passes (every
  // customer once, as of the same day) against the training rows. Empty until
  // a pass with the models in use completes.
  std::vector<DriftReport> drift;
  // Event-driven scores: from the oldest Kafka record timestamp of the batch
  // that touched the customer to the score's delivery (wall clock, seconds;
  // an upper bound for the batch's other events).
  Histogram event_to_score{Histogram::LatencyBounds()};
};

class ScoreStage {
 public:
  // Fails on a bad rules file and on a model that exists but can not be used
  // (not XGBoost, other feature schema). No model at all is not an error:
  // active() is false until one appears.
  static absl::StatusOr<std::unique_ptr<ScoreStage>> Create(const ScoringOptions& options,
                                                            std::string topic, Producer* producer);

  bool active() const { return scorer_ != nullptr; }
  std::string versions() const;  // "risk=<v> repurchase=<v>" or "none"

  // At most every reload_check_ms: re-reads CURRENT and swaps both models in
  // when it changed. True when new models are in use (the caller re-scores).
  bool MaybeReload();

  // Loads what the store remembers for scoring (quantile table, last re-scored day).
  absl::Status OpenStore(int32_t partition, FeatureStore* store);
  void CloseStore(int32_t partition);

  // Scores `keys` of each store as of each one's latest event (stores in
  // parallel), publishes every score; Drain records them (last score, pending
  // cleared). Unknown customers are skipped. A store whose rules need a
  // quantile table it does not have yet (no pass made one) is skipped while
  // its watermark is set (unless !quantiles_first): its customers stay
  // pending for its first pass.
  struct Work {
    int32_t partition;
    FeatureStore* store;
    std::vector<CustomerKey> keys;
    // The oldest Kafka record timestamp of the batches that touched them (-1:
    // unknown): their delivered scores are observed in counters().event_to_score.
    int64_t oldest_record_ms = -1;
  };
  absl::Status ScoreCustomers(const std::vector<Work>& work);

  // The last re-scored day of every open store: a pass is due when the
  // store's watermark is in a later day (RescoreDue, scorer/policy.h).
  std::map<int32_t, int32_t> RescoredDays() const;
  // Re-scores every customer of the store as of the watermark's day; publishes
  // only changed scores. Refreshes the store's quantile table first. Flushes
  // the store, then runs StartPass and every PassStep at once.
  absl::Status Rescore(int32_t partition, FeatureStore* store);

  // The same pass in steps, so that event-driven scoring (and the loop's
  // ingest) goes on between them. StartPass fixes the day (the watermark's)
  // and the customers pending now; the caller flushed the store first, so
  // every customer that exists then is visited (ScoreLedger::ScanPage). Each
  // PassStep handles up to options.chunk customers — first the quantile table
  // when the rules need one, then the scores — and returns true once the pass
  // is complete (recorded as the store's rescored day). While a pass runs,
  // event-driven scores are as of its day at the earliest, as its own are.
  // A reload of the models or a close of the store drops the pass.
  absl::Status StartPass(int32_t partition);
  absl::StatusOr<bool> PassStep(int32_t partition);
  std::set<int32_t> Passing() const;  // partitions with a pass started, not complete

  // Records the scores whose delivery the producer confirmed, in the order they
  // were sent; with `wait`, until none is outstanding. Call between batches,
  // and with wait=true before a store is closed.
  absl::Status Drain(bool wait);

  const ScoringCounters& counters() const { return counters_; }
  bool idle() const { return inflight_.empty(); }

 private:
  ScoreStage() = default;
  struct Pass {
    int32_t day = 0;
    std::string cursor;           // ScanPage's: the last customer handled
    bool quantiles_done = false;  // the first scan made the table (or none is needed)
    QuantileTable table;
    std::set<CustomerKey> pending;  // when the pass started
    // Touched while the store had no quantile table yet (ScoreCustomers held
    // their scores): scored once the pass made it.
    std::set<CustomerKey> held;
    int64_t customers = 0, steps = 0, published = 0, same_inputs = 0;
    bool final_sent = false;  // the last step's scores (with the pass's meta) are out
    std::chrono::steady_clock::time_point started;
    ScoreDrift drift;  // the rows scored so far, in the models' drift bins
  };
  struct StoreInfo {
    QuantileTable quantiles;
    // The rules need no quantile, or the table above was made by a pass (now
    // or before a restart). Without it a rule on a quantile is false for
    // every customer, so the store's scores wait (ScoreCustomers).
    bool quantiles_ready = false;
    int32_t rescored_day = 0;
    FeatureStore* store = nullptr;
    std::unique_ptr<Pass> pass;       // a pass in progress (StartPass)
    std::optional<ScoreDrift> drift;  // of the last complete pass with the models in use
  };
  void UpdateDrift();  // counters_.drift from every store's last pass
  // No event-driven score is as of a day before this (EventScoreAsOf).
  static int32_t FloorDay(const StoreInfo& info);
  // Once the last step's scores are sent: waits for them, records the day, ends the pass.
  absl::StatusOr<bool> FinishPass(int32_t partition, StoreInfo& info);
  // The digest a score of `row` is recorded with (v1::CustomerScore's
  // inputs_key): Scorer::InputsKey, 0 when the models' splits are not known.
  uint64_t InputsKey(const ScoreRow& row) const;
  // True when a pass could not publish a re-score of `row`: `last` (its last
  // score) was recorded with the models in use
  // and the same InputsKey, so the models would return exactly its
  // probabilities, and ShouldPublish, given those with the segments of the
  // row's features under the store's quantiles, says no.
  bool SameInputs(const ScoreRow& row, const StoreInfo& info, const v1::CustomerScore& last) const;
  // Moves the rows whose last score (lasts[i], when there is one) has
  // SameInputs out of `rows` (and `lasts`) into `same_rows`, with
  // that score into `same_scores`: a pass could not publish them, so it does
  // not score them; they still count in its drift. Nothing moves with
  // !options_.skip_unchanged.
  void SetAsideSameInputs(const StoreInfo& info, std::vector<ScoreRow>& rows,
                          std::vector<std::optional<v1::CustomerScore>>& lasts,
                          std::vector<ScoreRow>* same_rows,
                          std::vector<v1::CustomerScore>* same_scores) const;
  // Scores sent and not yet recorded: committed to their store in this order
  // once all of a group's deliveries are confirmed.
  struct InFlight {
    FeatureStore* store = nullptr;  // null: its store was closed; nothing is recorded
    // Each score's bytes as the store records them: the published message
    // (its first topic_size[i] bytes) followed by its inputs_key field.
    std::vector<std::pair<CustomerKey, std::string>> published;
    std::vector<size_t> topic_size;
    std::vector<CustomerKey> done;
    std::vector<std::pair<std::string, std::string>> meta;
    uint64_t scored_at = 0;         // store->applied_batches() when scored (ScoreLedger::Commit)
    int64_t oldest_record_ms = -1;  // Work::oldest_record_ms of event-driven scores
    DeliveryGroup group;
  };
  static constexpr size_t kMaxInFlight = 32;
  // Scores rows and builds the scores to publish: all of them when `compare`
  // is null (event-driven), else those ShouldPublish (scorer/policy.h) picks
  // against `compare[i]`, row i's last score (null: none or unreadable). Thread-safe: const,
  // counts into `counters`.
  absl::StatusOr<std::unique_ptr<InFlight>> Prepare(
      FeatureStore* store, const StoreInfo& info, std::vector<ScoreRow>& rows,
      const std::vector<const v1::CustomerScore*>* compare, const std::vector<CustomerKey>& done,
      const std::vector<std::pair<std::string, std::string>>& meta, uint64_t scored_at,
      ScoringCounters* counters, ScoreDrift* drift = nullptr) const;
  // Sends a prepared group and queues it for Drain.
  absl::Status Publish(std::unique_ptr<InFlight> flight);
  // Prepare, then Publish.
  absl::Status ScoreAndPublish(FeatureStore* store, const StoreInfo& info,
                               std::vector<ScoreRow>& rows,
                               const std::vector<const v1::CustomerScore*>* compare,
                               const std::vector<CustomerKey>& done,
                               const std::vector<std::pair<std::string, std::string>>& meta,
                               uint64_t scored_at, ScoreDrift* drift = nullptr);

  ScoringOptions options_;
  std::deque<std::unique_ptr<InFlight>> inflight_;
  std::string topic_;
  Producer* producer_ = nullptr;
  Rules rules_;
  const std::string schema_ = SchemaHash();  // this build's, as scores carry it
  std::unique_ptr<Scorer> scorer_;
  std::unique_ptr<CurrentWatch> watch_;  // both targets' CURRENT since last loaded or refused
  int64_t last_check_ms_ = 0;
  std::map<int32_t, StoreInfo> stores_;
  ScoringCounters counters_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_SCORING_H_
