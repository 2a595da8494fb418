// Drift measured offline (`recur inspect --drift`): every customer of a state
// dir (or snapshot) in the population, as a day-boundary re-scoring pass would
// score it (as of the start of its store's watermark day, or its latest event
// if later), run through the current models and counted in their drift bins
// (ScoreDrift, scorer/scorer.h). The same figures as `recur run`'s
// recur_feature_psi after its pass of that day: the rows are chosen by this
// file's own scan, the counting is the pass's.
//
//   auto reports = recur::MeasureDrift(*state_dir, {.models_dir = "models"});
//   for (const recur::DriftReport& r : *reports) ... r.feature_psi[kTenureDays] ...
#ifndef RECUR_OPS_DRIFT_REPORT_H_
#define RECUR_OPS_DRIFT_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/state_dir.h"
#include "scorer/drift.h"
#include "scorer/scorer.h"

namespace recur {

// One report per model with a drift reference (FailedPrecondition when
// neither has one: trained before issue 17); NotFound without models.
absl::StatusOr<std::vector<DriftReport>> MeasureDrift(StateDir& dir, const ScorerOptions& models);

// The text table: a line per feature (PSI and "stable", "moved", "shifted"),
// then the score.
std::string DriftText(const std::vector<DriftReport>& reports, double threshold);
// [{"target", "version", "customers", "features": {name: psi}, "score_psi"}]
std::string DriftJson(const std::vector<DriftReport>& reports);

}  // namespace recur

#endif  // RECUR_OPS_DRIFT_REPORT_H_
