// The model registry: its layout, CURRENT (missing, empty, promoted, replaced
// atomically), the hot-reload watch, loading through CURRENT, and ModelMeta's
// JSON (every key written, exact round trip, lenient reading of partial files,
// wrong types refused).
#include "scorer/registry.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "scorer/model.h"
#include "tests/scorer/test_models.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("recur-registry-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(RegistryTest, Layout) {
  const ModelRegistry r("models");
  EXPECT_EQ(r.TargetDir("t"), fs::path("models/t"));
  EXPECT_EQ(r.VersionDir("t", "v1"), fs::path("models/t/v1"));
  EXPECT_EQ(r.CurrentPath("t"), fs::path("models/t/CURRENT"));
  EXPECT_EQ(ModelRegistry::ModelPath("models/t/v1"), fs::path("models/t/v1/model.json"));
  EXPECT_EQ(ModelRegistry::MetaPath("models/t/v1"), fs::path("models/t/v1/meta.json"));
  EXPECT_EQ(ModelRegistry::ReportPath("models/t/v1"), fs::path("models/t/v1/report.html"));
  EXPECT_EQ(r.StagingModelPath("t"), fs::path("models/t/.tmp-model.json"));
}

TEST_F(RegistryTest, CurrentIsNotFoundWhenMissingOrEmpty) {
  const ModelRegistry r(dir_);
  auto none = r.Current("t");
  EXPECT_EQ(none.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(none.status().message().find("run `recur train`"), std::string::npos) << none.status();
  fs::create_directories(r.TargetDir("t"));
  std::ofstream(r.CurrentPath("t")) << "";
  EXPECT_EQ(r.Current("t").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(r.LoadCurrent("t").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(RegistryTest, PromoteReplacesCurrentAndLeavesNoTemporaryFile) {
  const ModelRegistry r(dir_);
  fs::create_directories(r.TargetDir("t"));
  ASSERT_TRUE(r.Promote("t", "v1").ok());
  EXPECT_EQ(Slurp(r.CurrentPath("t")), "v1\n");  // the trainer's format: one line
  EXPECT_EQ(*r.Current("t"), "v1");
  ASSERT_TRUE(r.Promote("t", "v2").ok());
  EXPECT_EQ(*r.Current("t"), "v2");
  int files = 0;
  for (const auto& e : fs::directory_iterator(r.TargetDir("t"))) files += e.is_regular_file();
  EXPECT_EQ(files, 1);
  // A target directory that does not exist can not be promoted into.
  EXPECT_EQ(r.Promote("missing", "v1").code(), absl::StatusCode::kUnavailable);
}

TEST_F(RegistryTest, WatchReportsEachChangeOfAnyTargetOnce) {
  const ModelRegistry r(dir_);
  fs::create_directories(r.TargetDir("a"));
  fs::create_directories(r.TargetDir("b"));
  ASSERT_TRUE(r.Promote("a", "a1").ok());
  CurrentWatch watch(r, {"a", "b"});
  EXPECT_FALSE(watch.Changed());
  ASSERT_TRUE(r.Promote("b", "b1").ok());  // appearing counts
  EXPECT_TRUE(watch.Changed());
  EXPECT_FALSE(watch.Changed());
  ASSERT_TRUE(r.Promote("a", "a2").ok());
  EXPECT_TRUE(watch.Changed());
  ASSERT_TRUE(r.Promote("a", "a2").ok());  // rewritten, same version: no change
  EXPECT_FALSE(watch.Changed());
  fs::remove(r.CurrentPath("b"));  // disappearing too
  EXPECT_TRUE(watch.Changed());
}

TEST_F(RegistryTest, LoadsTheVersionCurrentNames) {
  ASSERT_TRUE(testing::WriteThresholdModel(dir_, "t", "v1", 0, 10));
  ASSERT_TRUE(testing::WriteThresholdModel(dir_, "t", "v2", 0, 10, /*make_current=*/false));
  const ModelRegistry r(dir_);
  auto m = r.LoadCurrent("t");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ((*m)->version(), "v1");
  auto v2 = r.Load("t", "v2");
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ((*v2)->version(), "v2");
  EXPECT_EQ(r.Load("t", "v3").status().code(), absl::StatusCode::kNotFound);
}

ModelMeta FullMeta() {
  ModelMeta m;
  m.version = "20250131-0a1b2c3d";
  m.target = "repurchase_30d";
  m.schema_hash = "0123456789abcdef";
  m.catalog_version = "7";
  m.features = {"tenure_days", "top_category_6m"};
  m.feature_types = {"q", "c"};
  m.categories["top_category_6m"] = {"toys", "books"};
  m.cutoffs = {"2024-12-31", "2025-01-31"};
  m.split.kind = "stratified_kfold";
  m.split.folds = 5;
  m.split.seed = 42;
  m.label.source = "csv";
  m.label.file = "labels.csv";
  m.label.rows = 120;
  m.label.not_in_snapshot = 3;
  m.params = {{"eta", "0.1"}, {"max_depth", "6"}};
  m.rounds = 57;
  m.seed = 42;
  m.first_day = "2024-01-01";
  m.last_day = "2025-03-01";
  m.train_rows = 100;
  m.valid_rows = 20;
  m.metrics.roc_auc = 0.75;
  m.metrics.precision = NAN;
  m.metrics.rows = 20;
  m.metrics.calibration = std::vector<ModelMeta::Metrics::Bin>{{0.125, 0.25, 8}};
  m.baseline_name = "recency";
  m.baseline.roc_auc = 0.5;
  m.baseline.calibration.emplace();
  m.metrics_by_shop["shop-1"].model.roc_auc = 0.625;
  m.feature_importance = {{"tenure_days", 3.5, 0.875}, {"top_category_6m", 0.5, 0.125}};
  m.promotion = "no CURRENT model: promoted";
  return m;
}

TEST_F(RegistryTest, MetaWritesEveryKeySortedWithNanAsNullAndReadsItBackExactly) {
  const std::string json = FullMeta().ToJson();
  ASSERT_FALSE(json.empty());
  EXPECT_EQ(json.back(), '\n');
  // Keys sorted, two-space indent (the trainer's meta.dump(2)).
  EXPECT_EQ(json.rfind("{\n  \"baseline\": {\n    \"metrics\": {\n", 0), 0u) << json;
  EXPECT_NE(json.find("\"precision\": null"), std::string::npos);
  EXPECT_NE(json.find("\"split\": {\n    \"folds\": 5,\n    \"kind\": \"stratified_kfold\",\n    "
                      "\"seed\": 42\n  }"),
            std::string::npos);
  EXPECT_NE(json.find("\"label\": {\n    \"file\": \"labels.csv\",\n    \"not_in_snapshot\": 3,\n  "
                      "  \"rows\": 120,\n"
                      "    \"source\": \"csv\"\n  }"),
            std::string::npos);
  // Per shop: no calibration key; the overall metrics have one.
  const size_t shop = json.find("\"shop-1\"");
  ASSERT_NE(shop, std::string::npos);
  EXPECT_EQ(json.find("calibration", shop), std::string::npos);
  for (const char* key :
       {"catalog_version", "categories", "cutoffs", "data_range", "feature_importance",
        "feature_types", "features", "metrics", "metrics_by_shop", "params", "promotion", "rounds",
        "rows", "schema_hash", "seed", "target", "version"}) {
    EXPECT_NE(json.find(std::string("\n  \"") + key + "\": "), std::string::npos) << key;
  }

  auto back = ModelMeta::Parse(json, "test");
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(std::isnan(back->metrics.precision));
  EXPECT_EQ(back->label.rows, 120);
  EXPECT_EQ(back->categories.at("top_category_6m"), (std::vector<std::string>{"toys", "books"}));
  EXPECT_FALSE(back->metrics_by_shop.at("shop-1").model.calibration.has_value());
  EXPECT_EQ(back->ToJson(), json);
}

TEST_F(RegistryTest, MetaTimeSplitAndEventLabelsKeepOnlyTheirKeys) {
  ModelMeta m = FullMeta();
  m.split = {};
  m.split.validation_cutoff = "2025-01-31";
  m.label = {};
  m.label.repurchase_days = 30;
  m.label.decline_days = 90;
  m.label.decline_ratio = 0.8;
  const std::string json = m.ToJson();
  EXPECT_NE(
      json.find(
          "\"split\": {\n    \"kind\": \"time\",\n    \"validation_cutoff\": \"2025-01-31\"\n  }"),
      std::string::npos)
      << json;
  EXPECT_NE(json.find("\"label\": {\n    \"decline_days\": 90,\n    \"decline_ratio\": 0.8,\n"
                      "    \"repurchase_days\": 30,\n    \"source\": \"events\"\n  }"),
            std::string::npos)
      << json;
  EXPECT_EQ(ModelMeta::Parse(json, "test")->ToJson(), json);
}

TEST_F(RegistryTest, MetaReadsPartialFilesAndRefusesWrongTypes) {
  auto partial = ModelMeta::Parse(R"({"schema_hash": "abc", "version": "v9"})", "test");
  ASSERT_TRUE(partial.ok()) << partial.status();
  EXPECT_EQ(partial->schema_hash, "abc");
  EXPECT_EQ(partial->version, "v9");
  EXPECT_TRUE(partial->categories.empty());
  EXPECT_EQ(partial->rounds, 0);

  auto wrong = ModelMeta::Parse(R"({"rounds": "many"})", "model m/t/v1");
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(wrong.status().message().rfind("model m/t/v1: meta.json: ", 0), 0u) << wrong.status();
  EXPECT_EQ(ModelMeta::Parse(R"({"categories": {"top_category_6m": [1]}})", "t").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ModelMeta::Parse("[1, 2]", "t").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ModelMeta::Parse("{not json", "t").status().code(), absl::StatusCode::kInvalidArgument);
}

// Found by tests/fuzz/meta_fuzz: nlohmann casts a JSON double into an integer
// key's type (undefined behaviour for 1e300: UBSan's float-cast-overflow) and
// wraps a wider integer, so a hand-edited meta.json read back as a silent
// garbage value. An integer key now holds an integer in its type's range.
TEST_F(RegistryTest, MetaRefusesIntegerKeysThatAreNotIntegersInRange) {
  for (const char* json :
       {R"({"rounds": 1e300})", R"({"rounds": 1.5})", R"({"rounds": 3000000000})",
        R"({"rounds": true})", R"({"seed": -1})", R"({"split": {"folds": 1e20}})",
        R"({"metrics": {"rows": 1e30}})", R"({"label": {"rows": -1e30}})",
        R"({"metrics": {"calibration": [{"rows": 1e19}]}})"}) {
    auto meta = ModelMeta::Parse(json, "m");
    EXPECT_EQ(meta.status().code(), absl::StatusCode::kInvalidArgument) << json;
    EXPECT_EQ(meta.status().message().rfind("m: meta.json: ", 0), 0u) << meta.status();
  }
  auto fine = ModelMeta::Parse(R"({"rounds": 12, "seed": 18446744073709551615})", "m");
  ASSERT_TRUE(fine.ok()) << fine.status();
  EXPECT_EQ(fine->rounds, 12);
  EXPECT_EQ(fine->seed, 18446744073709551615u);
}

TEST_F(RegistryTest, MetaWriteAndRead) {
  const fs::path vdir = dir_ / "t" / "v1";
  EXPECT_EQ(ModelMeta::Read(vdir).status().code(), absl::StatusCode::kNotFound);
  fs::create_directories(vdir);
  ASSERT_TRUE(FullMeta().Write(vdir).ok());
  EXPECT_EQ(Slurp(ModelRegistry::MetaPath(vdir)), FullMeta().ToJson());
  auto back = ModelMeta::Read(vdir);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->version, "20250131-0a1b2c3d");
  EXPECT_EQ(FullMeta().Write(dir_ / "no" / "such" / "dir").code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace recur
