// Scorer: both models over a batch of customers -> recur.v1.CustomerScore, with
// the top contributions behind the risk score as reasons.
//
//   auto s = recur::Scorer::Create({.models_dir = "models"});
//   if (!s.ok()) { /* NotFound: no model yet — ingest only, say so */ }
//   auto scores = (*s)->Score(batch, as_of_ms);   // batch: (key, Features) pairs
//
// Reasons are computed for every row given (callers pass only the scores they
// publish, see docs/DESIGN.md "Scores" on the cost of contributions).
// Thread-safety: Score is const and may run concurrently.
#ifndef RECUR_SCORER_SCORER_H_
#define RECUR_SCORER_SCORER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/catalog.h"
#include "featurestore/types.h"
#include "proto/recur.pb.h"
#include "scorer/model.h"

namespace recur {

struct ScorerOptions {
  std::string models_dir = "models";
  std::string risk_target = "activity_decline_90d";
  std::string repurchase_target = "repurchase_30d";
  int reasons = 3;
  bool exact_reasons = false;  // TreeSHAP (~400 rows/s) instead of approximate contributions
};

class Scorer {
 public:
  // NotFound when a target has no CURRENT model; FailedPrecondition /
  // InvalidArgument for a model of another schema or not a model.
  static absl::StatusOr<std::unique_ptr<Scorer>> Create(const ScorerOptions& options);

  absl::StatusOr<std::vector<v1::CustomerScore>> Score(const std::vector<std::pair<CustomerKey, Features>>& batch,
                                                       int64_t as_of_ms) const;
  const std::string& risk_version() const { return risk_->version(); }
  const std::string& repurchase_version() const { return repurchase_->version(); }

 private:
  Scorer() = default;
  ScorerOptions options_;
  std::unique_ptr<Model> risk_, repurchase_;
};

}  // namespace recur

#endif  // RECUR_SCORER_SCORER_H_
