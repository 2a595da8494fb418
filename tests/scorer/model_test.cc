// Scorer models: parity with XGBoost's own plain prediction path, contributions
// that sum to the margin, and refusal of a model of another schema or a file
// that is not an XGBoost model.
#include "scorer/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <random>
#include <set>

#include "absl/base/casts.h"
#include "scorer/scorer.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

std::vector<float> RandomRows(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> u(0, 100);
  std::vector<float> x(n * kNumFeatures);
  for (float& v : x) v = (rng() % 5 == 0) ? NAN : u(rng);  // 20% missing
  return x;
}

class ModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("recur-model-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    fs::create_directories(*dir_ / "risk" / "v1");
    // 300 trees of depth 6 on a synthetic problem, as the scorer will run them.
    std::vector<float> x = RandomRows(4000, 1), y;
    for (size_t r = 0; r < 4000; ++r) {
      const float a = x[r * kNumFeatures + 3], b = x[r * kNumFeatures + 17];
      y.push_back((std::isnan(a) ? 50 : a) + (std::isnan(b) ? 20 : b) > 100 ? 1.0f : 0.0f);
    }
    auto m = XgbMatrix::FromRows(x.data(), 4000, kNumFeatures, &y);
    ASSERT_TRUE(m.ok());
    auto b = XgbBooster::Create({m->handle()}, {{"objective", "binary:logistic"},
                                                {"max_depth", "6"},
                                                {"eta", "0.1"},
                                                {"nthread", "1"},
                                                {"seed", "3"}});
    ASSERT_TRUE(b.ok());
    for (int i = 0; i < 300; ++i) ASSERT_TRUE(b->UpdateOneIter(i, *m).ok());
    ASSERT_TRUE(b->Save((*dir_ / "risk" / "v1" / "model.json").string()).ok());
    std::ofstream(*dir_ / "risk" / "v1" / "meta.json")
        << "{\"version\": \"v1\", \"schema_hash\": \"" << SchemaHash() << "\"}";
    std::ofstream(*dir_ / "risk" / "CURRENT") << "v1\n";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static fs::path* dir_;
};
fs::path* ModelTest::dir_ = nullptr;

TEST_F(ModelTest, ProbabilitiesEqualXgboostsPlainPredictOn10000RowsWithNaN) {
  auto model = Model::LoadCurrent(dir_->string(), "risk");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ((*model)->version(), "v1");
  std::vector<float> rows = RandomRows(10'000, 99);
  auto ours = (*model)->Score(rows);
  ASSERT_TRUE(ours.ok());
  // The reference: XGBoost's deprecated plain XGBoosterPredict on its own handle.
  BoosterHandle ref;
  ASSERT_EQ(XGBoosterCreate(nullptr, 0, &ref), 0);
  ASSERT_EQ(XGBoosterLoadModel(ref, (*dir_ / "risk" / "v1" / "model.json").c_str()), 0);
  DMatrixHandle dm;
  ASSERT_EQ(XGDMatrixCreateFromMat(rows.data(), 10'000, kNumFeatures, NAN, &dm), 0);
  bst_ulong len = 0;
  const float* out = nullptr;
  ASSERT_EQ(XGBoosterPredict(ref, dm, 0, 0, 0, &len, &out), 0);
  ASSERT_EQ(len, 10'000u);
  double worst = 0;
  for (size_t i = 0; i < len; ++i)
    worst = std::max(worst, std::fabs(static_cast<double>((*ours)[i]) - out[i]));
  EXPECT_LE(worst, 1e-6);
  XGDMatrixFree(dm);
  XGBoosterFree(ref);
}

TEST_F(ModelTest, RowsOnTheSameSideOfEverySplitGetBitIdenticalMarginsAndContributions) {
  // Pairs: a random row and the same row with one feature nudged by up to 3%.
  // Where MixSplitSides mixes both alike, margins and contributions must be
  // bit-identical; pairs on both outcomes must occur (else this proves nothing).
  auto m = Model::LoadCurrent(dir_->string(), "risk");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ((*m)->evaluator(), "own");
  const std::vector<float> a = RandomRows(2000, 11);
  std::vector<float> b = a;
  std::mt19937_64 rng(5);
  for (size_t r = 0; r < 2000; ++r) {
    float& v = b[r * kNumFeatures + rng() % kNumFeatures];
    v = std::isnan(v) ? 50.0f : v * (1.0f + static_cast<float>(rng() % 60) / 1000.0f);
  }
  auto ma = (*m)->Margins(a), mb = (*m)->Margins(b);
  auto ca = (*m)->Contributions(a, true), cb = (*m)->Contributions(b, true);
  ASSERT_TRUE(ma.ok() && mb.ok() && ca.ok() && cb.ok());
  int same = 0, different = 0;
  for (size_t r = 0; r < 2000; ++r) {
    uint64_t ka = 0, kb = 0;
    ASSERT_TRUE((*m)->MixSplitSides(&a[r * kNumFeatures], &ka));
    ASSERT_TRUE((*m)->MixSplitSides(&b[r * kNumFeatures], &kb));
    if (ka != kb) {
      ++different;
      continue;
    }
    ++same;
    EXPECT_EQ(absl::bit_cast<uint32_t>((*ma)[r]), absl::bit_cast<uint32_t>((*mb)[r])) << r;
    for (int f = 0; f <= kNumFeatures; ++f) {
      const size_t i = r * (kNumFeatures + 1) + static_cast<size_t>(f);
      EXPECT_EQ(absl::bit_cast<uint32_t>((*ca)[i]), absl::bit_cast<uint32_t>((*cb)[i])) << r;
    }
  }
  EXPECT_GT(same, 100);
  EXPECT_GT(different, 100);
  // A feature the trees split on: missing, low and high mix differently.
  std::vector<float> row(a.begin(), a.begin() + kNumFeatures);
  std::set<uint64_t> keys;
  for (float v : {NAN, 0.0f, 100.0f}) {
    row[3] = v;
    uint64_t k = 0;
    ASSERT_TRUE((*m)->MixSplitSides(row.data(), &k));
    keys.insert(k);
  }
  EXPECT_EQ(keys.size(), 3u);
}

TEST_F(ModelTest, ContributionsSumToTheMargin) {
  auto model = Model::Load((*dir_ / "risk" / "v1").string());
  ASSERT_TRUE(model.ok());
  std::vector<float> rows = RandomRows(500, 7);
  auto margins = (*model)->Margins(rows);
  for (bool approximate : {false, true}) {
    auto contrib = (*model)->Contributions(rows, approximate);
    ASSERT_TRUE(contrib.ok());
    ASSERT_EQ(contrib->size(), 500u * (kNumFeatures + 1));
    for (size_t r = 0; r < 500; ++r) {
      double sum = 0;
      for (int j = 0; j <= kNumFeatures; ++j) sum += (*contrib)[r * (kNumFeatures + 1) + j];
      EXPECT_NEAR(sum, (*margins)[r], 1e-3) << "row " << r << (approximate ? " approx" : " exact");
    }
  }
}

TEST_F(ModelTest, AModelOfAnotherSchemaIsRefusedNamingBothHashes) {
  fs::create_directories(*dir_ / "old");
  fs::copy_file(*dir_ / "risk" / "v1" / "model.json", *dir_ / "old" / "model.json",
                fs::copy_options::overwrite_existing);
  std::ofstream(*dir_ / "old" / "meta.json") << R"({"schema_hash": "0123456789abcdef"})";
  auto m = Model::Load((*dir_ / "old").string());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("0123456789abcdef"), std::string::npos);
  EXPECT_NE(m.status().message().find(SchemaHash()), std::string::npos);
}

TEST_F(ModelTest, AModelOfTheFirstCatalogIsRefusedWithRetrain) {
  // e9097a8e57529713: the schema of recur-catalog-1 (33 features), which every
  // model trained before issue 16 records.
  fs::create_directories(*dir_ / "catalog1");
  fs::copy_file(*dir_ / "risk" / "v1" / "model.json", *dir_ / "catalog1" / "model.json",
                fs::copy_options::overwrite_existing);
  std::ofstream(*dir_ / "catalog1" / "meta.json") << R"({"schema_hash": "e9097a8e57529713"})";
  auto m = Model::Load((*dir_ / "catalog1").string());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(m.status().message().find("recur-catalog-2"), std::string::npos) << m.status();
  EXPECT_NE(m.status().message().find("retrain it"), std::string::npos) << m.status();
}

TEST_F(ModelTest, AFileThatIsNotAnXgboostModelIsRefused) {
  fs::create_directories(*dir_ / "junk");
  std::ofstream(*dir_ / "junk" / "model.json") << "{\"hello\": \"this is not a model\"}";
  std::ofstream(*dir_ / "junk" / "meta.json") << "{\"schema_hash\": \"" << SchemaHash() << "\"}";
  auto m = Model::Load((*dir_ / "junk").string());
  EXPECT_EQ(m.status().code(), absl::StatusCode::kInvalidArgument) << m.status();
  EXPECT_NE(m.status().message().find("not an XGBoost model"), std::string::npos);
  EXPECT_EQ(Model::LoadCurrent(dir_->string(), "nothing").status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(ModelTest, ScorerBuildsCustomerScoresWithReasonsDeterministically) {
  ScorerOptions o;
  o.models_dir = dir_->string();
  o.risk_target = "risk";
  o.repurchase_target = "risk";
  auto scorer = Scorer::Create(o);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  std::vector<float> rows = RandomRows(50, 5);
  std::vector<ScoreRow> batch;
  for (int i = 0; i < 50; ++i) {
    Features f;
    for (int j = 0; j < kNumFeatures; ++j) f.values[j] = rows[i * kNumFeatures + j];
    batch.push_back({{"shop-1", "c-" + std::to_string(i)}, f, 1'700'000'000'000});
  }
  auto scores = (*scorer)->Score(batch);
  ASSERT_TRUE(scores.ok()) << scores.status();
  std::vector<const ScoreRow*> row_ptrs;
  std::vector<v1::CustomerScore*> score_ptrs;
  for (int i = 0; i < 50; ++i) {
    row_ptrs.push_back(&batch[i]);
    score_ptrs.push_back(&(*scores)[i]);
  }
  ASSERT_TRUE((*scorer)->AddReasons(row_ptrs, score_ptrs).ok());
  ASSERT_EQ(scores->size(), 50u);
  auto direct = Model::Load((*dir_ / "risk" / "v1").string());
  auto p = (*direct)->Score(rows);
  int with_reasons = 0;
  for (int i = 0; i < 50; ++i) {
    const v1::CustomerScore& s = (*scores)[i];
    EXPECT_EQ(s.customer_id(), "c-" + std::to_string(i));
    EXPECT_EQ(s.as_of_ms(), 1'700'000'000'000);
    EXPECT_FLOAT_EQ(s.risk_decline_90d(), (*p)[i]);
    EXPECT_EQ(s.risk_model_version(), "v1");
    EXPECT_EQ(s.schema_hash(), SchemaHash());
    EXPECT_EQ(s.reasons_method(), "approximate");
    EXPECT_LE(s.reasons_size(), 3);
    with_reasons += s.reasons_size() > 0;
    for (int k = 0; k < s.reasons_size(); ++k) {
      EXPECT_GT(s.reasons(k).contribution(), 0);
      EXPECT_GE(FeatureIndex(s.reasons(k).feature()), 0);
      if (k > 0) {
        EXPECT_GE(s.reasons(k - 1).contribution(), s.reasons(k).contribution());
      }
    }
  }
  EXPECT_GT(with_reasons, 10);
  auto again = (*scorer)->Score(batch);
  std::vector<v1::CustomerScore*> again_ptrs;
  for (auto& s : *again) again_ptrs.push_back(&s);
  ASSERT_TRUE((*scorer)->AddReasons(row_ptrs, again_ptrs).ok());
  for (int i = 0; i < 50; ++i)
    EXPECT_EQ((*scores)[i].SerializeAsString(), (*again)[i].SerializeAsString());
  o.repurchase_target = "missing";
  EXPECT_EQ(Scorer::Create(o).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace recur
