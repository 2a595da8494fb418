// The trainer end to end on a small simulated snapshot: beats its baseline,
// byte-identical model for the same seed, the promotion gate, bad input.
#include "trainer/trainer.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "absl/strings/str_replace.h"
#include "absl/time/time.h"
#include "featurestore/calendar.h"
#include "featurestore/state_dir.h"
#include "nlohmann/json.hpp"
#include "ops/simulator.h"
#include "scorer/model.h"
#include "scorer/registry.h"
#include "tests/testing/fixtures.h"
#include "trainer/business_labels.h"
#include "trainer/training_set.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

using testing::Slurp;

class TrainerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testing::TempDir("recur-trainer");
    dir_ = &tmp_->path();
    SimulatorOptions sim;
    sim.customers_per_shop = 800;
    sim.days = 300;
    absl::Status filled =
        testing::FillStateDir((*dir_ / "state").string(), 2, testing::SimulateEvents(sim));
    ASSERT_TRUE(filled.ok()) << filled;
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
    dir_ = nullptr;
  }
  // The suite's two-partition state dir, read-only.
  static absl::StatusOr<std::unique_ptr<StateDir>> OpenReadOnly(const std::string& path) {
    StateDir::Options so;
    so.path = path;
    so.partitions = 2;
    so.store.read_only = true;
    return StateDir::Open(so);
  }
  TrainOptions Options(const std::string& models) {
    TrainOptions o;
    o.state_dir = (*dir_ / "state").string();
    o.models_dir = (*dir_ / models).string();
    o.max_rounds = 60;
    // One thread: on a busy shared machine two OpenMP threads mostly wait for
    // each other; the model bytes do not depend on it (hist is deterministic).
    o.params["nthread"] = "1";
    return o;
  }
  // The suite's state dir (filled once) and its models, in tmp_.
  static testing::TempDir* tmp_;
  static const fs::path* dir_;
};
testing::TempDir* TrainerTest::tmp_ = nullptr;
const fs::path* TrainerTest::dir_ = nullptr;

TEST_F(TrainerTest, BothModelsBeatTheirBaselinesAndRegister) {
  for (Target t : {Target::kRepurchase30d, Target::kActivityDecline90d}) {
    TrainOptions o = Options("models");
    o.labels.target = t;
    auto r = Train(o);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_GT(r->model.roc_auc, r->baseline.roc_auc + 0.03) << TargetName(t);
    EXPECT_GT(r->model.roc_auc, 0.65) << TargetName(t);
    EXPECT_TRUE(r->promoted);
    const fs::path target_dir = fs::path(o.models_dir) / TargetName(t);
    EXPECT_EQ(Slurp(target_dir / "CURRENT"), r->version + "\n");
    for (const char* f : {"model.json", "meta.json", "report.html"})
      EXPECT_TRUE(fs::exists(target_dir / r->version / f)) << f;
    const std::string meta = Slurp(target_dir / r->version / "meta.json");
    EXPECT_NE(meta.find(SchemaHash()), std::string::npos);
    EXPECT_NE(meta.find("\"cutoffs\""), std::string::npos);
    // The registry's ModelMeta reads every key the trainer wrote and writes
    // the same bytes back.
    auto parsed = ModelMeta::Read(target_dir / r->version);
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(parsed->target, TargetName(t));
    EXPECT_EQ(parsed->version, r->version);
    EXPECT_EQ(parsed->ToJson(), meta);
    // The drift reference: the rows reported on, in bins of each feature and the score.
    ASSERT_TRUE(parsed->drift.has_value());
    EXPECT_EQ(parsed->drift->rows, r->valid_rows);
    EXPECT_EQ(parsed->drift->population,
              t == Target::kActivityDecline90d ? "revenue_90d > 0" : "all");
    ASSERT_EQ(parsed->drift->features.size(), static_cast<size_t>(kNumFeatures));
    for (const DriftBins& b : parsed->drift->features) {
      double sum = 0;
      for (double share : b.shares) sum += share;
      EXPECT_NEAR(sum, 1.0, 1e-9);
    }
    EXPECT_GE(parsed->drift->score.edges.size(), 5u);  // probabilities: many distinct values
    const std::string report = Slurp(target_dir / r->version / "report.html");
    EXPECT_NE(report.find("<svg id='roc'"), std::string::npos);
    EXPECT_EQ(report.find("http"), std::string::npos);  // self-contained: no external assets
  }
}

TEST_F(TrainerTest, SameSnapshotAndSeedGiveAByteIdenticalModel) {
  auto a = Train(Options("models-a"));
  auto b = Train(Options("models-b"));
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->version, b->version);
  const std::string ma = Slurp(fs::path(a->model_dir) / "model.json"),
                    mb = Slurp(fs::path(b->model_dir) / "model.json");
  EXPECT_FALSE(ma.empty());
  EXPECT_EQ(ma, mb);
}

TEST_F(TrainerTest, PromotionGateRefusesAWorseModelUnlessForced) {
  auto good = Train(Options("models-gate"));
  ASSERT_TRUE(good.ok());
  TrainOptions worse = Options("models-gate");
  worse.max_rounds = 1;
  worse.params["max_depth"] = "1";
  auto r = Train(worse);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->promoted) << r->promotion_note;
  const fs::path current = fs::path(worse.models_dir) / "repurchase_30d" / "CURRENT";
  EXPECT_EQ(Slurp(current), good->version + "\n");
  worse.force = true;
  auto forced = Train(worse);
  ASSERT_TRUE(forced.ok());
  EXPECT_TRUE(forced->promoted);
  EXPECT_NE(forced->promotion_note.find("--force"), std::string::npos);
  EXPECT_EQ(Slurp(current), forced->version + "\n");
}

// A validation set with one class has no ROC-AUC: such a
// model is not promoted, even into an empty registry, unless forced, and the
// note says why.
TEST_F(TrainerTest, ASingleClassEvaluationIsNotPromotedUnlessForced) {
  TrainOptions o = Options("models-one-class");
  const fs::path csv = *dir_ / "all-zero-labels.csv";
  {
    std::ofstream out(csv);
    out << "shop_id,customer_id,label,as_of\n";
    auto dir = OpenReadOnly(o.state_dir);
    ASSERT_TRUE(dir.ok());
    int n = 0;
    for (int32_t p = 0; p < 2; ++p) {
      ASSERT_TRUE((*dir)
                      ->store(p)
                      ->ForEachCustomer([&](const CustomerKey& key, const CustomerState&) {
                        // Both classes to train and early-stop on (time split:
                        // the earlier dates), only 0 at the test date.
                        ++n;
                        out << key.shop_id << "," << key.customer_id << "," << (n % 2)
                            << ",2025-04-30\n"
                            << key.shop_id << "," << key.customer_id << "," << (n / 2 % 2)
                            << ",2025-05-31\n"
                            << key.shop_id << "," << key.customer_id << ",0,2025-06-30\n";
                        return absl::OkStatus();
                      })
                      .ok());
    }
  }
  o.labels_csv = csv.string();
  auto r = Train(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(std::isnan(r->model.roc_auc));
  EXPECT_FALSE(r->promoted) << r->promotion_note;
  EXPECT_NE(r->promotion_note.find("one class (all 0)"), std::string::npos) << r->promotion_note;
  EXPECT_NE(r->promotion_note.find("not promoted"), std::string::npos) << r->promotion_note;
  EXPECT_NE(r->promotion_note.find("--force"), std::string::npos) << r->promotion_note;
  const fs::path current = fs::path(o.models_dir) / "repurchase_30d" / "CURRENT";
  EXPECT_FALSE(fs::exists(current));
  EXPECT_TRUE(fs::exists(fs::path(r->model_dir) / "meta.json"));  // registered, just not CURRENT
  o.force = true;
  auto forced = Train(o);
  ASSERT_TRUE(forced.ok()) << forced.status();
  EXPECT_TRUE(forced->promoted);
  EXPECT_NE(forced->promotion_note.find("PROMOTED ANYWAY"), std::string::npos)
      << forced->promotion_note;
  EXPECT_EQ(Slurp(current), forced->version + "\n");
}

// Re-training the same data, options and seed gives the version that is
// already CURRENT: the note says so instead of "no CURRENT model".
TEST_F(TrainerTest, RetrainingToTheCurrentVersionSaysItIsAlreadyCurrent) {
  auto first = Train(Options("models-again"));
  ASSERT_TRUE(first.ok()) << first.status();
  auto again = Train(Options("models-again"));
  ASSERT_TRUE(again.ok()) << again.status();
  ASSERT_EQ(again->version, first->version);
  EXPECT_TRUE(again->promoted);
  EXPECT_EQ(again->promotion_note.find("no CURRENT"), std::string::npos) << again->promotion_note;
  EXPECT_NE(again->promotion_note.find("already CURRENT"), std::string::npos)
      << again->promotion_note;
}

TEST_F(TrainerTest, TopCategoryIsEncodedWithTheModelsVocabularyExactlyAsTheScorerEncodesIt) {
  TrainOptions o = Options("models-vocab");
  auto r = Train(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const nlohmann::json meta = nlohmann::json::parse(Slurp(fs::path(r->model_dir) / "meta.json"));
  EXPECT_EQ(meta["feature_types"][kTopCategory6m], "c");
  EXPECT_EQ(meta["feature_types"][kServiceTier], "c");
  EXPECT_EQ(meta["feature_types"][kOrders30d], "q");
  auto model = Model::Load(r->model_dir);
  ASSERT_TRUE(model.ok()) << model.status();
  const CategoryVocab& vocab = (*model)->vocab();
  EXPECT_EQ(vocab.size(), 8u);  // the simulator's eight categories
  EXPECT_EQ(vocab.names(), meta["categories"]["top_category_6m"].get<std::vector<std::string>>());

  // The trainer's encoding of the rows of one cutoff equals FeatureRow with the
  // model's vocabulary on the same customers' features: online = offline.
  auto dir = OpenReadOnly(o.state_dir);
  ASSERT_TRUE(dir.ok());
  const int64_t t = DaysFromCivil({2025, 6, 30}) * kMillisPerDay + kMillisPerDay - 1;
  auto set = BuildTrainingSet(**dir, {t}, o.labels);
  ASSERT_TRUE(set.ok());
  EncodeCategories(&*set, vocab);
  const int32_t first_day = RangeOf(**dir).first_day;
  size_t row = 0, coded = 0;
  std::vector<float> online(kNumFeatures);
  for (int32_t p = 0; p < 2; ++p) {
    ASSERT_TRUE((*dir)
                    ->store(p)
                    ->ForEachCustomer([&](const CustomerKey&, const CustomerState& state) {
                      if (!Label(state, t, o.labels)) return absl::OkStatus();
                      FeatureRow(state.ComputeFeatures(t, first_day), online.data(), &vocab);
                      for (int j = 0; j < kNumFeatures; ++j) {
                        const float a = online[j], b = set->x[row * kNumFeatures + j];
                        EXPECT_TRUE(a == b || (std::isnan(a) && std::isnan(b)))
                            << "row " << row << " feature " << kFeatureNames[j];
                      }
                      coded += !std::isnan(online[kTopCategory6m]);
                      ++row;
                      return absl::OkStatus();
                    })
                    .ok());
  }
  EXPECT_EQ(row, set->rows());
  EXPECT_GT(coded, row / 2);  // most customers bought something in 6 months
}

TEST_F(TrainerTest, PerShopMetricsAndFeatureImportanceAreInMetaJsonAndTheReport) {
  TrainOptions o = Options("models-shops");
  o.threshold = 0.4;
  auto r = Train(o);
  ASSERT_TRUE(r.ok()) << r.status();
  // The simulator's three shops; their rows add up to the validation rows.
  ASSERT_EQ(r->by_shop.size(), 3u);
  int64_t rows = 0;
  for (const auto& [shop, m] : r->by_shop) {
    rows += m.model.rows;
    EXPECT_EQ(m.model.rows, m.baseline.rows);
    EXPECT_GT(m.model.roc_auc, 0.6) << shop;
    EXPECT_DOUBLE_EQ(m.model.threshold, 0.4);
  }
  EXPECT_EQ(rows, r->valid_rows);
  EXPECT_GT(r->model.recall, 0.0);
  EXPECT_LE(r->model.recall, 1.0);
  const nlohmann::json meta = nlohmann::json::parse(Slurp(fs::path(r->model_dir) / "meta.json"));
  EXPECT_EQ(meta["metrics_by_shop"].size(), 3u);
  EXPECT_DOUBLE_EQ(meta["metrics_by_shop"]["shop-1"]["model"]["roc_auc"].get<double>(),
                   r->by_shop["shop-1"].model.roc_auc);
  EXPECT_DOUBLE_EQ(meta["metrics"]["threshold"].get<double>(), 0.4);
  // The baselines rank (recency, revenue trend) but are not probabilities: no
  // log-loss for them, overall or per shop; the model's is there.
  EXPECT_TRUE(std::isnan(r->baseline.log_loss)) << r->baseline.log_loss;
  EXPECT_TRUE(meta["baseline"]["metrics"]["log_loss"].is_null());
  EXPECT_TRUE(meta["metrics_by_shop"]["shop-1"]["baseline"]["log_loss"].is_null());
  EXPECT_GT(meta["metrics"]["log_loss"].get<double>(), 0.0);
  // Importance: largest total gain first, shares summing to 1, catalog names.
  const auto& imp = meta["feature_importance"];
  ASSERT_GE(imp.size(), 5u);
  double share = 0;
  for (size_t i = 0; i < imp.size(); ++i) {
    EXPECT_GE(FeatureIndex(imp[i]["feature"].get<std::string>()), 0);
    if (i > 0) {
      EXPECT_GE(imp[i - 1]["total_gain"].get<double>(), imp[i]["total_gain"].get<double>());
    }
    share += imp[i]["share"].get<double>();
  }
  EXPECT_NEAR(share, 1.0, 1e-6);
  const int top = FeatureIndex(imp[0]["feature"].get<std::string>());
  EXPECT_FLOAT_EQ(r->importance[top], imp[0]["total_gain"].get<float>());
  const std::string report = Slurp(fs::path(r->model_dir) / "report.html");
  EXPECT_NE(report.find("<svg id='importance'"), std::string::npos);
  EXPECT_NE(report.find("<table id='by-shop'"), std::string::npos);
  EXPECT_NE(report.find("<svg id='pr'"), std::string::npos);
}

TEST_F(TrainerTest, BusinessLabelsAsOfOneDateAreCrossValidatedThenFittedOnAllRows) {
  TrainOptions o = Options("models-csv");
  // The business's labels: here the repurchase label as of 2025-06-30, written
  // as a CSV, plus one customer the snapshot does not know.
  const int64_t t = DaysFromCivil({2025, 6, 30}) * kMillisPerDay + kMillisPerDay - 1;
  const fs::path csv = *dir_ / "labels.csv";
  int64_t rows = 0, positives = 0;
  {
    std::ofstream out(csv);
    out << "shop_id,customer_id,label,as_of\n";
    auto dir = OpenReadOnly(o.state_dir);
    ASSERT_TRUE(dir.ok());
    for (int32_t p = 0; p < 2; ++p) {
      ASSERT_TRUE((*dir)
                      ->store(p)
                      ->ForEachCustomer([&](const CustomerKey& key, const CustomerState& state) {
                        auto y = Label(state, t, o.labels);
                        if (!y) return absl::OkStatus();
                        out << key.shop_id << "," << key.customer_id << "," << static_cast<int>(*y)
                            << ",2025-06-30\n";
                        ++rows;
                        positives += *y > 0.5f;
                        return absl::OkStatus();
                      })
                      .ok());
    }
    out << "shop-x,ghost,1,2025-06-30\n";
  }
  o.labels_csv = csv.string();
  auto r = Train(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->split, "5-fold");
  EXPECT_EQ(r->missing_labels, 1);
  EXPECT_EQ(r->train_rows, rows);  // the final fit sees every row ...
  EXPECT_EQ(r->valid_rows, rows);  // ... and every row is judged out of fold
  EXPECT_NEAR(r->model.base_rate, static_cast<double>(positives) / static_cast<double>(rows),
              1e-12);
  EXPECT_GT(r->model.roc_auc, r->baseline.roc_auc + 0.03);
  const nlohmann::json meta = nlohmann::json::parse(Slurp(fs::path(r->model_dir) / "meta.json"));
  EXPECT_EQ(meta["split"]["kind"], "stratified_kfold");
  EXPECT_EQ(meta["split"]["folds"], 5);
  EXPECT_EQ(meta["label"]["source"], "csv");
  EXPECT_EQ(meta["label"]["not_in_snapshot"], 1);
  EXPECT_EQ(meta["cutoffs"], nlohmann::json::array({"2025-06-30"}));
  // Per fold and pooled out of fold, each fold early-stopped on a share of its
  // own training folds; the final model gets the folds' median round count.
  ASSERT_EQ(meta["split"]["fold_rounds"].size(), 5u);
  std::vector<int> fold_rounds = meta["split"]["fold_rounds"].get<std::vector<int>>();
  std::sort(fold_rounds.begin(), fold_rounds.end());
  EXPECT_EQ(r->rounds, fold_rounds[2]);
  ASSERT_EQ(meta["metrics_by_part"].size(), 5u);
  int64_t fold_rows = 0;
  double auc_sum = 0;
  for (int k = 0; k < 5; ++k) {
    const auto& part = meta["metrics_by_part"][k];
    EXPECT_EQ(part["part"], "fold " + std::to_string(k + 1));
    fold_rows += part["model"]["rows"].get<int64_t>();
    auc_sum += part["model"]["roc_auc"].get<double>();
  }
  EXPECT_EQ(fold_rows, rows);
  EXPECT_NEAR(meta["split"]["roc_auc_mean"].get<double>(), auc_sum / 5, 1e-12);
  EXPECT_GT(meta["split"]["roc_auc_sd"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(meta["metrics"]["roc_auc"].get<double>(), r->model.roc_auc);  // pooled
  auto parsed = ModelMeta::Read(r->model_dir);  // the k-fold / business-label keys round-trip too
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->label.not_in_snapshot, 1);
  EXPECT_EQ(parsed->ToJson(), Slurp(fs::path(r->model_dir) / "meta.json"));
  // Same labels, same seed: the same model bytes (folds and final fit are seeded).
  TrainOptions o2 = Options("models-csv-2");
  o2.labels_csv = o.labels_csv;
  auto again = Train(o2);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Slurp(fs::path(again->model_dir) / "model.json"),
            Slurp(fs::path(r->model_dir) / "model.json"));
}

TEST_F(TrainerTest, ABadLabelsFileFailsNamingTheLine) {
  TrainOptions o = Options("models-csv-bad");
  const fs::path csv = *dir_ / "bad-labels.csv";
  std::ofstream(csv) << "shop_id,customer_id,label\nshop-1,c-1,1\nshop-1,c-2,yes\n";
  o.labels_csv = csv.string();
  auto r = Train(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(
      r.status().message(),
      csv.string() +
          ":3: column 3 (label): must be 0 or 1 (0.0/1.0 and true/false are accepted), got 'yes'");
  std::ofstream(csv) << "shop-1,c-1,1,2020-01-01\n";
  r = Train(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find(":1: as_of 2020-01-01 is outside the snapshot's history"),
            std::string::npos)
      << r.status();
}

TEST_F(TrainerTest, ExplicitCutoffsReplaceMonthEndsAndMustHaveACompleteLabelWindow) {
  DataRange range;
  {
    StateDir::Options so;
    so.path = (*dir_ / "state").string();
    so.partitions = 2;
    so.store.read_only = true;
    auto sd = StateDir::Open(so);
    ASSERT_TRUE(sd.ok()) << sd.status();
    range = RangeOf(**sd);
  }
  auto day = [](int32_t d) {
    return absl::FormatTime("%Y-%m-%d", absl::FromUnixMillis(int64_t{d} * kMillisPerDay),
                            absl::UTCTimeZone());
  };
  // Mid-month cutoffs, each with its 30-day repurchase window inside the data.
  const std::vector<int32_t> days = {range.last_day - 100, range.last_day - 65,
                                     range.last_day - 31};
  TrainOptions o = Options("models-cutoffs");
  for (int32_t d : days) {
    auto ms = ParseAsOf(day(d));
    ASSERT_TRUE(ms.ok());
    o.cutoffs.push_back(*ms);
  }
  auto r = Train(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const nlohmann::json meta = nlohmann::json::parse(Slurp(fs::path(r->model_dir) / "meta.json"));
  EXPECT_EQ(meta["cutoffs"], nlohmann::json({day(days[0]), day(days[1]), day(days[2])}));
  EXPECT_EQ(r->version.substr(0, 8), absl::StrReplaceAll(day(days[2]), {{"-", ""}}));

  // 29 days before the last day: the window runs past the snapshot.
  o.cutoffs = {*ParseAsOf(day(range.last_day - 29))};
  r = Train(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("cutoff " + day(range.last_day - 29)), std::string::npos)
      << r.status();
  EXPECT_NE(r.status().message().find("30 days after the cutoff run past its end"),
            std::string::npos)
      << r.status();
}

// Issue 16, item 5: the figures come from rows the model never saw in any way.
// The time split trains on the early cutoffs, early-stops (chooses the round
// count) on the next one and reports on the last 3, pooled and per cutoff.
TEST_F(TrainerTest, TheTimeSplitReportsOnTheLastCutoffsWhichNeitherTrainNorEarlyStop) {
  TrainOptions o = Options("models-honest");
  auto r = Train(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const nlohmann::json meta = nlohmann::json::parse(Slurp(fs::path(r->model_dir) / "meta.json"));
  const auto cutoffs = meta["cutoffs"].get<std::vector<std::string>>();
  ASSERT_GE(cutoffs.size(), 5u);
  const size_t n = cutoffs.size();
  const std::vector<std::string> test(cutoffs.end() - 3, cutoffs.end());
  EXPECT_EQ(meta["split"]["test_cutoffs"], nlohmann::json(test));
  EXPECT_EQ(meta["split"]["early_stop_cutoff"], cutoffs[n - 4]);
  // The rows reported on are exactly the test cutoffs' rows, counted here from
  // a training set built at those cutoffs alone; the early-stopping rows too.
  auto dir = OpenReadOnly(o.state_dir);
  ASSERT_TRUE(dir.ok()) << dir.status();
  std::vector<int64_t> test_ms;
  for (const auto& d : test) test_ms.push_back(*ParseAsOf(d));
  auto test_set = BuildTrainingSet(**dir, test_ms, o.labels);
  auto stop_set = BuildTrainingSet(**dir, {*ParseAsOf(cutoffs[n - 4])}, o.labels);
  ASSERT_TRUE(test_set.ok() && stop_set.ok());
  EXPECT_EQ(r->valid_rows, static_cast<int64_t>(test_set->rows()));
  EXPECT_EQ(meta["rows"]["valid"], test_set->rows());
  EXPECT_EQ(meta["rows"]["early_stop"], stop_set->rows());
  EXPECT_EQ(r->model.rows, static_cast<int64_t>(test_set->rows()));
  // Per test cutoff: model and baseline on that cutoff's rows.
  ASSERT_EQ(meta["metrics_by_part"].size(), 3u);
  int64_t part_rows = 0;
  for (size_t i = 0; i < 3; ++i) {
    const auto& part = meta["metrics_by_part"][i];
    EXPECT_EQ(part["part"], test[i]);
    const int64_t rows = part["model"]["rows"].get<int64_t>();
    EXPECT_EQ(rows, std::count(test_set->cutoff_ms.begin(), test_set->cutoff_ms.end(), test_ms[i]));
    EXPECT_EQ(part["baseline"]["rows"].get<int64_t>(), rows);
    EXPECT_GT(part["model"]["roc_auc"].get<double>(), 0.6) << test[i];
    part_rows += rows;
  }
  EXPECT_EQ(part_rows, r->valid_rows);
}

// Fewer cutoffs than 1 train + 1 early-stopping + 3 test: fewer test cutoffs,
// down to 1; with 2 cutoffs there is no honest split and training says so.
TEST_F(TrainerTest, TooFewCutoffsTestOnFewerAndTwoAreRefusedSayingWhatIsNeeded) {
  TrainOptions o = Options("models-few");
  o.max_cutoffs = 4;
  auto r = Train(o);
  ASSERT_TRUE(r.ok()) << r.status();
  const nlohmann::json meta = nlohmann::json::parse(Slurp(fs::path(r->model_dir) / "meta.json"));
  EXPECT_EQ(meta["split"]["test_cutoffs"].size(), 2u);
  o.max_cutoffs = 2;
  r = Train(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("at least 3 cutoffs"), std::string::npos) << r.status();
  EXPECT_NE(r.status().message().find("there are 2"), std::string::npos) << r.status();
}

TEST_F(TrainerTest, AMissingOrCorruptSnapshotFailsNamingIt) {
  TrainOptions o = Options("models-bad");
  o.state_dir = (*dir_ / "nowhere").string();
  auto r = Train(o);
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(r.status().message().find("nowhere"), std::string::npos);
  fs::create_directories(*dir_ / "corrupt" / "partition-0");
  std::ofstream(*dir_ / "corrupt" / "partition-0" / "CURRENT") << "MANIFEST-000099\n";
  o.state_dir = (*dir_ / "corrupt").string();
  r = Train(o);
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("corrupt"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace recur
