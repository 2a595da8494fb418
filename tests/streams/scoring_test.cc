// Scoring inside `recur run`, against librdkafka's in-process mock cluster: scores
// for every touched customer with the models' own probabilities, re-scoring of a
// quiet customer as the watermark passes day boundaries, a late event after a
// pass scored as of the pass's day (never back in time), models picked up and
// swapped without a restart (a model of another schema refused), pending
// customers scored first after a crash between state commit and delivery, and
// start-up refusing a bad rules file or a file that is not a model.
// The real-broker runs (determinism, kill -9, reload under load) are in
// tests/integration/scores_test.sh.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "base/sync_point.h"
#include "featurestore/state_dir.h"
#include "ops/simulator.h"
#include "scorer/model.h"
#include "scorer/policy.h"
#include "streams/embedded.h"
#include "streams/kafka.h"
#include "streams/pipeline.h"
#include "streams/producer.h"
#include "streams/score_worker.h"
#include "tests/scorer/test_models.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/kafka.h"

namespace recur {
namespace {

namespace fs = std::filesystem;
using testing::EventFactory;
using testing::Ms;
using testing::WriteThresholdModel;

const int kDaysSince = FeatureIndex("days_since_last_purchase");
const int kOrders90 = FeatureIndex("orders_90d");

struct Scored {
  std::string key;
  v1::CustomerScore score;
  std::string bytes;
};

class ScoringTest : public testing::EmbeddedKafkaTest {
 protected:
  ScoringTest() : EmbeddedKafkaTest("recur-scoring", /*partitions=*/1) {}

  fs::path models() const { return dir_ / "models"; }
  void WriteModels(const std::string& risk_version, const std::string& repurchase_version) {
    ASSERT_TRUE(
        WriteThresholdModel(models(), "activity_decline_90d", risk_version, kDaysSince, 20));
    ASSERT_TRUE(WriteThresholdModel(models(), "repurchase_30d", repurchase_version, kOrders90, 2));
  }

  PipelineOptions Options() {
    PipelineOptions o = BrokerPipelineOptions();
    o.scoring.scorer.models_dir = models().string();
    o.scoring.reload_check_ms = 100;
    return o;
  }

  void Produce(const std::vector<v1::Event>& events) { ProduceToBroker(events); }

  // Runs a pipeline with Options() until everything produced is consumed and
  // scored (it exits when idle), then closes it.
  void RunToIdle() {
    auto p = Pipeline::Create(Options());
    ASSERT_TRUE(p.ok()) << p.status();
    std::atomic<bool> stop{false};
    ASSERT_TRUE((*p)->Run(stop).ok());
  }

  // Everything in the scores topic so far, in order (one partition).
  std::vector<Scored> ReadScores() {
    auto records = testing::ReadTopicToEnd(kafka_->bootstraps(), topics_.scores, 0);
    EXPECT_TRUE(records.ok()) << records.status();
    std::vector<Scored> out;
    if (!records.ok()) return out;
    for (testing::TopicRecord& r : *records) {
      Scored s;
      s.key = std::move(r.key);
      s.bytes = std::move(r.value);
      EXPECT_TRUE(s.score.ParseFromString(s.bytes));
      out.push_back(std::move(s));
    }
    return out;
  }
  // The scores of one customer key so far, in order.
  std::vector<v1::CustomerScore> ScoresOf(const std::string& key) {
    std::vector<v1::CustomerScore> q;
    for (const Scored& s : ReadScores()) {
      if (s.key == key) q.push_back(s.score);
    }
    return q;
  }

  std::unique_ptr<FeatureStore> OpenStore(bool read_only) {
    FeatureStore::Options o;
    o.path = StateDir::PartitionPath((dir_ / "state").string(), 0);
    o.read_only = read_only;
    o.mark_pending = !read_only;
    o.expire_outside_horizon = true;
    auto s = FeatureStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }

  // A writable store of partition 0 holding one purchase each of c-0 .. c-<n-1>
  // (shop-1), at offsets 0 .. n-1 of the purchases topic; null on failure.
  std::unique_ptr<FeatureStore> StoreWithPurchases(int n) {
    fs::create_directories(dir_ / "state");
    auto store = OpenStore(/*read_only=*/false);
    if (store == nullptr) return nullptr;
    std::vector<v1::Event> events;
    for (int i = 0; i < n; ++i)
      events.push_back(
          EventFactory("shop-1", "c-" + std::to_string(i)).Purchase(Ms(2024, 3, 1), 10));
    absl::Status s = store->ApplyBatch(events, {{{topics_.purchases, 0}, n}});
    EXPECT_TRUE(s.ok()) << s;
    return s.ok() ? std::move(store) : nullptr;
  }

  // A stage on models() publishing to the scores topic with its own producer.
  absl::StatusOr<std::unique_ptr<ScoreStage>> NewStage(ScoringOptions so) {
    auto producer = Producer::Create({{"bootstrap.servers", kafka_->bootstraps()}});
    if (!producer.ok()) return producer.status();
    producer_ = std::move(*producer);
    so.scorer.models_dir = models().string();
    return ScoreStage::Create(so, topics_.scores, producer_.get());
  }
  std::unique_ptr<Producer> producer_;

  static std::vector<v1::Event> Simulated(int shops, int customers, int days) {
    return testing::SimulateEvents(shops, customers, days);
  }
};

TEST_F(ScoringTest, EveryTouchedCustomerGetsTheModelsOwnProbabilitiesWithReasonsAndSegments) {
  WriteModels("r1", "p1");
  const auto events = Simulated(2, 40, 60);
  Produce(events);
  ASSERT_NO_FATAL_FAILURE(RunToIdle());

  const std::vector<Scored> scores = ReadScores();
  std::map<std::string, const Scored*> last;
  for (const Scored& s : scores) last[s.key] = &s;
  auto store = OpenStore(/*read_only=*/true);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->ledger().ReadPending()->empty());
  auto risk = Model::LoadCurrent(models().string(), "activity_decline_90d");
  auto repurchase = Model::LoadCurrent(models().string(), "repurchase_30d");
  ASSERT_TRUE(risk.ok() && repurchase.ok());
  int customers = 0, with_reasons = 0, with_segments = 0;
  ASSERT_TRUE(
      store->ledger()
          .ForEachCustomerWithScore([&](const CustomerKey& k, const CustomerState& st,
                                        const std::string* stored) {
            ++customers;
            auto it = last.find(k.Encode());
            EXPECT_NE(it, last.end()) << k.Encode() << " has no score";
            if (it == last.end()) return absl::OkStatus();
            const v1::CustomerScore& s = it->second->score;
            // The store remembers exactly the last delivered bytes, followed
            // by the inputs' digest (a field the published message never has).
            const std::string& sent = it->second->bytes;
            EXPECT_TRUE(stored != nullptr && stored->compare(0, sent.size(), sent) == 0)
                << k.Encode();
            v1::CustomerScore recorded;
            EXPECT_TRUE(stored != nullptr && recorded.ParseFromString(*stored)) << k.Encode();
            EXPECT_EQ(s.inputs_key(), 0u) << k.Encode();
            EXPECT_NE(recorded.inputs_key(), 0u) << k.Encode();
            recorded.clear_inputs_key();
            EXPECT_EQ(recorded.SerializeAsString(), sent) << k.Encode();
            EXPECT_EQ(s.shop_id(), k.shop_id);
            EXPECT_EQ(s.customer_id(), k.customer_id);
            EXPECT_EQ(s.risk_model_version(), "r1");
            EXPECT_EQ(s.repurchase_model_version(), "p1");
            EXPECT_EQ(s.schema_hash(), SchemaHash());
            // As of the customer's latest event, or the start of the watermark's day.
            EXPECT_GE(s.as_of_ms(), st.last_event_ms());
            EXPECT_LE(s.as_of_ms(), store->max_event_time_ms());
            std::vector<float> row(kNumFeatures);
            FeatureRow(st.ComputeFeatures(s.as_of_ms(), store->horizon_first_day()), row.data());
            EXPECT_NEAR(s.risk_decline_90d(), (*(*risk)->Score(row))[0], 1e-6) << k.Encode();
            EXPECT_NEAR(s.repurchase_30d(), (*(*repurchase)->Score(row))[0], 1e-6) << k.Encode();
            EXPECT_EQ(s.reasons_method(), "approximate");
            EXPECT_LE(s.reasons_size(), 3);
            with_reasons += s.reasons_size() > 0;
            for (const auto& r : s.reasons()) EXPECT_GE(FeatureIndex(r.feature()), 0);
            with_segments += s.segments_size() > 0;
            EXPECT_EQ(s.segments_size() > 0,
                      s.actions_size() > 0);  // every default rule has an action
            return absl::OkStatus();
          })
          .ok());
  EXPECT_EQ(customers, 80);
  EXPECT_GT(with_reasons, 20);
  EXPECT_GT(with_segments, 0);
}

TEST_F(ScoringTest, ADayPassRunsInStepsWhileBatchesAreCommittedAndEndsAsOfItsDay) {
  // The day-boundary pass runs in steps of 5 customers on the scoring thread.
  // In the middle of the second pass (held at one of its steps) a new batch is
  // produced: the loop must consume and commit it before the pass may go on
  // (with the pass on the loop thread, as before, this waits in vain). At the
  // end every customer's last score is the models' as of the pass's day, or of
  // its own later event, and nothing is left pending.
  WriteModels("r1", "p1");
  const auto history = Simulated(2, 40, 60);
  Produce(history);
  PipelineOptions o = Options();
  o.exit_when_idle_ms = 0;
  o.scoring.chunk = 5;
  o.scoring.epsilon = -1;  // every re-score is published: the last score shows the pass's as-of
  o.batch_linger_ms = 20;
  auto p = Pipeline::Create(o);
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<int> commits{0}, steps_in_second{0};
  std::atomic<bool> acted{false}, committed_during_pass{false};
  EventFactory late("shop-1", "touched-during-the-pass");
  const int64_t next_day = (DayOf(history.back().event_time_ms()) + 2) * kMillisPerDay;
  SyncPoint::Get()->SetCallBack("Pipeline::AfterStateCommit", [&](void*) { ++commits; });
  SyncPoint::Get()->SetCallBack("ScoreStage::RescoreChunk", [&](void*) {
    if ((*p)->counters().rescoring_passes < 1) return;  // the first pass, after the history
    ++steps_in_second;
    if (acted.exchange(true)) return;
    const int before = commits.load();
    Produce({late.Purchase(next_day + 3'600'000, 12.0)});
    for (int i = 0; i < 600 && commits.load() == before; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    committed_during_pass = commits.load() > before;
  });
  SyncPoint::Get()->EnableProcessing();
  std::atomic<bool> stop{false};
  absl::Status result;
  std::thread runner([&] { result = (*p)->Run(stop); });
  auto wait_for = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 1200 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    return done();
  };
  EXPECT_TRUE(wait_for([&] { return (*p)->counters().rescoring_passes >= 1; }));
  // A new day: enough events past its start move the watermark (--watermark-events).
  EventFactory busy("shop-2", "busy");
  std::vector<v1::Event> day;
  for (int i = 0; i < kDefaultWatermarkEvents + 8; ++i)
    day.push_back(busy.Session(next_day + i * 1000, 5, 3, 1, 0));
  Produce(day);
  EXPECT_TRUE(wait_for([&] {
    const PipelineCounters c = (*p)->counters();
    return c.rescoring_passes >= 2 && c.caught_up;
  }));
  stop = true;
  runner.join();
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  ASSERT_TRUE(result.ok()) << result;
  EXPECT_TRUE(committed_during_pass) << "no batch was committed while the pass was under way";
  EXPECT_GT(steps_in_second.load(), 5);  // 81 customers in steps of 5

  auto store = OpenStore(/*read_only=*/true);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->ledger().ReadPending()->empty());
  auto risk = Model::LoadCurrent(models().string(), "activity_decline_90d");
  ASSERT_TRUE(risk.ok());
  const int32_t pass_day = DayOf(store->watermark_ms());
  int customers = 0;
  ASSERT_TRUE(
      store->ledger()
          .ForEachCustomerWithScore([&](const CustomerKey& k, const CustomerState& st,
                                        const std::string* bytes) {
            ++customers;
            v1::CustomerScore s;
            EXPECT_TRUE(bytes != nullptr && s.ParseFromString(*bytes)) << k.Encode();
            EXPECT_EQ(s.as_of_ms(), RescoreAsOf(st.last_event_ms(), pass_day)) << k.Encode();
            std::vector<float> row(kNumFeatures);
            FeatureRow(st.ComputeFeatures(s.as_of_ms(), store->horizon_first_day()), row.data());
            EXPECT_NEAR(s.risk_decline_90d(), (*(*risk)->Score(row))[0], 1e-6) << k.Encode();
            return absl::OkStatus();
          })
          .ok());
  EXPECT_EQ(customers, 82);  // the history's 80, the busy one and the one touched mid-pass
}

TEST_F(ScoringTest, APassThatSkipsCustomersWithTheSameInputsPublishesWhatTheFullPassDoes) {
  // Two identical stores, each with its own stage: one skips the models for
  // customers whose InputsKey equals their last score's, the other runs every
  // customer through them (--rescore-all). Day by day (events applied and
  // scored, then the day's pass; then 40 days without purchases, only a
  // watermark moving) both must publish the same number of scores and hold
  // byte-identical last scores and the same drift (epsilon 0: every score
  // that moved at all is published, so a wrongly skipped one shows); the first must have
  // skipped some customers and both must have published changed scores on
  // later days (else the comparison would prove nothing). Models with 60
  // trees of depth 5 fitted to 30% flipped labels: splits on most features,
  // recency and window ones among them; the default rules (a quantile
  // condition whose value moves every day).
  ASSERT_TRUE(WriteThresholdModel(models(), "activity_decline_90d", "r1", kDaysSince, 20, true,
                                  SchemaHash(), /*trees=*/60, /*depth=*/5, /*flip=*/0.3));
  ASSERT_TRUE(WriteThresholdModel(models(), "repurchase_30d", "p1", kOrders90, 2, true,
                                  SchemaHash(), /*trees=*/60, /*depth=*/5, /*flip=*/0.3));
  // Drift references (deciles of made-up rows), so that both passes' drift is
  // measured and compared.
  for (const auto& [target, version] :
       {std::pair{"activity_decline_90d", "r1"}, std::pair{"repurchase_30d", "p1"}}) {
    const fs::path dir = ModelRegistry(models()).VersionDir(target, version);
    auto meta = ModelMeta::Read(dir);
    ASSERT_TRUE(meta.ok()) << meta.status();
    std::vector<float> x(500 * kNumFeatures), p(500);
    for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>((i * 7919) % 120);
    for (size_t i = 0; i < p.size(); ++i) p[i] = static_cast<float>(i % 100) / 100.0f;
    meta->drift = DriftReference::FromRows(x, p, "all");
    ASSERT_TRUE(meta->Write(dir).ok());
  }
  struct Side {
    std::unique_ptr<FeatureStore> store;
    std::unique_ptr<Producer> producer;
    std::unique_ptr<ScoreStage> stage;
    int64_t offset = 0;
  };
  std::vector<Side> sides(2);
  for (size_t i = 0; i < sides.size(); ++i) {
    FeatureStore::Options fo;
    fo.path = (dir_ / ("state-" + std::to_string(i))).string();
    fo.expire_outside_horizon = true;
    auto store = FeatureStore::Open(fo);
    ASSERT_TRUE(store.ok()) << store.status();
    sides[i].store = std::move(*store);
    auto producer = Producer::Create({{"bootstrap.servers", kafka_->bootstraps()}});
    ASSERT_TRUE(producer.ok()) << producer.status();
    sides[i].producer = std::move(*producer);
    ScoringOptions so;
    so.scorer.models_dir = models().string();
    so.chunk = 16;
    so.epsilon = 0;  // any change of a probability is published: a wrong skip shows
    so.skip_unchanged = i == 0;
    auto stage = ScoreStage::Create(so, topics_.scores, sides[i].producer.get());
    ASSERT_TRUE(stage.ok()) << stage.status();
    sides[i].stage = std::move(*stage);
    ASSERT_TRUE(sides[i].stage->OpenStore(0, sides[i].store.get()).ok());
  }
  std::map<int32_t, std::vector<v1::Event>> by_day;
  for (const v1::Event& e : Simulated(2, 60, 70)) by_day[DayOf(e.event_time_ms())].push_back(e);
  const int32_t first = by_day.begin()->first, last = by_day.rbegin()->first;
  EventFactory clock("shop-clock", "clock");  // moves the watermark on quiet days
  for (int32_t d = last + 1; d <= last + 40; ++d)
    by_day[d].push_back(clock.Session(int64_t{d} * kMillisPerDay + 3'600'000, 1, 1, 0, 0));

  auto ledger = [](FeatureStore& store) {
    std::map<std::string, std::string> out;
    EXPECT_TRUE(store.ledger()
                    .ForEachCustomerWithScore(
                        [&](const CustomerKey& k, const CustomerState&, const std::string* bytes) {
                          if (bytes != nullptr) out[k.Encode()] = *bytes;
                          return absl::OkStatus();
                        })
                    .ok());
    return out;
  };
  int64_t published_on_quiet_days = 0;
  for (const auto& [day, events] : by_day) {
    if (day < first + 20) continue;  // the first 20 days: history, applied at once below
    std::vector<v1::Event> batch = events;
    if (day == first + 20) {
      batch.clear();
      for (const auto& [d, e] : by_day) {
        if (d > day) break;
        batch.insert(batch.end(), e.begin(), e.end());
      }
    }
    std::set<CustomerKey> touched;
    for (const v1::Event& e : batch) touched.insert({e.shop_id(), e.customer_id()});
    std::vector<int64_t> published(2);
    for (size_t i = 0; i < sides.size(); ++i) {
      Side& side = sides[i];
      side.offset += static_cast<int64_t>(batch.size());
      ASSERT_TRUE(side.store->ApplyBatch(batch, {{{topics_.purchases, 0}, side.offset}}).ok());
      ASSERT_TRUE(
          side.stage->ScoreCustomers({{0, side.store.get(), {touched.begin(), touched.end()}}})
              .ok());
      ASSERT_TRUE(side.stage->Drain(/*wait=*/true).ok());
      const int64_t before = side.stage->counters().published;
      ASSERT_TRUE(side.stage->Rescore(0, side.store.get()).ok());
      published[i] = side.stage->counters().published - before;
    }
    ASSERT_EQ(published[0], published[1]) << "day " << FormatDay(day);
    if (day > last) published_on_quiet_days += published[1];
    const auto skipping = ledger(*sides[0].store), full = ledger(*sides[1].store);
    ASSERT_EQ(skipping.size(), full.size()) << "day " << FormatDay(day);
    for (const auto& [key, bytes] : full) {
      ASSERT_EQ(skipping.at(key), bytes) << key << " on day " << FormatDay(day);
    }
    const auto drift = sides[0].stage->counters().drift,
               full_drift = sides[1].stage->counters().drift;
    ASSERT_EQ(drift.size(), full_drift.size());
    ASSERT_EQ(drift.size(), 2u);
    for (size_t t = 0; t < drift.size(); ++t) {
      EXPECT_GT(drift[t].rows, 0);
      EXPECT_EQ(drift[t].rows, full_drift[t].rows);
      EXPECT_EQ(drift[t].score_psi, full_drift[t].score_psi);
      for (size_t f = 0; f < drift[t].feature_psi.size(); ++f) {
        EXPECT_TRUE(
            drift[t].feature_psi[f] == full_drift[t].feature_psi[f] ||
            (std::isnan(drift[t].feature_psi[f]) && std::isnan(full_drift[t].feature_psi[f])))
            << kFeatureNames[f];
      }
    }
  }
  const ScoringCounters& skipping = sides[0].stage->counters();
  const ScoringCounters& full = sides[1].stage->counters();
  EXPECT_EQ(full.same_inputs, 0);
  EXPECT_GT(skipping.same_inputs, full.scored / 10) << "hardly any customer was skipped";
  EXPECT_EQ(skipping.scored + skipping.same_inputs, full.scored);
  EXPECT_EQ(skipping.unchanged, full.unchanged);
  EXPECT_GT(published_on_quiet_days, 0) << "no score changed after the purchases stopped";
  std::cout << "scored: all " << full.scored << ", skipping " << skipping.scored << " (+"
            << skipping.same_inputs << " kept); published " << full.published
            << ", on the quiet days " << published_on_quiet_days << "\n";
}

TEST_F(ScoringTest, EventToScoreLatencyIsObservedOncePerEventDrivenScoreFromItsRecordsTime) {
  WriteModels("r1", "p1");
  const auto events = Simulated(1, 20, 40);
  Produce(events);
  ASSERT_NO_FATAL_FAILURE(RunToIdle());  // the history, its pass and quantile table
  const auto wall_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const int64_t produced_ms = wall_ms();
  EventFactory f("shop-1", "late-comer");
  Produce({f.Purchase(events.back().event_time_ms(), 12.0)});
  auto p = Pipeline::Create(Options());
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<bool> stop{false};
  ASSERT_TRUE((*p)->Run(stop).ok());
  const int64_t done_ms = wall_ms();
  // One event-driven score (no pass: the event is in the watermark's day).
  const Histogram& h = (*p)->counters().scoring.event_to_score;
  ASSERT_EQ(h.count(), 1);
  EXPECT_EQ(ScoresOf("shop-1/late-comer").size(), 1u);
  // From the record's timestamp (set when produced) to the delivery.
  EXPECT_GE(h.sum(), 0.0);
  EXPECT_LE(h.sum(), static_cast<double>(done_ms - produced_ms) / 1000.0);
}

TEST_F(ScoringTest, ExclusiveWorkDoesNotWaitForAPassUnderWay) {
  // A revocation or a store opened (ScoreWorker::Exclusive) while a pass runs
  // in many slow steps: it runs between two of them, the pass still under way,
  // and the pass then ends.
  WriteModels("r1", "p1");
  ScoringOptions so;
  so.chunk = 1;
  auto stage = NewStage(so);
  ASSERT_TRUE(stage.ok()) << stage.status();
  auto store = StoreWithPurchases(100);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE((*stage)->OpenStore(0, store.get()).ok());
  ScoreWorker worker(std::move(*stage), {});
  SyncPoint::Get()->SetCallBack("ScoreStage::RescoreChunk", [](void*) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));  // 200 slow steps: ~4 s
  });
  SyncPoint::Get()->EnableProcessing();
  worker.RequestPass(0);
  for (int i = 0; i < 600 && worker.stats().pass_steps < 110; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  bool under_way = false;
  ASSERT_TRUE(worker
                  .Exclusive([&](ScoreStage& s) {
                    under_way = s.Passing().count(0) > 0;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_TRUE(under_way) << "Exclusive waited for the whole pass";
  for (int i = 0; i < 1200 && !worker.stats().passing.empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  EXPECT_TRUE(worker.stats().passing.empty());
  EXPECT_EQ(worker.stats().counters.passes, 1);
  EXPECT_TRUE(worker.error().ok()) << worker.error();
}

TEST_F(ScoringTest, BatchesQueuedBehindOneAnotherAreScoredInOneCallEachCustomerOnce) {
  // The worker is held before scoring the first batch until three more are
  // queued; those three (c-1, c-1 and c-2) are then scored in one call: c-1
  // once. Every customer ends with one delivered score and no pending mark.
  WriteModels("r1", "p1");
  ScoringOptions so;
  so.quantiles_first = false;  // scored at once, not held for the first pass's quantiles
  auto stage = NewStage(so);
  ASSERT_TRUE(stage.ok()) << stage.status();
  auto store = StoreWithPurchases(3);
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE((*stage)->OpenStore(0, store.get()).ok());
  ScoreWorker worker(std::move(*stage), {});
  std::atomic<int> held{0};
  std::atomic<bool> release{false};
  SyncPoint::Get()->SetCallBack("ScoreWorker::BeforeScoring", [&](void*) {
    if (held++ > 0) return;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  SyncPoint::Get()->EnableProcessing();
  auto work = [&](const std::string& customer) {
    return std::vector<ScoreStage::Work>{{0, store.get(), {CustomerKey{"shop-1", customer}}, -1}};
  };
  worker.Submit(work("c-0"));
  while (held.load() == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  worker.Submit(work("c-1"));
  worker.Submit(work("c-1"));
  worker.Submit(work("c-2"));
  release = true;
  ASSERT_TRUE(worker.Exclusive([](ScoreStage& s) { return s.Drain(/*wait=*/true); }).ok());
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  const ScoreWorker::Stats st = worker.stats();
  EXPECT_EQ(held.load(), 2);  // two scoring calls
  EXPECT_EQ(st.merged, 2);
  EXPECT_EQ(st.counters.scored, 3);  // c-0, then c-1 and c-2 once each
  EXPECT_TRUE(worker.error().ok()) << worker.error();
  for (const char* c : {"c-0", "c-1", "c-2"}) {
    EXPECT_EQ(ScoresOf(std::string("shop-1/") + c).size(), 1u) << c;
  }
  auto pending = store->ledger().ReadPending();
  ASSERT_TRUE(pending.ok()) << pending.status();
  EXPECT_TRUE(pending->empty());
}

TEST_F(ScoringTest, AQuietCustomerIsRescoredAsTheWatermarkPassesAndItsRiskRises) {
  WriteModels("r1", "p1");
  EventFactory quiet("shop-1", "quiet"), busy("shop-1", "busy");
  std::vector<v1::Event> history;
  for (int d = 1; d <= 28; d += 3) history.push_back(quiet.Purchase(Ms(2024, 1, d), 30.0));
  for (int d = 1; d <= 28; ++d) history.push_back(busy.Session(Ms(2024, 1, d), 5, 3, 1, 0));
  Produce(history);
  auto p = Pipeline::Create([&] {
    PipelineOptions o = Options();
    o.exit_when_idle_ms = 0;  // live: runs until stopped
    o.scoring.epsilon = 0.001;
    return o;
  }());
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<bool> stop{false};
  absl::Status result;
  std::thread runner([&] { result = (*p)->Run(stop); });
  // Only the busy customer is active for the next 60 days, ten days at a time,
  // each chunk consumed before the next arrives (a live stream, not a backlog).
  // The history first: scored by the store's first pass once caught up.
  for (int i = 0; i < 300 && ScoresOf("shop-1/quiet").empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  for (int chunk = 0; chunk < 6; ++chunk) {
    std::vector<v1::Event> days;
    for (int d = 1; d <= 10; ++d)
      days.push_back(busy.Session(Ms(2024, 1, 28) + (chunk * 10 + d) * kMillisPerDay, 5, 3, 1, 0));
    Produce(days);
    std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  }
  stop = true;
  runner.join();
  ASSERT_TRUE(result.ok()) << result;

  std::vector<v1::CustomerScore> q;
  for (const Scored& s : ReadScores()) {
    if (s.key == "shop-1/quiet") q.push_back(s.score);
  }
  ASSERT_GE(q.size(), 2u);
  // First as of its last purchase, Jan 28 (the first pass, as of the day of the
  // history's watermark), then re-scores at later days.
  const int64_t last_purchase = Ms(2024, 1, 28);
  const v1::CustomerScore* first_rescore = nullptr;
  for (const auto& s : q) {
    if (s.as_of_ms() > last_purchase) {
      first_rescore = first_rescore ? first_rescore : &s;
    }
  }
  ASSERT_NE(first_rescore, nullptr) << "never re-scored without events";
  const v1::CustomerScore& at_purchase = q.front();
  const v1::CustomerScore& latest = q.back();
  EXPECT_EQ(at_purchase.as_of_ms(), last_purchase);
  EXPECT_GT(DayOf(latest.as_of_ms()), DayOf(last_purchase) + 20);
  EXPECT_LT(at_purchase.risk_decline_90d(), 0.3);
  EXPECT_GT(latest.risk_decline_90d(), 0.7);
  for (size_t i = 1; i < q.size(); ++i) EXPECT_GT(q[i].as_of_ms(), q[i - 1].as_of_ms());
}

TEST_F(ScoringTest, ALapsedBuyerIsScoredFromItsLifetimeAndAnExpiredVisitorIsNot) {
  // The population rule (CustomerState::InPopulation) online: after 500 days
  // both customers' activity lies beyond the 400-day horizon. The buyer stays in
  // the population and is scored from its lifetime aggregates; the visitor, with
  // no purchase and no profile, is in no population and gets no score (the
  // trainer makes no row for it either: tests/trainer/labels_test.cc).
  WriteModels("r1", "p1");
  EventFactory lapsed("shop-1", "lapsed"), visitor("shop-1", "visitor"), busy("shop-1", "busy");
  std::vector<v1::Event> events = {lapsed.Purchase(Ms(2023, 1, 10), {{"books", 3, 10}}),
                                   lapsed.Purchase(Ms(2023, 2, 10), 5),
                                   visitor.Session(Ms(2023, 1, 10), 5, 3, 1, 0)};
  for (int d = 0; d < 500; d += 2)
    events.push_back(busy.Session(Ms(2023, 1, 1) + d * kMillisPerDay, 5, 3, 1, 0));
  Produce(events);
  ASSERT_NO_FATAL_FAILURE(RunToIdle());

  EXPECT_TRUE(ScoresOf("shop-1/visitor").empty());
  const std::vector<v1::CustomerScore> q = ScoresOf("shop-1/lapsed");
  ASSERT_FALSE(q.empty());
  auto store = OpenStore(/*read_only=*/true);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->ledger().ReadPending()->empty());  // the visitor is not left pending
  const int32_t horizon = store->horizon_first_day();
  ASSERT_GT(horizon, DayOf(Ms(2023, 2, 10)));  // every purchase is beyond the horizon
  const v1::CustomerScore& last = q.back();
  EXPECT_GE(DayOf(last.as_of_ms()), horizon);
  auto st = store->GetState(CustomerKey{"shop-1", "lapsed"});
  ASSERT_TRUE(st.ok()) << st.status();
  const Features f = st->ComputeFeatures(last.as_of_ms(), horizon);
  EXPECT_EQ(f[kOrdersLifetime], 2);
  EXPECT_EQ(f[kItemsLifetime], 4);
  EXPECT_DOUBLE_EQ(f[kRevenueLifetime], 35);
  EXPECT_EQ(f[kDaysSinceLastPurchase], DayOf(last.as_of_ms()) - DayOf(Ms(2023, 2, 10)));
  EXPECT_EQ(f[kOrders365d], 0);
  auto risk = Model::LoadCurrent(models().string(), "activity_decline_90d");
  ASSERT_TRUE(risk.ok());
  std::vector<float> row(kNumFeatures);
  FeatureRow(f, row.data());
  EXPECT_NEAR(last.risk_decline_90d(), (*(*risk)->Score(row))[0], 1e-6);
}

TEST_F(ScoringTest, ALateEventAfterADayPassIsScoredAsOfThatDayNotBackInTime) {
  WriteModels("r1", "p1");
  EventFactory late("shop-1", "late"), busy("shop-1", "busy");
  std::vector<v1::Event> history = {late.Purchase(Ms(2024, 1, 1), 30.0),
                                    late.Purchase(Ms(2024, 1, 3), 30.0)};
  for (int d = 0; d < 41; ++d)
    history.push_back(busy.Session(Ms(2024, 1, 1) + d * kMillisPerDay, 5, 3, 1, 0));
  // The store's day moves once kDefaultWatermarkEvents events are in it.
  for (int i = 1; i < kDefaultWatermarkEvents; ++i)
    history.push_back(
        EventFactory("shop-1", "other-" + std::to_string(i)).Session(Ms(2024, 2, 10), 5, 3, 1, 0));
  Produce(history);  // watermark Feb 10: a caught-up store re-scores everyone as of that day
  auto p = Pipeline::Create([&] {
    PipelineOptions o = Options();
    o.exit_when_idle_ms = 0;  // live: runs until stopped
    return o;
  }());
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<bool> stop{false};
  absl::Status result;
  std::thread runner([&] { result = (*p)->Run(stop); });
  auto late_scores = [&] { return ScoresOf("shop-1/late"); };
  auto wait_for = [&](const std::function<bool(const std::vector<v1::CustomerScore>&)>& done) {
    for (int i = 0; i < 100 && !done(late_scores()); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
  };
  wait_for([](const auto& q) { return !q.empty() && q.back().as_of_ms() == Ms(2024, 2, 10, 0); });
  const size_t before = late_scores().size();
  Produce({late.Purchase(Ms(2024, 2, 5), 30.0)});  // five days late, after the Feb 10 pass
  wait_for([&](const auto& q) { return q.size() > before; });
  stop = true;
  runner.join();
  ASSERT_TRUE(result.ok()) << result;

  const std::vector<v1::CustomerScore> q = late_scores();
  // The Feb 10 pass (risk up; the store's first: its scores wait for the
  // quantile table a pass makes), then the late purchase (risk down).
  ASSERT_GE(q.size(), 2u);
  for (size_t i = 1; i < q.size(); ++i) EXPECT_GE(q[i].as_of_ms(), q[i - 1].as_of_ms()) << i;
  EXPECT_GT(q[q.size() - 2].risk_decline_90d(), 0.7);  // 38 days without a purchase
  EXPECT_EQ(q.back().as_of_ms(), Ms(2024, 2, 10, 0));  // not Feb 5: the store already passed Feb 10
  EXPECT_LT(q.back().risk_decline_90d(), 0.3);  // 5 days since the late purchase, as of Feb 10
}

// Issue 15, item 4: one accepted event 20 h ahead of a months-long stream, across
// a day boundary, moved the partition's watermark to its day: a re-scoring pass
// as of that day and every later score as of it. The day now moves once
// kDefaultWatermarkEvents events are past the boundary; the outlier itself is
// applied and scored as of its own time.
TEST_F(ScoringTest, OneEventTwentyHoursAheadDoesNotMoveThePartitionsDayManyEventsDo) {
  WriteModels("r1", "p1");
  std::vector<EventFactory> busy;
  for (int i = 0; i < 5; ++i) busy.emplace_back("shop-1", "busy-" + std::to_string(i));
  EventFactory outlier("shop-1", "outlier"), later("shop-1", "later");
  std::vector<v1::Event> history;  // Jan 1 .. Mar 31, five customers a day at noon
  for (int d = 0; d < 91; ++d) {
    for (EventFactory& b : busy)
      history.push_back(b.Session(Ms(2024, 1, 1) + d * kMillisPerDay, 5, 3, 1, 0));
  }
  Produce(history);
  auto p = Pipeline::Create([&] {
    PipelineOptions o = Options();
    o.exit_when_idle_ms = 0;  // live: runs until stopped
    return o;
  }());
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<bool> stop{false};
  absl::Status result;
  std::thread runner([&] { result = (*p)->Run(stop); });
  auto wait_until = [](const std::function<bool()>& done) {
    for (int i = 0; i < 300 && !done(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return done();
  };
  auto passes = [&] { return (*p)->counters().rescoring_passes; };
  // Caught up: the pass as of Mar 31.
  ASSERT_TRUE(wait_until([&] {
    return (*p)->counters().applied == static_cast<int64_t>(history.size()) && passes() >= 1;
  }));
  const int64_t passes_before = passes();

  const int64_t ahead = Ms(2024, 3, 31) + 20 * 3'600'000LL;  // Apr 1, 08:00
  Produce({outlier.Session(ahead, 5, 3, 1, 0)});
  ASSERT_TRUE(wait_until([&] { return !ScoresOf("shop-1/outlier").empty(); }));
  Produce({later.Purchase(Ms(2024, 3, 31, 13), 30.0)});  // the stream goes on, on Mar 31
  ASSERT_TRUE(wait_until([&] { return !ScoresOf("shop-1/later").empty(); }));
  EXPECT_EQ(passes(), passes_before) << "a re-scoring pass ran after the outlier";
  EXPECT_EQ(ScoresOf("shop-1/outlier").back().as_of_ms(), ahead);  // applied, scored at its time
  EXPECT_EQ(ScoresOf("shop-1/later").back().as_of_ms(), Ms(2024, 3, 31, 13));
  for (const Scored& s : ReadScores()) {
    if (s.key != "shop-1/outlier") {
      EXPECT_LT(s.score.as_of_ms(), Ms(2024, 4, 1, 0)) << s.key;
    }
  }

  // A genuine advance: kDefaultWatermarkEvents events on Apr 1 (the outlier is one).
  std::vector<v1::Event> april;
  for (int i = 1; i < kDefaultWatermarkEvents; ++i)
    april.push_back(busy[i].Session(Ms(2024, 4, 1, 10), 5, 3, 1, 0));
  Produce(april);
  ASSERT_TRUE(wait_until([&] { return passes() > passes_before; })) << "no pass to Apr 1";
  const size_t scored = ScoresOf("shop-1/later").size();  // the pass may have re-scored it
  Produce({later.Purchase(Ms(2024, 3, 31, 14), 30.0)});   // now behind the partition's day
  ASSERT_TRUE(wait_until([&] { return ScoresOf("shop-1/later").size() > scored; }));
  EXPECT_EQ(ScoresOf("shop-1/later").back().as_of_ms(), Ms(2024, 4, 1, 0));
  stop = true;
  runner.join();
  ASSERT_TRUE(result.ok()) << result;
}

TEST_F(ScoringTest, WithoutModelsItIngestsThenPicksThemUpWithoutARestartAndRefusesAnotherSchema) {
  const auto events = Simulated(1, 30, 40);
  Produce(events);
  auto p = Pipeline::Create([&] {
    PipelineOptions o = Options();
    o.exit_when_idle_ms = 0;
    return o;
  }());
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<bool> stop{false};
  absl::Status result;
  std::thread runner([&] { result = (*p)->Run(stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(4000));
  EXPECT_TRUE(ReadScores().empty());

  WriteModels("r1", "p1");  // promoted by "the trainer" while running
  std::vector<Scored> first;
  std::set<std::string> keys;
  for (int wait = 0; wait < 40 && keys.size() < 30; ++wait) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    first = ReadScores();
    keys.clear();
    for (const Scored& s : first) keys.insert(s.key);
  }
  for (const Scored& s : first) EXPECT_EQ(s.score.risk_model_version(), "r1");
  EXPECT_EQ(keys.size(), 30u);

  // A model of another feature schema is refused; the old one stays in use.
  ASSERT_TRUE(WriteThresholdModel(models(), "activity_decline_90d", "r2-other-schema", kDaysSince,
                                  20, true, "0123456789abcdef"));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EventFactory f("shop-1", "late-comer");
  Produce({f.Purchase(events.back().event_time_ms(), 12.0)});
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  stop = true;
  runner.join();
  ASSERT_TRUE(result.ok()) << result;
  auto all = ReadScores();
  ASSERT_GT(all.size(), first.size());
  EXPECT_EQ(all.back().key, "shop-1/late-comer");
  EXPECT_EQ(all.back().score.risk_model_version(), "r1");
  EXPECT_NE((*p)->StatsJson().find("\"refused\":1"), std::string::npos) << (*p)->StatsJson();
  auto store = OpenStore(true);
  EXPECT_TRUE(store->ledger().ReadPending()->empty());
}

TEST_F(ScoringTest, CustomersLeftPendingByACrashAreScoredFirstAfterTheRestart) {
  WriteModels("r1", "p1");
  // The state of a batch committed by a process that died before its scores
  // were delivered: applied with pending marks, nothing in the scores topic.
  EventFactory a("shop-1", "a"), b("shop-1", "b");
  const std::vector<v1::Event> events = {a.Purchase(Ms(2024, 3, 1), 10),
                                         b.Purchase(Ms(2024, 3, 2), 20)};
  Produce(events);
  {
    fs::create_directories(dir_ / "state");
    auto store = OpenStore(false);
    ASSERT_TRUE(store->ApplyBatch(events, {{{topics_.purchases, 0}, 2}}).ok());
    EXPECT_EQ(store->ledger().ReadPending()->size(), 2u);
  }
  auto p = Pipeline::Create(Options());
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<bool> stop{false};
  ASSERT_TRUE((*p)->Run(stop).ok());
  EXPECT_EQ((*p)->counters().applied, 0);  // nothing consumed twice
  std::set<std::string> keys;
  for (const Scored& s : ReadScores()) keys.insert(s.key);
  EXPECT_EQ(keys, (std::set<std::string>{"shop-1/a", "shop-1/b"}));
  p->reset();
  EXPECT_TRUE(OpenStore(true)->ledger().ReadPending()->empty());
}

TEST_F(ScoringTest, StartUpRefusesABadRulesFileOrAFileThatIsNotAModel) {
  WriteModels("r1", "p1");
  std::ofstream(dir_ / "rules.txt")
      << "# mine\nsegment ok if risk >= 0.5\nsegment bad if revenu_90d > 3\n";
  PipelineOptions o = Options();
  o.scoring.rules_file = (dir_ / "rules.txt").string();
  auto p = Pipeline::Create(o);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("rules.txt:3: unknown feature 'revenu_90d'"),
            std::string::npos)
      << p.status();

  std::ofstream(models() / "activity_decline_90d" / "r1" / "model.json", std::ios::trunc)
      << "{\"not\": \"a model\"}";
  auto q = Pipeline::Create(Options());
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("is not an XGBoost model"), std::string::npos) << q.status();
}

}  // namespace
}  // namespace recur

namespace recur {
namespace {

// Issue 16, item 10: a rule on a quantile of the population (`p0(...)`, the
// minimum: every customer of a shop meets it) holds for every customer once
// the store's quantile table exists, and for nobody without one. So a
// published score without the segment was computed before the table: the
// quantiles must be ready before a store's first publish, whether the models
// are there from the start or arrive while recur runs.
class QuantileSegmentTest : public ScoringTest {
 protected:
  PipelineOptions QuantileOptions() {
    std::ofstream(dir_ / "rules.txt")
        << "segment everyone if orders_365d >= p0(orders_365d) then no action\n";
    PipelineOptions o = Options();
    o.scoring.rules_file = (dir_ / "rules.txt").string();
    o.scoring.chunk = 3;  // the first pass in many steps, batches scored between them
    return o;
  }
  // Every score published carries the quantile segment; returns the keys scored.
  std::set<std::string> ExpectEveryScoreHasTheQuantileSegment() {
    std::set<std::string> keys;
    int without = 0;
    for (const Scored& s : ReadScores()) {
      keys.insert(s.key);
      const bool has = s.score.segments_size() == 1 && s.score.segments(0) == "everyone";
      if (!has) ++without;
    }
    EXPECT_EQ(without, 0) << "scores published before the store's quantile table existed";
    return keys;
  }
};

TEST_F(QuantileSegmentTest, ModelsFromTheStartNoScoreBeforeTheQuantiles) {
  WriteModels("r1", "p1");
  Produce(Simulated(1, 40, 60));
  PipelineOptions o = QuantileOptions();
  o.batch_max_events = 200;  // many batches: event-driven scores before the first pass
  auto p = Pipeline::Create(o);
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<bool> stop{false};
  ASSERT_TRUE((*p)->Run(stop).ok());
  EXPECT_EQ(ExpectEveryScoreHasTheQuantileSegment().size(), 40u);
}

TEST_F(QuantileSegmentTest, ModelsArrivingLaterNoScoreBeforeTheQuantiles) {
  const auto events = Simulated(1, 30, 40);
  Produce(events);
  auto p = Pipeline::Create([&] {
    PipelineOptions o = QuantileOptions();
    o.exit_when_idle_ms = 0;
    return o;
  }());
  ASSERT_TRUE(p.ok()) << p.status();
  std::atomic<bool> stop{false};
  absl::Status result;
  std::thread runner([&] { result = (*p)->Run(stop); });
  while ((*p)->counters().applied + (*p)->counters().duplicates <
         static_cast<int64_t>(events.size())) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  WriteModels("r1", "p1");  // promoted by "the trainer" while running
  // New events keep arriving while the models are picked up.
  EventFactory f("shop-1", "newcomer");
  std::set<std::string> keys;
  for (int i = 0; keys.size() < 31; ++i) {
    if (i < 20) Produce({f.Purchase(events.back().event_time_ms() + i, 5.0)});
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    keys.clear();
    for (const Scored& s : ReadScores()) keys.insert(s.key);
  }
  stop = true;
  runner.join();
  ASSERT_TRUE(result.ok()) << result;
  EXPECT_EQ(ExpectEveryScoreHasTheQuantileSegment().size(), 31u);
}

TEST_F(ScoringTest, ScoresInFlightForAClosedStoreAreNeverRecordedIntoIt) {
  // A store closed without a drain (after a failure elsewhere): the scores
  // still in flight must not be written into it once their delivery reports
  // arrive, since the store is gone (the scoring thread keeps draining). Its
  // customers stay pending in the store for the next owner.
  WriteModels("r1", "p1");
  ScoringOptions so;
  // Rules without a quantile: the store needs no pass before its first score.
  std::ofstream(dir_ / "rules.txt") << "segment at_risk if risk >= 0.5 then call them\n";
  so.rules_file = (dir_ / "rules.txt").string();
  auto stage = NewStage(so);
  ASSERT_TRUE(stage.ok()) << stage.status();
  ASSERT_TRUE((*stage)->active());
  fs::create_directories(dir_ / "state");
  auto store = OpenStore(/*read_only=*/false);
  ASSERT_NE(store, nullptr);
  EventFactory ev;
  FeatureStore::ApplyStats stats;
  ASSERT_TRUE(store
                  ->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)},
                               {{{topics_.purchases, 0}, 1}}, &stats)
                  .ok());
  ASSERT_TRUE((*stage)->OpenStore(0, store.get()).ok());
  ASSERT_TRUE((*stage)->ScoreCustomers({{0, store.get(), stats.touched}}).ok());
  (*stage)->CloseStore(0);
  store.reset();  // gone; a recorded score would write into freed memory (ASan)
  ASSERT_TRUE((*stage)->Drain(/*wait=*/true).ok());
  EXPECT_EQ(ReadScores().size(), 1u);  // published all the same
  auto reopened = OpenStore(/*read_only=*/true);
  ASSERT_NE(reopened, nullptr);
  const std::vector<CustomerKey> pending = {{"shop-1", "c-1"}};
  EXPECT_EQ(*reopened->ledger().ReadPending(), pending);
}

}  // namespace
}  // namespace recur
