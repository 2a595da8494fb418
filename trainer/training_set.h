// Point-in-time training sets: for every cutoff T and every customer in the
// population at T, the catalog's features as of T (CustomerState::ComputeFeatures,
// the pipeline's own code) and the label from the days after T.
//
//   auto set = recur::BuildTrainingSet(*state_dir, cutoffs, label_options);
//   // set->x is row-major rows x kNumFeatures, NaN = missing
#ifndef RECUR_TRAINER_TRAINING_SET_H_
#define RECUR_TRAINER_TRAINING_SET_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/state_dir.h"
#include "scorer/model.h"
#include "trainer/business_labels.h"
#include "trainer/labels.h"

namespace recur {

struct TrainingSet {
  std::vector<float> x;  // rows x kNumFeatures
  std::vector<float> y;
  std::vector<int64_t> cutoff_ms;
  std::vector<std::string> shop_id;
  std::vector<std::string> customer_id;  // with shop_id, the row's customer (for --export)
  std::vector<std::string>
      top_category;            // top_category_6m names; the slot in x is NaN until EncodeCategories
  int64_t customers_read = 0;  // customers scanned to build it
  size_t rows() const { return y.size(); }
};

// Moves the rows for which keep_out(row) is true into the returned set; the
// others stay in `set`, in order, compacted in place (no second copy of x).
TrainingSet ExtractRows(TrainingSet* set, const std::function<bool(size_t)>& keep_out);

// Writes each row's top_category_6m code into its slot of x: the value
// FeatureRow(features, row, &vocab) gives the scorer for the same name.
void EncodeCategories(TrainingSet* set, const CategoryVocab& vocab);

// Progress callback: (customers read, customers in the store: RocksDB's
// estimate), called every 1,000 customers.
using Progress = std::function<void(int64_t, int64_t)>;

absl::StatusOr<TrainingSet> BuildTrainingSet(StateDir& dir, const std::vector<int64_t>& cutoffs,
                                             const LabelOptions& labels,
                                             const Progress& progress = nullptr);

// A training set for labels given by the business: one row per label row whose
// customer the store knows, features as of the row's as_of, rows in store order
// (partition, key; a customer's rows by as_of, then line). `missing_lines`
// receives the lines of label rows whose customer is not in the store.
absl::StatusOr<TrainingSet> BuildLabelledSet(StateDir& dir, const std::vector<LabelRow>& labels,
                                             std::vector<int>* missing_lines,
                                             const Progress& progress = nullptr);

// The data range of a state dir: [first day inside every store's horizon, last day seen].
// Every customer's history is read from first_day on, whether or not its store
// has pruned the older days yet: a store prunes a customer only when it rewrites
// it, at the horizon of that moment, always before first_day (the horizon only
// moves forward, and a training horizon is never longer than the stores'
// retention: featurestore/retention.h). So the population and its features do
// not depend on when pruning happened (issue 16, item 2).
struct DataRange {
  int32_t first_day = 0;
  int32_t last_day = 0;
  int32_t retention_days = 0;  // the horizon's length (the stores' retention or a shorter view)
};
DataRange RangeOf(StateDir& dir);
// Why the history starts at first_day, for messages: "history from 2025-01-01: the
// stores keep 400 days (their retention, --retention-days ...)".
std::string HistoryNote(const DataRange& range);

}  // namespace recur

#endif  // RECUR_TRAINER_TRAINING_SET_H_
