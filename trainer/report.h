// report.html: a self-contained page (inline SVG, no external assets) that a
// marketer can read: the model beside its baseline, ROC curve, calibration and
// score distribution. Internal to the trainer.
#ifndef RECUR_TRAINER_REPORT_H_
#define RECUR_TRAINER_REPORT_H_

#include <string>
#include <vector>

#include "trainer/trainer.h"

namespace recur {

// `scores` and `labels`: the evaluation rows (validation cutoff or out-of-fold).
std::string RenderReport(const TrainResult& r, Target target, const std::vector<float>& scores,
                         const std::vector<float>& labels);

}  // namespace recur

#endif  // RECUR_TRAINER_REPORT_H_
