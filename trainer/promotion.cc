#include "trainer/promotion.h"

#include <cmath>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "featurestore/catalog.h"
#include "scorer/model.h"
#include "trainer/metrics.h"

namespace recur {

std::string WhyUnjudgeable(const BinaryMetrics& m, const std::string& what) {
  if (m.rows == 0) return absl::StrCat(what, " has no rows");
  // One class: no pair to rank, so no ROC-AUC (and the CI snapshot that had
  // too few events looked exactly like this).
  if (m.base_rate == 0) return absl::StrCat(what, " has one class (all 0), so no ROC-AUC");
  if (m.base_rate == 1) return absl::StrCat(what, " has one class (all 1), so no ROC-AUC");
  if (std::isnan(m.roc_auc)) return absl::StrCat(what, " ROC-AUC is NaN");
  return "";
}

absl::Status Gate(const ModelRegistry& registry, const std::string& target, const TrainingSet& eval,
                  const TrainOptions& o, TrainResult* r) {
  auto current = registry.Current(target);
  const std::string current_version = current.ok() ? *current : std::string();
  r->promoted = true;
  if (!current_version.empty() && current_version == r->version) {
    // The same model bytes (the version is their hash): nothing to promote.
    r->promotion_note = absl::StrCat("identical to CURRENT ", current_version,
                                     " (same data, options and seed): already CURRENT");
    return absl::OkStatus();
  }
  const std::string unjudgeable =
      WhyUnjudgeable(r->model, r->split == "time" ? "test set" : "out-of-fold evaluation");
  if (!unjudgeable.empty()) {
    r->promoted = o.force;
    r->promotion_note =
        o.force
            ? absl::StrCat(unjudgeable, " but --force: PROMOTED ANYWAY")
            : absl::StrCat(unjudgeable, ": not promoted",
                           current_version.empty() ? "" : ", CURRENT " + current_version + " kept",
                           "; --force to promote anyway");
    return absl::OkStatus();
  }
  if (current_version.empty()) {
    r->promotion_note = "no CURRENT model yet: promoted";
    return absl::OkStatus();
  }
  auto old = registry.Load(target, current_version);
  if (!old.ok()) {
    r->promotion_note = absl::StrCat("CURRENT ", current_version, " unusable (",
                                     old.status().message(), "): promoted");
    return absl::OkStatus();
  }
  // The same rows, with category names in CURRENT's own codes.
  std::vector<float> old_rows = eval.x;
  for (size_t i = 0; i < eval.rows(); ++i) {
    old_rows[i * kNumFeatures + kTopCategory6m] = (*old)->vocab().Code(eval.top_category[i]);
  }
  auto old_scores = (*old)->Score(old_rows);
  if (!old_scores.ok()) return old_scores.status();
  const BinaryMetrics om = Evaluate(*old_scores, eval.y, o.threshold);
  if (r->model.roc_auc + 1e-9 >= om.roc_auc) {
    r->promotion_note =
        absl::StrFormat("ROC-AUC %.4f >= CURRENT %s's %.4f on the same test rows: promoted",
                        r->model.roc_auc, current_version, om.roc_auc);
  } else if (o.force) {
    r->promotion_note =
        absl::StrFormat("WORSE than CURRENT %s (ROC-AUC %.4f < %.4f) but --force: PROMOTED ANYWAY",
                        current_version, r->model.roc_auc, om.roc_auc);
  } else {
    r->promoted = false;
    r->promotion_note =
        absl::StrFormat("worse than CURRENT %s (ROC-AUC %.4f < %.4f): not promoted, CURRENT kept",
                        current_version, r->model.roc_auc, om.roc_auc);
  }
  return absl::OkStatus();
}

}  // namespace recur
