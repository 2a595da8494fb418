// The pipeline against librdkafka's in-process mock cluster: the fault paths that
// need no real broker (broker down and back, an unreachable broker, a locked or
// unusable state store, bad records beside good ones). The real-broker
// behaviour is covered by tests/integration/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "featurestore/feature_store.h"
#include "featurestore/state_dir.h"
#include "ops/simulator.h"
#include "streams/embedded.h"
#include "streams/pipeline.h"
#include "streams/producer.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/kafka.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

class PipelineFaultTest : public testing::EmbeddedKafkaTest {
 protected:
  PipelineFaultTest() : EmbeddedKafkaTest("recur-pipeline", /*partitions=*/2) {}
  void SetUp() override {
    EmbeddedKafkaTest::SetUp();
    if (HasFatalFailure()) return;
    events_ = testing::SimulateEvents(/*shops=*/2, /*customers_per_shop=*/60, /*days=*/90,
                                      /*duplicate_rate=*/0.02);
  }

  PipelineOptions Options() { return BrokerPipelineOptions(); }

  void Produce(size_t from, size_t to) {
    ProduceToBroker(absl::MakeConstSpan(events_).subspan(from, to - from));
  }

  // Features of every customer after the run, as of the last event, against the
  // same events applied offline.
  void ExpectSameAsOffline(int partitions) {
    FeatureStore::Options o;
    o.path = (dir_ / "offline").string();
    auto offline = FeatureStore::Open(o);
    ASSERT_TRUE(offline.ok());
    ASSERT_TRUE((*offline)->ApplyBatch(events_, {}).ok());
    const int64_t t = (*offline)->max_event_time_ms();
    StateDir::Options so;
    so.path = (dir_ / "state").string();
    so.partitions = partitions;
    so.store.read_only = true;
    auto online = StateDir::Open(so);
    ASSERT_TRUE(online.ok()) << online.status();
    int compared = 0;
    ASSERT_TRUE((*offline)
                    ->ForEachCustomer([&](const CustomerKey& k, const CustomerState& expected) {
                      bool found = false;
                      for (int p = 0; p < partitions; ++p) {
                        auto got = (*online)->store(p)->GetState(k);
                        if (!got.ok()) continue;
                        found = true;
                        Features a = expected.ComputeFeatures(t, DayOf(t) - 399),
                                 b = got->ComputeFeatures(t, DayOf(t) - 399);
                        for (int i = 0; i < kNumFeatures; ++i) {
                          EXPECT_TRUE(a.values[i] == b.values[i] ||
                                      (std::isnan(a.values[i]) && std::isnan(b.values[i])))
                              << k.Encode() << " " << kFeatureNames[i];
                        }
                      }
                      EXPECT_TRUE(found) << k.Encode();
                      ++compared;
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_EQ(compared, 120);
  }

  std::vector<v1::Event> events_;
};

TEST_F(PipelineFaultTest, BadRecordsGoToTheDlqAndGoodOnesAreExact) {
  Produce(0, events_.size() / 2);
  {
    auto p = Producer::Create({{"bootstrap.servers", kafka_->bootstraps()}});
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE((*p)->Send(topics_.purchases, "shop-1/c-000001", "\xff\x01garbage", {}).ok());
    ASSERT_TRUE((*p)->Send(topics_.purchases, "", events_[0].SerializeAsString(), {}).ok());
    // On its own kind's topic: elsewhere it would be wrong_topic, judged first.
    ASSERT_TRUE((*p)->Send(topics_.ForEvent(events_[1]), "shop-1/nobody",
                           events_[1].SerializeAsString(), {})
                    .ok());
    ASSERT_TRUE((*p)->Flush(absl::Seconds(10)).ok());
  }
  Produce(events_.size() / 2, events_.size());
  std::atomic<bool> stop{false};
  auto pipeline = Pipeline::Create(Options());
  ASSERT_TRUE(pipeline.ok()) << pipeline.status();
  ASSERT_TRUE((*pipeline)->Run(stop).ok());
  PipelineCounters c = (*pipeline)->counters();
  EXPECT_EQ(c.events_in, static_cast<int64_t>(events_.size()) + 3);
  EXPECT_EQ(c.dlq["undecodable"], 1);
  EXPECT_EQ(c.dlq["missing_key"], 1);
  EXPECT_EQ(c.dlq["key_mismatch"], 1);
  EXPECT_EQ(c.applied + c.duplicates, static_cast<int64_t>(events_.size()));
  pipeline->reset();
  ExpectSameAsOffline(2);
}

TEST_F(PipelineFaultTest, WaitsForABrokerThatGoesDownAndComesBack) {
  Produce(0, events_.size() / 2);
  PipelineOptions o = Options();
  o.exit_when_idle_ms = 4000;
  auto pipeline = Pipeline::Create(o);
  ASSERT_TRUE(pipeline.ok());
  std::atomic<bool> stop{false};
  absl::Status result;
  std::thread runner([&] { result = (*pipeline)->Run(stop); });
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  ASSERT_EQ(rd_kafka_mock_broker_set_down(kafka_->cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  std::this_thread::sleep_for(std::chrono::seconds(5));
  ASSERT_EQ(rd_kafka_mock_broker_set_up(kafka_->cluster(), 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  Produce(events_.size() / 2, events_.size());
  runner.join();
  ASSERT_TRUE(result.ok()) << result;
  EXPECT_EQ((*pipeline)->counters().events_in, static_cast<int64_t>(events_.size()));
  pipeline->reset();
  ExpectSameAsOffline(2);
}

TEST_F(PipelineFaultTest, AnUnreachableBrokerEndsWithAMessageThatSaysWhatToDo) {
  PipelineOptions o = Options();
  o.kafka["bootstrap.servers"] = "127.0.0.1:1";
  o.broker_down_timeout_s = 2;
  auto pipeline = Pipeline::Create(o);
  ASSERT_TRUE(pipeline.ok());
  std::atomic<bool> stop{false};
  absl::Status s = (*pipeline)->Run(stop);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("--brokers"), std::string::npos) << s;
}

TEST_F(PipelineFaultTest, ALockedStoreStopsWithoutConsuming) {
  Produce(0, 100);
  fs::create_directories(dir_ / "state");
  FeatureStore::Options so;
  so.path = StateDir::PartitionPath((dir_ / "state").string(), 0);
  auto held = FeatureStore::Open(so);  // another process would hold this LOCK
  ASSERT_TRUE(held.ok());
  PipelineOptions o = Options();
  o.store_lock_timeout_ms = 1000;
  auto pipeline = Pipeline::Create(o);
  ASSERT_TRUE(pipeline.ok());
  std::atomic<bool> stop{false};
  absl::Status s = (*pipeline)->Run(stop);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << s;
  EXPECT_NE(s.message().find("LOCK"), std::string::npos) << s;
  EXPECT_EQ((*pipeline)->counters().applied, 0);
  EXPECT_TRUE((*held)->ReadOffsets()->empty());
}

TEST_F(PipelineFaultTest, AnUnusableStateDirStopsWithThePath) {
  Produce(0, 100);
  fs::create_directories(dir_ / "state");
  std::ofstream(dir_ / "state" / "partition-1") << "a file where a store directory should be";
  auto pipeline = Pipeline::Create(Options());
  ASSERT_TRUE(pipeline.ok());
  std::atomic<bool> stop{false};
  absl::Status s = (*pipeline)->Run(stop);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("partition-1"), std::string::npos) << s;
}

TEST_F(PipelineFaultTest, RecordsDeletedBeforeTheyWereReadStopThePipelineInsteadOfBeingSkipped) {
  Produce(0, 200);
  {
    auto pipeline = Pipeline::Create(Options());
    ASSERT_TRUE(pipeline.ok());
    std::atomic<bool> stop{false};
    ASSERT_TRUE((*pipeline)->Run(stop).ok());
  }
  // While no pipeline runs, more than the mock cluster keeps per partition
  // (5 MB) arrives: the records right after the stored offsets are deleted,
  // as a topic's retention would.
  {
    auto p = Producer::Create(
        {{"bootstrap.servers", kafka_->bootstraps()}, {"compression.type", "none"}});
    ASSERT_TRUE(p.ok());
    v1::Event e = events_[0];
    for (int i = 0; i < 120; ++i) e.mutable_session()->add_categories_viewed(std::string(90, 'x'));
    for (int i = 0; i < 12'000; ++i) {
      e.set_event_id("big-" + std::to_string(i));
      for (int32_t part = 0; part < 2; ++part) {
        ASSERT_TRUE((*p)->Send(topics_.sessions, e.shop_id() + "/" + e.customer_id(),
                               e.SerializeAsString(), {}, part)
                        .ok());
      }
    }
    ASSERT_TRUE((*p)->Flush(absl::Seconds(60)).ok());
  }
  auto pipeline = Pipeline::Create(Options());
  ASSERT_TRUE(pipeline.ok());
  std::atomic<bool> stop{false};
  absl::Status s = (*pipeline)->Run(stop);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
  EXPECT_NE(s.message().find("deleted from the topic"), std::string::npos) << s;
}

}  // namespace
}  // namespace recur
