// ScoreStage: the scoring step of `recur run`. After a batch's state is committed
// the touched customers are scored (both models, one XGBoost call each), given
// segments, actions and reasons, published to recur.scores keyed
// "shop_id/customer_id", and — once the producer confirmed delivery — recorded
// as each customer's last score while their pending marks are cleared.
//
//   auto stage = recur::ScoreStage::Create(options, "recur.scores", producer);
//   stage->MaybeReload();                          // between batches: hot reload
//   stage->ScoreCustomers(store, touched);         // event-driven
//   stage->Rescore(store, /*force=*/false);        // day boundary / new model
//
// As-of rule (deterministic content): an event-driven score is as of the
// customer's latest event time; a re-score at day D is as of
// max(start of D, latest event time). Features have day resolution, so both
// depend only on the state and D, never on batching or the wall clock.
// Thread-safety: one thread (the pipeline's).
#ifndef RECUR_STREAMS_SCORING_H_
#define RECUR_STREAMS_SCORING_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/feature_store.h"
#include "scorer/rules.h"
#include "scorer/scorer.h"
#include "streams/producer.h"

namespace recur {

struct ScoringOptions {
  bool enabled = true;          // false: ingest only (no pending marks, no scores)
  ScorerOptions scorer;         // models_dir, targets, reasons
  std::string rules_file;       // "" -> the default rule set
  double epsilon = 0.01;        // a re-score is published when a probability moved more, a segment or a model changed
  int reload_check_ms = 1000;   // how often models/<target>/CURRENT is checked
  size_t chunk = 8192;          // customers per scoring call in a re-scoring pass
};

struct ScoringCounters {
  int64_t scored = 0;        // customers run through the models
  int64_t published = 0;     // scores delivered
  int64_t unchanged = 0;     // re-scored, within epsilon and same segments: not published
  int64_t passes = 0;        // re-scoring passes (day boundary, new model)
  int64_t reloads = 0;       // model swaps
  int64_t refused = 0;       // model files refused on reload
};

class ScoreStage {
 public:
  // Fails on a bad rules file and on a model that exists but can not be used
  // (not XGBoost, other feature schema). No model at all is not an error:
  // active() is false until one appears.
  static absl::StatusOr<std::unique_ptr<ScoreStage>> Create(const ScoringOptions& options, std::string topic,
                                                            Producer* producer);

  bool active() const { return scorer_ != nullptr; }
  std::string versions() const;  // "risk=<v> repurchase=<v>" or "none"

  // At most every reload_check_ms: re-reads CURRENT and swaps both models in
  // when it changed. True when new models are in use (the caller re-scores).
  bool MaybeReload();

  // Loads what the store remembers for scoring (quantile table, last re-scored day).
  absl::Status OpenStore(int32_t partition, FeatureStore* store);
  void CloseStore(int32_t partition);

  // Scores `keys` as of each one's latest event, publishes every score and
  // commits them (last score, pending cleared). Unknown customers are skipped.
  absl::Status ScoreCustomers(int32_t partition, FeatureStore* store, const std::vector<CustomerKey>& keys);

  // True when the store's watermark is in a later UTC day than its last pass.
  bool DayAdvanced(int32_t partition, FeatureStore* store) const;
  // Re-scores every customer of the store as of the watermark's day; publishes
  // only changed scores. Refreshes the store's quantile table first.
  absl::Status Rescore(int32_t partition, FeatureStore* store);

  const ScoringCounters& counters() const { return counters_; }

 private:
  ScoreStage() = default;
  struct StoreInfo {
    QuantileTable quantiles;
    int32_t rescored_day = 0;
  };
  // Scores rows, decides which to publish (all when `compare` is empty),
  // publishes them and commits. `compare[i]` is row i's last score (or null).
  absl::Status ScoreAndPublish(FeatureStore* store, const StoreInfo& info, std::vector<ScoreRow>& rows,
                               const std::vector<const std::string*>* compare, const std::vector<CustomerKey>& done,
                               const std::vector<std::pair<std::string, std::string>>& meta);

  ScoringOptions options_;
  std::string topic_;
  Producer* producer_ = nullptr;
  Rules rules_;
  std::unique_ptr<Scorer> scorer_;
  std::string loaded_current_;   // CURRENT contents of both targets when last loaded or refused
  int64_t last_check_ms_ = 0;
  std::map<int32_t, StoreInfo> stores_;
  ScoringCounters counters_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_SCORING_H_
