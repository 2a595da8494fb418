// Category vocabularies: codes by frequency then name, unseen and empty names
// missing, loaded from meta.json with the model, and each model's own codes used
// when the scorer assembles its rows.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "scorer/model.h"
#include "scorer/scorer.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

TEST(CategoryVocabTest, MostFrequentFirstTiesByNameEmptyIgnored) {
  // a x3, b x2, c x1, d x1 (c before d by name), "" x2 ignored.
  CategoryVocab v = CategoryVocab::Build({"b", "a", "", "d", "c", "a", "b", "", "a"});
  EXPECT_EQ(v.names(), (std::vector<std::string>{"a", "b", "c", "d"}));
  EXPECT_EQ(v.Code("a"), 0.0f);
  EXPECT_EQ(v.Code("b"), 1.0f);
  EXPECT_EQ(v.Code("c"), 2.0f);
  EXPECT_EQ(v.Code("d"), 3.0f);
  EXPECT_TRUE(std::isnan(v.Code("")));
  EXPECT_TRUE(std::isnan(v.Code("z")));
  // Row order does not matter.
  EXPECT_EQ(CategoryVocab::Build({"a", "a", "a", "b", "b", "d", "c"}), v);
}

TEST(CategoryVocabTest, MaxSizeKeepsTheMostFrequent) {
  CategoryVocab v = CategoryVocab::Build({"x", "y", "y", "z", "z", "z"}, 2);
  EXPECT_EQ(v.names(), (std::vector<std::string>{"z", "y"}));
  EXPECT_TRUE(std::isnan(v.Code("x")));
}

TEST(CategoryVocabTest, FromNamesRefusesRepeatsAndEmptyNames) {
  auto v = CategoryVocab::FromNames({"grocery", "books"});
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->Code("books"), 1.0f);
  EXPECT_EQ(CategoryVocab::FromNames({"a", "b", "a"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_NE(CategoryVocab::FromNames({"a", "b", "a"}).status().message().find("'a'"),
            std::string::npos);
  EXPECT_EQ(CategoryVocab::FromNames({"a", ""}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(CategoryVocabTest, FeatureRowEncodesTheSlotOnlyWithAVocabulary) {
  Features f;
  f.values[kOrders30d] = 2;
  f.top_category_6m = "books";
  auto v = CategoryVocab::FromNames({"grocery", "books"});
  std::vector<float> row(kNumFeatures);
  FeatureRow(f, row.data(), &*v);
  EXPECT_EQ(row[kTopCategory6m], 1.0f);
  EXPECT_EQ(row[kOrders30d], 2.0f);
  EXPECT_TRUE(std::isnan(row[kRevenue30d]));
  FeatureRow(f, row.data());  // the old signature: the slot as Features holds it
  EXPECT_TRUE(std::isnan(row[kTopCategory6m]));
  f.top_category_6m = "toys";  // unseen
  FeatureRow(f, row.data(), &*v);
  EXPECT_TRUE(std::isnan(row[kTopCategory6m]));
  EXPECT_TRUE(IsCategorical(kTopCategory6m));
  EXPECT_TRUE(IsCategorical(kServiceTier));
  EXPECT_FALSE(IsCategorical(kOrders30d));
}

// Two models that answer "is the top category code 0?": with vocabularies in
// opposite orders, the same customer must get opposite scores from them.
class VocabModelTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new fs::path(fs::temp_directory_path() / ("recur-vocab-" + std::to_string(::getpid())));
    fs::remove_all(*dir_);
    std::vector<float> x(400 * kNumFeatures, NAN), y;
    for (int r = 0; r < 400; ++r) {
      x[r * kNumFeatures + kTopCategory6m] = static_cast<float>(r % 2);
      y.push_back(r % 2 == 0 ? 1.0f : 0.0f);
    }
    auto m = XgbMatrix::FromRows(x.data(), 400, kNumFeatures, &y);
    ASSERT_TRUE(m.ok());
    std::vector<std::string> types(kNumFeatures, "q");
    types[kTopCategory6m] = "c";
    ASSERT_TRUE(m->SetFeatureTypes(types).ok());
    auto b = XgbBooster::Create({m->handle()}, {{"objective", "binary:logistic"},
                                                {"tree_method", "hist"},
                                                {"max_depth", "2"},
                                                {"nthread", "1"}});
    ASSERT_TRUE(b.ok());
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(b->UpdateOneIter(i, *m).ok());
    for (const char* target : {"a", "b"}) {
      fs::create_directories(*dir_ / target / "v1");
      ASSERT_TRUE(b->Save((*dir_ / target / "v1" / "model.json").string()).ok());
      std::ofstream(*dir_ / target / "CURRENT") << "v1\n";
    }
    std::ofstream(*dir_ / "a" / "v1" / "meta.json")
        << R"({"version": "a1", "schema_hash": ")" << SchemaHash()
        << R"(", "categories": {"top_category_6m": ["books", "toys"]}})";
    std::ofstream(*dir_ / "b" / "v1" / "meta.json")
        << R"({"version": "b1", "schema_hash": ")" << SchemaHash()
        << R"(", "categories": {"top_category_6m": ["toys", "books"]}})";
  }
  static void TearDownTestSuite() {
    fs::remove_all(*dir_);
    delete dir_;
  }
  static fs::path* dir_;
};
fs::path* VocabModelTest::dir_ = nullptr;

TEST_F(VocabModelTest, LoadReadsTheVocabularyFromMetaJson) {
  auto a = Model::LoadCurrent(dir_->string(), "a");
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ((*a)->vocab().names(), (std::vector<std::string>{"books", "toys"}));
  fs::create_directories(*dir_ / "bad");
  fs::copy_file(*dir_ / "a" / "v1" / "model.json", *dir_ / "bad" / "model.json");
  std::ofstream(*dir_ / "bad" / "meta.json")
      << R"({"schema_hash": ")" << SchemaHash()
      << R"(", "categories": {"top_category_6m": ["x", "x"]}})";
  auto bad = Model::Load((*dir_ / "bad").string());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("appears twice"), std::string::npos) << bad.status();
}

TEST_F(VocabModelTest, FeatureScoresPutAllGainOnTheOnlySlotTheTreesSplitOn) {
  auto b = XgbBooster::Load((*dir_ / "a" / "v1" / "model.json").string());
  ASSERT_TRUE(b.ok());
  auto gain = b->FeatureScores("total_gain");
  ASSERT_TRUE(gain.ok()) << gain.status();
  ASSERT_EQ(gain->size(), static_cast<size_t>(kNumFeatures));
  for (int i = 0; i < kNumFeatures; ++i) {
    if (i == kTopCategory6m) {
      EXPECT_GT((*gain)[i], 0.0f);
    } else {
      EXPECT_EQ((*gain)[i], 0.0f) << kFeatureNames[i];
    }
  }
  // "weight" counts splits: after one split on the slot both leaves are pure, so
  // each of the 20 trees splits at most once (late trees may not split at all).
  auto weight = b->FeatureScores("weight");
  ASSERT_TRUE(weight.ok());
  EXPECT_GE((*weight)[kTopCategory6m], 10.0f);
  EXPECT_LE((*weight)[kTopCategory6m], 20.0f);
  EXPECT_FALSE(b->FeatureScores("no_such_type").ok());
}

TEST_F(VocabModelTest, TheScorerEncodesWithEachModelsOwnVocabulary) {
  ScorerOptions o;
  o.models_dir = dir_->string();
  o.risk_target = "a";
  o.repurchase_target = "b";
  auto scorer = Scorer::Create(o);
  ASSERT_TRUE(scorer.ok()) << scorer.status();
  Features books;
  books.top_category_6m = "books";  // code 0 for model a, 1 for model b
  auto scores = (*scorer)->Score({{{"s", "c1"}, books, 1'700'000'000'000}});
  ASSERT_TRUE(scores.ok()) << scores.status();
  EXPECT_GT((*scores)[0].risk_decline_90d(), 0.9);
  EXPECT_LT((*scores)[0].repurchase_30d(), 0.1);
}

}  // namespace
}  // namespace recur
