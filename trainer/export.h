// `recur train --export DIR`: the training set exactly as trained, as CSV, so
// a notebook can reproduce the reported figures. Internal to the trainer.
//
// DIR/training_set.csv, written to a temporary file and renamed (a reader
// never sees half a file; a re-export replaces it; other files in DIR are left
// alone). Header: shop_id,customer_id,cutoff,split,label,<every catalog feature
// by name>,prediction. cutoff: the UTC day; split: train / early_stop / test
// (time split) or the fold index 0..k-1 (k-fold); prediction: the test or
// out-of-fold probability, empty for rows without one. Numbers are printed so
// that a double parser reads back exactly the float recur used (%.17g); a missing feature
// is empty; top_category_6m is the category name (the codes are per model).
#ifndef RECUR_TRAINER_EXPORT_H_
#define RECUR_TRAINER_EXPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trainer/training_set.h"

namespace recur {

// `split` and `prediction` (NaN: none) are per row of `set`. Returns the
// file's path; Unavailable when it cannot be written.
absl::StatusOr<std::string> WriteTrainingSetCsv(const std::string& dir, const TrainingSet& set,
                                                const std::vector<std::string>& split,
                                                const std::vector<float>& prediction);

}  // namespace recur

#endif  // RECUR_TRAINER_EXPORT_H_
