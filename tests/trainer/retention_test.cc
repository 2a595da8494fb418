// Issue 16, item 2: `train --retention-days N` on a store kept for fewer days was
// silently wrong. A store prunes a customer's days before the horizon only when
// it rewrites that customer, so returning customers lose their old days while
// lapsed ones keep them: a training horizon longer than the store's retention
// saw a population that depended on when pruning happened (and on the import's
// batch size). Two stores of the same events, applied in small batches (pruned
// as the horizon moves) and in one batch (pruned once, at the end), must train
// byte-identical models at every retention training accepts; a longer one than
// the stores' is refused, naming both.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <span>

#include "absl/strings/str_cat.h"
#include "featurestore/state_dir.h"
#include "ops/simulator.h"
#include "tests/testing/fixtures.h"
#include "trainer/trainer.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

using testing::Slurp;

// One single-partition store of `events`, applied `batch` events at a time, with
// the default retention (400 days).
absl::Status Fill(const std::string& path, const std::vector<v1::Event>& events, size_t batch) {
  StateDir::Options o;
  o.path = path;
  auto dir = StateDir::Open(o);
  if (!dir.ok()) return dir.status();
  for (size_t i = 0; i < events.size(); i += batch) {
    std::span<const v1::Event> part(events.data() + i, std::min(batch, events.size() - i));
    if (absl::Status s = (*dir)->store(0)->ApplyBatch(part, {}); !s.ok()) return s;
  }
  return absl::OkStatus();
}

TEST(TrainingRetentionTest, TheBatchSizeNeverChangesTheModelAndALongerHorizonIsRefused) {
  testing::TempDir tmp("recur-train-retention");
  SimulatorOptions sim;
  sim.shops = 2;
  sim.customers_per_shop = 150;
  sim.days = 548;  // 18 months: many customers' purchases lie before a 400-day horizon
  sim.start_ms = 1'719'792'000'000;  // 2024-07-01
  const std::vector<v1::Event> events = testing::SimulateEvents(sim);
  ASSERT_FALSE(events.empty());
  ASSERT_TRUE(Fill(tmp.Sub("small"), events, 500).ok());
  ASSERT_TRUE(Fill(tmp.Sub("whole"), events, events.size()).ok());
  {
    // Not vacuous: the stores hold different bytes (lapsed customers kept their
    // old days in "small", everyone was pruned at the end in "whole").
    auto a = StateDir::OpenReadOnly(tmp.Sub("small"));
    auto b = StateDir::OpenReadOnly(tmp.Sub("whole"));
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_NE(testing::EncodedStates((*a)->store(0)), testing::EncodedStates((*b)->store(0)));
  }

  for (int32_t retention : {366, 400, 500, 0}) {  // 0: the stores' own
    std::string model[2];
    for (int i = 0; i < 2; ++i) {
      const std::string store = i == 0 ? "small" : "whole";
      TrainOptions o;
      o.state_dir = tmp.Sub(store);
      o.models_dir = tmp.Sub(absl::StrCat("models-", store, "-", retention));
      o.retention_days = retention;
      o.max_rounds = 20;
      o.params["nthread"] = "1";
      auto r = Train(o);
      if (retention > 400 && !r.ok()) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kFailedPrecondition) << r.status();
        const std::string why(r.status().message());
        EXPECT_NE(why.find("keeps 400 days"), std::string::npos) << why;
        EXPECT_NE(why.find(absl::StrCat("--retention-days ", retention)), std::string::npos) << why;
        continue;
      }
      EXPECT_LE(retention, 400) << "a " << retention << "-day horizon on a 400-day store trained "
                                << "(" << store << ": ROC-AUC " << r->model.roc_auc << ")";
      ASSERT_TRUE(r.ok()) << "retention " << retention << ", " << store << ": " << r.status();
      model[i] = Slurp(fs::path(r->model_dir) / "model.json");
      ASSERT_FALSE(model[i].empty());
    }
    if (retention > 400 && model[0].empty()) continue;  // refused
    EXPECT_TRUE(model[0] == model[1])
        << "retention " << retention << ": the models of the same events differ by batch size";
  }
}

}  // namespace
}  // namespace recur
