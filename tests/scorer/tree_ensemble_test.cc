// recur's own tree evaluator against XGBoost's predictor: margins,
// probabilities and approximate contributions bit for bit, on 100,000 rows
// with NaNs, every split threshold's neighbours, unseen and invalid categories,
// for the models the trainer writes (its parameters, categorical features,
// early-stopping slices) and variants of its parameters a user may set; and
// the models it must leave to XGBoost.
#include "scorer/tree_ensemble.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "featurestore/catalog.h"
#include "scorer/model.h"
#include "scorer/registry.h"
#include "trainer/split.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

// Training rows like the trainer's: numbers with NaNs, service_tier 0/1,
// top_category_6m codes 0..29; the label depends on several of them.
void TrainingRows(size_t n, std::vector<float>* x, std::vector<float>* y) {
  std::mt19937_64 rng(11);
  std::uniform_real_distribution<float> u(0, 100);
  x->assign(n * kNumFeatures, 0);
  y->assign(n, 0);
  for (size_t r = 0; r < n; ++r) {
    float* row = &(*x)[r * kNumFeatures];
    for (int f = 0; f < kNumFeatures; ++f) row[f] = rng() % 8 == 0 ? NAN : u(rng);
    row[kServiceTier] = rng() % 5 == 0 ? NAN : static_cast<float>(rng() % 2);
    row[kTopCategory6m] = rng() % 6 == 0 ? NAN : static_cast<float>(rng() % 30);
    const float score = (std::isnan(row[0]) ? 50 : row[0]) + (row[kServiceTier] == 1 ? 30 : 0) +
                        (static_cast<int>(row[kTopCategory6m]) % 3 == 0 ? 25 : 0) +
                        (std::isnan(row[3]) ? 0 : row[3] / 2) + u(rng) / 2;
    (*y)[r] = score > 90 ? 1.0f : 0.0f;
  }
}

// Trains with the trainer's parameters plus `overrides`, keeps `keep` rounds
// (0: all, else a slice, as early stopping writes), saves a registry version.
fs::path Train(const fs::path& dir, const std::map<std::string, std::string>& overrides, int rounds,
               int keep = 0) {
  std::vector<float> x, y;
  TrainingRows(4000, &x, &y);
  auto m = XgbMatrix::FromRows(x.data(), y.size(), kNumFeatures, &y);
  EXPECT_TRUE(m.ok());
  EXPECT_TRUE(m->SetFeatureTypes(FeatureTypes()).ok());
  TrainOptions o;
  o.params = overrides;
  o.params["nthread"] = "1";
  auto b = XgbBooster::Create({m->handle()}, Params(o));
  EXPECT_TRUE(b.ok()) << b.status();
  for (int i = 0; i < rounds; ++i) EXPECT_TRUE(b->UpdateOneIter(i, *m).ok());
  if (keep > 0) {
    auto sliced = b->Slice(keep);
    EXPECT_TRUE(sliced.ok()) << sliced.status();
    *b = std::move(*sliced);
  }
  fs::create_directories(dir);
  EXPECT_TRUE(b->Save(ModelRegistry::ModelPath(dir).string()).ok());
  std::ofstream(ModelRegistry::MetaPath(dir))
      << R"({"version": "v", "schema_hash": ")" << SchemaHash() << R"("})";
  return dir;
}

// Rows to compare on: each value from NaN, a split threshold of that feature or
// the float just below or above it, a random number, a huge one, a negative,
// an unseen category code (1000) or a fractional one.
std::vector<float> CompareRows(const TreeEnsemble& e, size_t n) {
  const auto t = e.Thresholds();
  std::mt19937_64 rng(5);
  std::vector<float> x(n * kNumFeatures);
  for (size_t r = 0; r < n; ++r) {
    for (int f = 0; f < kNumFeatures; ++f) {
      const uint64_t pick = rng() % 12;
      float v = static_cast<float>(rng() % 100000) / 997.0f;
      if (pick < 6 && !t[f].empty()) {
        v = t[f][rng() % t[f].size()];
        if (pick == 1) v = std::nextafter(v, -INFINITY);
        if (pick == 2) v = std::nextafter(v, INFINITY);
      }
      if (pick == 6) v = NAN;
      if (pick == 7) v = rng() % 2 ? 3e38f : -3e38f;  // XGBoost refuses infinities
      if (pick == 8) v = -static_cast<float>(rng() % 5) - 0.5f;
      if (pick == 9) v = 1000.0f;
      if (pick == 10) v = static_cast<float>(rng() % 40) + 0.5f;
      x[r * kNumFeatures + f] = v;
    }
  }
  return x;
}

void ExpectSameBits(const std::vector<float>& own, const std::vector<float>& xgb,
                    const std::string& what) {
  ASSERT_EQ(own.size(), xgb.size()) << what;
  size_t differ = 0, first = own.size();
  for (size_t i = 0; i < own.size(); ++i) {
    if (std::memcmp(&own[i], &xgb[i], sizeof(float)) != 0) {
      if (differ++ == 0) first = i;
    }
  }
  EXPECT_EQ(differ, 0u) << what << ": " << differ << " values differ; first at " << first << ": "
                        << (first < own.size() ? own[first] : 0) << " vs "
                        << (first < own.size() ? xgb[first] : 0);
}

class TreeEnsembleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("tree_ensemble_test_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Loads `version` twice (own evaluator; XGBoost only) and compares them.
  void ExpectIdentical(const fs::path& version, size_t rows) {
    auto own = Model::Load(version.string());
    ASSERT_TRUE(own.ok()) << own.status();
    ASSERT_EQ((*own)->evaluator(), "own");
    auto xgb = Model::Load(version.string());
    ASSERT_TRUE(xgb.ok());
    (*xgb)->UseXgboostOnly();
    std::ifstream in(ModelRegistry::ModelPath(version));
    const std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    auto e = TreeEnsemble::FromJson(json, kNumFeatures);
    ASSERT_TRUE(e.ok()) << e.status();
    const std::vector<float> x = CompareRows(*e, rows);
    auto margins = (*own)->Margins(x), xgb_margins = (*xgb)->Margins(x);
    auto probs = (*own)->Score(x), xgb_probs = (*xgb)->Score(x);
    auto contribs = (*own)->Contributions(x, true), xgb_contribs = (*xgb)->Contributions(x, true);
    for (const auto* r : {&margins, &xgb_margins, &probs, &xgb_probs, &contribs, &xgb_contribs})
      ASSERT_TRUE(r->ok()) << r->status();
    ExpectSameBits(*margins, *xgb_margins, "margins");
    ExpectSameBits(*probs, *xgb_probs, "probabilities");
    ExpectSameBits(*contribs, *xgb_contribs, "approximate contributions");
    // The comparison is not vacuous: the rows reach many different leaves.
    std::set<float> distinct(margins->begin(), margins->end());
    EXPECT_GT(distinct.size(), rows / 10);
  }
  fs::path dir_;
};

TEST_F(TreeEnsembleTest, TheTrainersModelBitForBitOn100000Rows) {
  ExpectIdentical(Train(dir_ / "default", {}, 120), 100'000);
}

TEST_F(TreeEnsembleTest, AnEarlyStoppingSliceBitForBit) {
  ExpectIdentical(Train(dir_ / "sliced", {}, 60, 37), 20'000);
}

TEST_F(TreeEnsembleTest, ParameterVariantsBitForBit) {
  // Deep trees, partition-based categorical splits, few bins, leaf-wise
  // growth, the approx method, another base score, L1/L2 and a step limit.
  const std::vector<std::map<std::string, std::string>> variants = {
      {{"max_depth", "12"}, {"min_child_weight", "1"}},
      {{"max_cat_to_onehot", "1"}, {"max_depth", "4"}},
      {{"max_cat_to_onehot", "64"}},
      {{"max_bin", "8"}},
      {{"grow_policy", "lossguide"}, {"max_leaves", "31"}, {"max_depth", "0"}},
      {{"tree_method", "approx"}},
      {{"base_score", "0.3"}, {"alpha", "1"}, {"lambda", "3"}, {"max_delta_step", "1"}},
      {{"subsample", "1"}, {"colsample_bytree", "1"}, {"colsample_bylevel", "0.5"}},
  };
  for (size_t i = 0; i < variants.size(); ++i) {
    SCOPED_TRACE("variant " + std::to_string(i));
    ExpectIdentical(Train(dir_ / ("v" + std::to_string(i)), variants[i], 40), 20'000);
  }
}

TEST_F(TreeEnsembleTest, ModelsItDoesNotEvaluateStayOnXgboost) {
  for (const auto& [name, params] :
       std::vector<std::pair<std::string, std::map<std::string, std::string>>>{
           {"dart", {{"booster", "dart"}, {"rate_drop", "0.1"}}},
           {"squared error", {{"objective", "reg:squarederror"}}}}) {
    SCOPED_TRACE(name);
    const fs::path v = Train(dir_ / name, params, 10);
    auto m = Model::Load(v.string());
    ASSERT_TRUE(m.ok()) << m.status();
    EXPECT_NE((*m)->evaluator().find("xgboost ("), std::string::npos) << (*m)->evaluator();
    std::vector<float> row(kNumFeatures, 1.0f);
    EXPECT_TRUE((*m)->Score(row).ok());
  }
  EXPECT_EQ(TreeEnsemble::FromJson("not json", kNumFeatures).status().code(),
            absl::StatusCode::kUnimplemented);
  EXPECT_EQ(TreeEnsemble::FromJson(R"({"learner": {}})", kNumFeatures).status().code(),
            absl::StatusCode::kUnimplemented);
}

TEST(TreeEnsembleByHand, OneStumpsMarginProbabilityAndContributions) {
  // One tree: feature 2 < 5 -> leaf -1 (hessian 1), else leaf 3 (hessian 3);
  // NaN goes right. Base score 0.5: base margin 0.
  const std::string json = R"({"learner": {
    "objective": {"name": "binary:logistic"},
    "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": ")" +
                           std::to_string(kNumFeatures) + R"(", "num_target": "1"},
    "gradient_booster": {"name": "gbtree", "model": {"tree_info": [0], "trees": [{
      "left_children": [1, -1, -1], "right_children": [2, -1, -1],
      "split_indices": [2, 0, 0], "split_conditions": [5.0, -1.0, 3.0],
      "default_left": [0, 0, 0], "sum_hessian": [4.0, 1.0, 3.0], "split_type": [0, 0, 0],
      "categories": [], "categories_nodes": [], "categories_segments": [], "categories_sizes": []
    }]}}}})";
  auto e = TreeEnsemble::FromJson(json, kNumFeatures);
  ASSERT_TRUE(e.ok()) << e.status();
  // Two rows: feature 2 = 4 (left), then NaN (right, the default).
  std::vector<float> rows(2 * kNumFeatures, 0.0f), m(2), c(2 * (kNumFeatures + 1));
  rows[2] = 4.0f;
  rows[kNumFeatures + 2] = NAN;
  e->Margins(rows.data(), 2, m.data());
  EXPECT_EQ(m[0], -1.0f);
  EXPECT_EQ(m[1], 3.0f);
  // Root mean (-1*1 + 3*3)/4 = 2: bias 2, feature 2: -1 - 2 = -3 and 3 - 2 = 1.
  e->Contributions(rows.data(), 2, c.data());
  EXPECT_EQ(c[kNumFeatures], 2.0f);
  EXPECT_EQ(c[2], -3.0f);
  EXPECT_EQ(c[kNumFeatures + 1 + kNumFeatures], 2.0f);
  EXPECT_EQ(c[kNumFeatures + 1 + 2], 1.0f);
  EXPECT_FLOAT_EQ(TreeEnsemble::Probability(0.0f), 0.5f);
  EXPECT_NEAR(TreeEnsemble::Probability(3.0f), 1 / (1 + std::exp(-3.0)), 1e-7);
}

}  // namespace
}  // namespace recur
