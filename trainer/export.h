// `recur train --export DIR`: the training set exactly as trained, as CSV, so
// a notebook can reproduce the reported figures. Internal to the trainer.
//
// DIR/training_set.csv, written to a temporary file and renamed (a reader
// never sees half a file; a re-export replaces it; other files in DIR are left
// alone). Header: shop_id,customer_id,cutoff,split,label,<every catalog feature
// by name>,prediction. cutoff: the UTC day; split: train / early_stop / test
// (time split) or the fold index 0..k-1 (k-fold); prediction: the test or
// out-of-fold probability, empty for rows without one. Rows: the time split's
// train, early-stopping and test rows, each in training-set order; k-fold:
// training-set order. Numbers are printed so
// that a double parser reads back exactly the float recur used (%.17g); a missing feature
// is empty; top_category_6m is the category name (the codes are per model).
#ifndef RECUR_TRAINER_EXPORT_H_
#define RECUR_TRAINER_EXPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "trainer/training_set.h"

namespace recur {

// A run of rows to write: `set`'s rows, their split (`split`, or the fold in
// `fold` when it is set) and their prediction (`prediction`, per row; null or
// NaN: none).
struct ExportRows {
  const TrainingSet* set = nullptr;
  std::string split;
  const std::vector<int>* fold = nullptr;
  const std::vector<float>* prediction = nullptr;
};

// Writes the runs in order; returns the file's path; Unavailable when it
// cannot be written.
absl::StatusOr<std::string> WriteTrainingSetCsv(const std::string& dir,
                                                const std::vector<ExportRows>& runs);

}  // namespace recur

#endif  // RECUR_TRAINER_EXPORT_H_
