// report.html: a self-contained page (inline SVG, no external assets) that a
// marketer can read: the model beside its baseline, overall and per shop, ROC
// and precision-recall curves (with the baseline's), calibration, score
// distribution and feature importance, each with named axes; and whether the
// model was promoted, and why. Internal to the trainer.
#ifndef RECUR_TRAINER_REPORT_H_
#define RECUR_TRAINER_REPORT_H_

#include <string>
#include <vector>

#include "trainer/trainer.h"

namespace recur {

// The features with a non-zero importance, largest first, ties in catalog order.
std::vector<int> ImportanceOrder(const std::vector<float>& importance);

// `scores`, `baseline` (the baseline rule's scores) and `labels`: the
// evaluation rows (validation cutoff or out-of-fold), in the same order.
std::string RenderReport(const TrainResult& r, Target target, const std::vector<float>& scores,
                         const std::vector<float>& baseline, const std::vector<float>& labels);

}  // namespace recur

#endif  // RECUR_TRAINER_REPORT_H_
