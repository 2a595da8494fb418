// Online/offline parity (trainer/parity.h): scores made the way the pipeline
// makes them (scorer's rows from the store, Scorer, ScoreLedger::Commit) agree with the
// trainer's recomputation; a changed probability, reason value or as_of, a
// pending customer, an unknown model version and a horizon that differs between
// the scorer and the trainer are each reported as they are.
#include "trainer/parity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>

#include "featurestore/calendar.h"
#include "featurestore/catalog.h"
#include "featurestore/state_dir.h"
#include "ops/simulator.h"
#include "scorer/scorer.h"
#include "tests/testing/fixtures.h"
#include "trainer/trainer.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

constexpr int kParts = 2;

class ParityTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    tmp_ = new testing::TempDir("recur-parity");
    root_ = &tmp_->path();
    SimulatorOptions sim;
    sim.customers_per_shop = 300;
    sim.days = 300;
    absl::Status filled = testing::FillStateDir(DirOptions(Golden()), testing::SimulateEvents(sim));
    ASSERT_TRUE(filled.ok()) << filled;
    for (Target t : {Target::kRepurchase30d, Target::kActivityDecline90d}) {
      TrainOptions o;
      o.state_dir = Golden();
      o.models_dir = Models();
      o.labels.target = t;
      o.max_rounds = 15;
      o.params["nthread"] = "1";
      auto r = Train(o);
      ASSERT_TRUE(r.ok()) << r.status();
    }
  }
  static void TearDownTestSuite() {
    delete tmp_;
    tmp_ = nullptr;
    root_ = nullptr;
  }
  static std::string Golden() { return (*root_ / "golden").string(); }
  static std::string Models() { return (*root_ / "models").string(); }
  static StateDir::Options DirOptions(const std::string& path, bool mark_pending = false) {
    StateDir::Options so;
    so.path = path;
    so.partitions = kParts;
    so.store.mark_pending = mark_pending;
    so.store.expire_outside_horizon = true;
    return so;
  }
  static absl::StatusOr<std::unique_ptr<StateDir>> OpenDir(const std::string& path,
                                                           bool mark_pending = false) {
    return StateDir::Open(DirOptions(path, mark_pending));
  }

  // A copy of the golden store in which every customer has a score made the
  // way streams/scoring makes it: as of its latest event, features with the
  // store's own horizon, both CURRENT models, reasons, committed as delivered.
  std::string ScoredCopy(const std::string& name) {
    const std::string dir = (*root_ / name).string();
    fs::remove_all(dir);
    fs::copy(Golden(), dir, fs::copy_options::recursive);
    for (int p = 0; p < kParts; ++p) fs::remove(fs::path(StateDir::PartitionPath(dir, p)) / "LOCK");
    auto sd = OpenDir(dir);
    EXPECT_TRUE(sd.ok()) << sd.status();
    auto scorer = Scorer::Create({.models_dir = Models()});
    EXPECT_TRUE(scorer.ok()) << scorer.status();
    for (int p = 0; p < kParts; ++p) {
      FeatureStore* store = (*sd)->store(p);
      const int32_t horizon = store->horizon_first_day();
      std::vector<ScoreRow> rows;
      EXPECT_TRUE(store
                      ->ForEachCustomer([&](const CustomerKey& k, const CustomerState& st) {
                        rows.push_back({k, st.ComputeFeatures(st.last_event_ms(), horizon),
                                        st.last_event_ms()});
                        return absl::OkStatus();
                      })
                      .ok());
      auto scores = (*scorer)->Score(rows);
      EXPECT_TRUE(scores.ok()) << scores.status();
      std::vector<const ScoreRow*> rp;
      std::vector<v1::CustomerScore*> sp;
      for (size_t i = 0; i < rows.size(); ++i) {
        rp.push_back(&rows[i]);
        sp.push_back(&(*scores)[i]);
      }
      EXPECT_TRUE((*scorer)->AddReasons(rp, sp).ok());
      std::vector<std::pair<CustomerKey, std::string>> published;
      for (size_t i = 0; i < rows.size(); ++i)
        published.push_back({rows[i].key, (*scores)[i].SerializeAsString()});
      EXPECT_TRUE(store->ledger().Commit(published, {}, {}).ok());
    }
    return dir;
  }

  // Rewrites one customer's stored score.
  static void EditScore(const std::string& dir, const CustomerKey& key,
                        const std::function<void(v1::CustomerScore*)>& edit) {
    auto sd = OpenDir(dir);
    ASSERT_TRUE(sd.ok());
    FeatureStore* store = (*sd)->StoreFor(key.Encode());
    auto bytes = store->ledger().GetLastScore(key);
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    v1::CustomerScore s;
    ASSERT_TRUE(s.ParseFromString(*bytes));
    edit(&s);
    ASSERT_TRUE(store->ledger().Commit({{key, s.SerializeAsString()}}, {}, {}).ok());
  }

  static ParityReport Check(const std::string& dir) {
    ParityOptions o;
    o.state_dir = dir;
    o.models_dir = Models();
    auto r = CheckParity(o);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : ParityReport{};
  }

  static testing::TempDir* tmp_;
  static const fs::path* root_;  // tmp_'s path
};
testing::TempDir* ParityTest::tmp_ = nullptr;
const fs::path* ParityTest::root_ = nullptr;

TEST_F(ParityTest, ScoresMadeByTheScorerAgreeWithTheTrainersRecomputation) {
  const ParityReport r = Check(ScoredCopy("clean"));
  EXPECT_EQ(r.customers, 900);
  EXPECT_EQ(r.checked, 900);
  EXPECT_EQ(r.pending_skipped, 0);
  EXPECT_EQ(r.no_model, 0);
  EXPECT_EQ(r.model_versions.size(), 2u);
  EXPECT_TRUE(r.differences.empty())
      << r.differences.front().key.Encode() << " " << r.differences.front().field;
}

TEST_F(ParityTest, AChangedProbabilityReasonValueOrAsOfIsReportedByCustomerAndField) {
  const std::string dir = ScoredCopy("tampered");
  const CustomerKey a{"shop-1", "c-000003"}, b{"shop-2", "c-000010"}, c{"shop-3", "c-000020"};
  EditScore(dir, a,
            [](v1::CustomerScore* s) { s->set_risk_decline_90d(s->risk_decline_90d() + 0.01); });
  std::string reason;
  EditScore(dir, b, [&](v1::CustomerScore* s) {
    ASSERT_GT(s->reasons_size(), 0);
    auto* r = s->mutable_reasons(0);
    reason = r->feature();
    r->set_value(std::isnan(r->value()) ? 1.0 : r->value() + 1.0);
  });
  // A score that claims an as_of 60 days earlier than the features it was made from.
  EditScore(dir, c,
            [](v1::CustomerScore* s) { s->set_as_of_ms(s->as_of_ms() - 60 * kMillisPerDay); });

  const ParityReport r = Check(dir);
  EXPECT_EQ(r.checked, 900);
  EXPECT_EQ(r.customers_differing, 3);
  std::map<std::string, std::vector<ParityDifference>> by;
  for (const auto& d : r.differences) by[d.key.Encode()].push_back(d);
  ASSERT_EQ(by[a.Encode()].size(), 1u);
  EXPECT_EQ(by[a.Encode()][0].kind, "score");
  EXPECT_EQ(by[a.Encode()][0].field, "risk_decline_90d");
  ASSERT_EQ(by[b.Encode()].size(), 1u);
  EXPECT_EQ(by[b.Encode()][0].kind, "reason");
  EXPECT_EQ(by[b.Encode()][0].field, reason);
  // Features recomputed at the claimed as_of still agree between the two paths;
  // the published probabilities (made 60 days later) do not.
  ASSERT_FALSE(by[c.Encode()].empty());
  for (const auto& d : by[c.Encode()]) EXPECT_NE(d.kind, "feature") << d.field;
  bool score_differs = false;
  for (const auto& d : by[c.Encode()]) score_differs |= d.kind == "score";
  EXPECT_TRUE(score_differs);
}

TEST_F(ParityTest, PendingCustomersAreSkippedAndUnknownModelVersionsCounted) {
  const std::string dir = ScoredCopy("pending");
  const CustomerKey a{"shop-1", "c-000005"};
  {
    // A newer event applied by a pipeline (pending mark) whose score was not delivered.
    auto sd = OpenDir(dir, /*mark_pending=*/true);
    ASSERT_TRUE(sd.ok());
    FeatureStore* store = (*sd)->StoreFor(a.Encode());
    ASSERT_TRUE(store->GetState(a).ok());
    v1::Event e;
    e.set_event_id("parity-late-purchase");
    e.set_shop_id(a.shop_id);
    e.set_customer_id(a.customer_id);
    e.set_event_time_ms(store->max_event_time_ms());
    e.mutable_purchase()->set_order_id("o-parity");
    auto* line = e.mutable_purchase()->add_lines();
    line->set_category("books");
    line->set_quantity(1);
    line->set_unit_price(10.0);
    ASSERT_TRUE(store->ApplyBatch(std::vector<v1::Event>{e}, {}).ok());
  }
  const CustomerKey b{"shop-2", "c-000007"};
  EditScore(dir, b,
            [](v1::CustomerScore* s) { s->set_repurchase_model_version("19990101-deadbeef"); });
  const ParityReport r = Check(dir);
  EXPECT_EQ(r.pending_skipped, 1);
  EXPECT_EQ(r.checked, 899);
  EXPECT_EQ(r.no_model, 1);
  EXPECT_TRUE(r.differences.empty())
      << r.differences.front().key.Encode() << " " << r.differences.front().field;
}

TEST_F(ParityTest, AHorizonThatDiffersBetweenScorerAndTrainerShowsAsFeatureDifferences) {
  // Partition 0's watermark moves 200 days past the data: its horizon starts
  // 100 days into the history, the trainer (first day inside every store's
  // horizon) uses that for all partitions, the scorer of partition 1 did not.
  const std::string dir = ScoredCopy("horizon");
  {
    auto sd = OpenDir(dir);
    ASSERT_TRUE(sd.ok());
    FeatureStore* p0 = (*sd)->store(0);
    v1::Event e;
    e.set_event_id("parity-far-future");
    e.set_shop_id("shop-9");
    e.set_customer_id("c-far");
    e.set_event_time_ms(p0->max_event_time_ms() + 200 * kMillisPerDay);
    e.mutable_session()->set_minutes(1);
    ASSERT_TRUE(p0->ApplyBatch(std::vector<v1::Event>{e}, {}).ok());
  }
  const ParityReport r = Check(dir);
  ASSERT_FALSE(r.differences.empty());
  int windowed = 0, lifetime = 0;
  for (const auto& d : r.differences) {
    EXPECT_EQ(d.kind == "feature" || d.kind == "reason" || d.kind == "score", true);
    if (d.field == "orders_365d" || d.field == "revenue_365d") ++windowed;
    // Lifetime features count the days before either horizon: they agree.
    if (d.field == "days_since_first_purchase" || d.field == "orders_lifetime") ++lifetime;
  }
  EXPECT_GT(windowed, 0);
  EXPECT_EQ(lifetime, 0);
}

TEST_F(ParityTest, AScoreThatDoesNotParseFailsNamingTheCustomer) {
  const std::string dir = ScoredCopy("corrupt");
  const CustomerKey a{"shop-1", "c-000001"};
  {
    auto sd = OpenDir(dir);
    ASSERT_TRUE(sd.ok());
    ASSERT_TRUE((*sd)
                    ->StoreFor(a.Encode())
                    ->ledger()
                    .Commit({{a, std::string("\xff\xff\xff", 3)}}, {}, {})
                    .ok());
  }
  ParityOptions o;
  o.state_dir = dir;
  o.models_dir = Models();
  auto r = CheckParity(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("shop-1/c-000001"), std::string::npos) << r.status();
}

TEST_F(ParityTest, AMissingStateDirFails) {
  ParityOptions o;
  o.state_dir = (*root_ / "nope").string();
  o.models_dir = Models();
  EXPECT_FALSE(CheckParity(o).ok());
}

}  // namespace
}  // namespace recur
