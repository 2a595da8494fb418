// TreeEnsemble: recur's own evaluator of an XGBoost binary:logistic tree model,
// read from the JSON XGBoost saves. Margins, probabilities and approximate
// contributions (Saabas: each split's change of the node mean, as XGBoost's
// pred_contribs with approx_contribs) are bit-identical to XGBoost 1.7's own:
// the same float operations in the same order, on flattened nodes, without
// XGBoost's per-call DMatrix and its per-tree zeroing of a whole contribution
// row (docs/DESIGN.md "Own tree evaluator"; BENCHMARKS for what it saves).
//
//   auto e = recur::TreeEnsemble::FromJson(json, kNumFeatures);
//   if (!e.ok()) { /* Unimplemented: not a model it evaluates; use XGBoost */ }
//   std::vector<float> m(n);
//   e->Margins(rows, n, m.data());              // rows: n x kNumFeatures, row-major
//   float p = TreeEnsemble::Probability(m[0]);
//   std::vector<float> c(n * (kNumFeatures + 1));
//   e->Contributions(rows, n, c.data());        // per row: sums to the margin; last: bias
//
// What it refuses (Unimplemented, so the caller keeps XGBoost): another
// objective or booster (dart), several outputs, a model without its node
// statistics. Model::Load also checks it against XGBoost on probe rows before
// using it (scorer/model.h). Rows: num_features floats, NaN is missing;
// categorical features hold category codes. Thread-safety: const after FromJson.
#ifndef RECUR_SCORER_TREE_ENSEMBLE_H_
#define RECUR_SCORER_TREE_ENSEMBLE_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace recur {

class TreeEnsemble {
 public:
  static absl::StatusOr<TreeEnsemble> FromJson(std::string_view model_json, int num_features);

  // Per row the raw score: the base margin plus every tree's leaf, in tree order.
  void Margins(const float* rows, size_t n, float* out) const;
  // XGBoost's logistic transform of a margin (common::Sigmoid).
  static float Probability(float margin);
  // Per row num_features + 1 values into out (the last is the bias).
  void Contributions(const float* rows, size_t n, float* out) const;

  int num_features() const { return num_features_; }
  size_t num_trees() const { return roots_.size(); }
  // Every split threshold of every tree, by feature: probe rows for the
  // load-time check (Model::Load) sit on and around them.
  std::vector<std::vector<float>> Thresholds() const;

 private:
  struct Node {
    int32_t left = -1;  // -1: a leaf
    int32_t right = -1;
    int32_t feature = 0;
    float value = 0;  // split condition, or the leaf's value
    bool default_left = false;
    bool categorical = false;
    uint32_t cat_begin = 0;  // into cat_words_
    uint32_t cat_size = 0;   // words
  };
  int32_t Next(const Node& n, float v) const;
  // means_ of the tree at nodes_[root...] from its nodes' hessian sums.
  void FillMeans(uint32_t root, const std::vector<float>& hessian);

  int num_features_ = 0;
  float base_margin_ = 0;
  int max_depth_ = 0;
  std::vector<Node> nodes_;      // all trees, each tree's nodes from its root
  std::vector<float> means_;     // per node: XGBoost's FillNodeMeanValues
  std::vector<uint32_t> roots_;  // index of each tree's root in nodes_
  std::vector<uint32_t> cat_words_;
};

}  // namespace recur

#endif  // RECUR_SCORER_TREE_ENSEMBLE_H_
