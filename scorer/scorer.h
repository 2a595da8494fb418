// Scorer: both models over a batch of customers -> recur.v1.CustomerScore, with
// the top contributions behind the risk score as reasons.
//
//   auto s = recur::Scorer::Create({.models_dir = "models"});
//   if (!s.ok()) { /* NotFound: no model yet — ingest only, say so */ }
//   auto scores = (*s)->Score(rows);               // probabilities, versions, as_of
//   (*s)->AddReasons(rows_to_publish, scores_to_publish);   // top contributions
//
// Reasons cost ~6x a prediction (approximate) or ~500x (exact TreeSHAP), so they
// are a separate step for the scores actually published (docs/DESIGN.md "Scores").
// Thread-safety: Score is const and may run concurrently.
#ifndef RECUR_SCORER_SCORER_H_
#define RECUR_SCORER_SCORER_H_

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/catalog.h"
#include "featurestore/types.h"
#include "proto/recur.pb.h"
#include "scorer/drift.h"
#include "scorer/model.h"
#include "scorer/targets.h"

namespace recur {

struct ScorerOptions {
  std::string models_dir = "models";
  // Registry folders of the two models (scorer/targets.h; tests point them elsewhere).
  std::string risk_target = TargetName(Target::kActivityDecline90d);
  std::string repurchase_target = TargetName(Target::kRepurchase30d);
  int reasons = 3;
  bool exact_reasons = false;  // TreeSHAP (~400 rows/s) instead of approximate contributions
  // Predictions and approximate reasons on XGBoost even where recur's own
  // evaluator (bit-identical, faster; scorer/tree_ensemble.h) applies.
  bool xgboost_only = false;
};

// One customer to score: its features as of `as_of_ms` (event time).
struct ScoreRow {
  CustomerKey key;
  Features features;
  int64_t as_of_ms = 0;
};

class Scorer {
 public:
  // NotFound when a target has no CURRENT model; FailedPrecondition /
  // InvalidArgument for a model of another schema or not a model.
  static absl::StatusOr<std::unique_ptr<Scorer>> Create(const ScorerOptions& options);

  // Both models over all rows in one batch each: scores without reasons.
  absl::StatusOr<std::vector<v1::CustomerScore>> Score(const std::vector<ScoreRow>& rows) const;
  // Fills reasons and reasons_method of scores[i] (computed from rows[i]).
  absl::Status AddReasons(const std::vector<const ScoreRow*>& rows,
                          const std::vector<v1::CustomerScore*>& scores) const;
  // A digest of what the two models read of `f` (Model::MixSplitSides of each,
  // with its own vocabulary): features with equal keys get bit-identical
  // probabilities and contributions (reasons) from these models. nullopt when
  // a model's splits are not known.
  std::optional<uint64_t> InputsKey(const Features& f) const;
  // Which evaluator each model runs on (Model::evaluator).
  std::string evaluators() const;
  const std::string& risk_version() const { return risk_->version(); }
  const Model& risk() const { return *risk_; }
  const Model& repurchase() const { return *repurchase_; }
  const std::string& repurchase_version() const { return repurchase_->version(); }

 private:
  Scorer() = default;
  ScorerOptions options_;
  std::unique_ptr<Model> risk_, repurchase_;
};

// Scored rows counted in both models' drift bins (scorer/drift.h): the one
// place a re-scoring pass (streams/scoring.h) and `recur inspect --drift`
// (ops/drift_report.h) tally their populations. Points into the scorer's
// models: valid while that Scorer lives. A model without a reference counts
// nothing and reports nothing.
class ScoreDrift {
 public:
  ScoreDrift() = default;
  explicit ScoreDrift(const Scorer& scorer);

  // `scores`: Scorer::Score's for `rows`, same order. Each row is counted as
  // its model sees it (FeatureRow with that model's vocabulary).
  void Add(const std::vector<ScoreRow>& rows, const std::vector<v1::CustomerScore>& scores);
  void Merge(const ScoreDrift& other);  // of the same scorer
  // One report per model with a reference (risk, then repurchase).
  std::vector<DriftReport> Reports() const;

 private:
  const Scorer* scorer_ = nullptr;
  DriftTally risk_, repurchase_;
};

}  // namespace recur

#endif  // RECUR_SCORER_SCORER_H_
