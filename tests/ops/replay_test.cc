// `recur replay` against librdkafka's in-process mock cluster: --from/--to
// parsing, a replay bounded by the end offsets of a first half of the events
// (exactly that half applied, exactly those offsets stored, while the second
// half already sits in the topics), a replay starting at those offsets (exactly
// the second half), an empty range, the refusals, the score diff (tolerant and
// exact), re-scoring (one score per customer as of the end, or the history, the
// same within the contract) and the swap (refused while a store is locked,
// atomic otherwise).
// Times (offsets_for_times) need a real broker: tests/integration/replay_test.sh.
#include "ops/replay.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "featurestore/feature_store.h"
#include "featurestore/state_dir.h"
#include "ops/simulator.h"
#include "streams/embedded.h"
#include "streams/producer.h"
#include "tests/scorer/test_models.h"
#include "tests/testing/fixtures.h"
#include "tests/testing/kafka.h"

namespace recur {
namespace {

namespace fs = std::filesystem;
using Kind = ReplayPosition::Kind;

TEST(ReplayPositionTest, ParsesBeginningEndOffsetsAndTimes) {
  EXPECT_EQ(ReplayPosition::Parse("beginning")->kind, Kind::kBeginning);
  EXPECT_EQ(ReplayPosition::Parse("END")->kind, Kind::kEnd);
  auto offset = ReplayPosition::Parse("1200");
  ASSERT_TRUE(offset.ok());
  EXPECT_EQ(offset->kind, Kind::kOffset);
  EXPECT_EQ(offset->value, 1200);
  auto day = ReplayPosition::Parse("2025-06-01");
  ASSERT_TRUE(day.ok());
  EXPECT_EQ(day->kind, Kind::kTime);
  EXPECT_EQ(day->value, 1748736000000);
  auto precise = ReplayPosition::Parse("2025-06-01T00:00:01.5Z");
  ASSERT_TRUE(precise.ok());
  EXPECT_EQ(precise->value, 1748736001500);
  for (const char* bad : {"", "-3", "yesterday", "2025-13-01", "12ab"}) {
    EXPECT_EQ(ReplayPosition::Parse(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

class ReplayTest : public testing::EmbeddedKafkaTest {
 protected:
  ReplayTest() : EmbeddedKafkaTest("recur-replay", /*partitions=*/2) {}
  void SetUp() override {
    EmbeddedKafkaTest::SetUp();
    if (HasFatalFailure()) return;
    events_ = testing::SimulateEvents(/*shops=*/2, /*customers_per_shop=*/50, /*days=*/60,
                                      /*duplicate_rate=*/0.02);
  }

  void Produce(size_t from, size_t to) {
    ProduceToBroker(absl::MakeConstSpan(events_).subspan(from, to - from));
  }

  ReplayOptions Options(const std::string& out) {
    ReplayOptions o;
    o.pipeline.kafka["bootstrap.servers"] = kafka_->bootstraps();
    o.pipeline.topics = topics_;
    o.pipeline.batch_linger_ms = 50;
    o.pipeline.batch_max_events = 700;  // several batches
    o.pipeline.scoring.enabled = false;
    o.live_dir = (dir_ / "live").string();
    o.out = (dir_ / out).string();
    return o;
  }

  OffsetMap Ends() {
    auto r = ResolveReplayRange({{"bootstrap.servers", kafka_->bootstraps()}}, topics_.inputs(),
                                ReplayPosition{}, ReplayPosition{Kind::kEnd, 0});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? r->stop : OffsetMap{};
  }

  // The replayed dir holds exactly the customers of events_[from, to), with the
  // features of those events applied offline, and every store exactly `offsets`.
  void ExpectExactly(const std::string& out, size_t from, size_t to, const OffsetMap& offsets) {
    FeatureStore::Options o;
    o.path = (dir_ / ("offline-" + out)).string();
    auto offline = FeatureStore::Open(o);
    ASSERT_TRUE(offline.ok());
    ASSERT_TRUE(
        (*offline)
            ->ApplyBatch(std::vector<v1::Event>(events_.begin() + from, events_.begin() + to), {})
            .ok());
    const int64_t t = (*offline)->max_event_time_ms();
    StateDir::Options so;
    so.path = (dir_ / out).string();
    so.partitions = 2;
    so.store.read_only = true;
    auto replayed = StateDir::Open(so);
    ASSERT_TRUE(replayed.ok()) << replayed.status();
    OffsetMap stored;
    int64_t customers = 0;
    for (int p = 0; p < 2; ++p) {
      auto offs = (*replayed)->store(p)->ReadOffsets();
      ASSERT_TRUE(offs.ok());
      for (const auto& [tp, off] : *offs) {
        EXPECT_EQ(tp.partition, p);
        stored[tp] = off;
      }
      ASSERT_TRUE((*replayed)
                      ->store(p)
                      ->ForEachCustomer([&](const CustomerKey&, const CustomerState&) {
                        ++customers;
                        return absl::OkStatus();
                      })
                      .ok());
    }
    EXPECT_EQ(stored, offsets);
    int64_t compared = 0;
    ASSERT_TRUE((*offline)
                    ->ForEachCustomer([&](const CustomerKey& k, const CustomerState& expected) {
                      auto got = (*replayed)->StoreFor(k.Encode())->GetState(k);
                      EXPECT_TRUE(got.ok()) << k.Encode();
                      if (!got.ok()) return absl::OkStatus();
                      Features a = expected.ComputeFeatures(t, DayOf(t) - 399),
                               b = got->ComputeFeatures(t, DayOf(t) - 399);
                      for (int i = 0; i < kNumFeatures; ++i) {
                        EXPECT_TRUE(a.values[i] == b.values[i] ||
                                    (std::isnan(a.values[i]) && std::isnan(b.values[i])))
                            << k.Encode() << " " << kFeatureNames[i];
                      }
                      ++compared;
                      return absl::OkStatus();
                    })
                    .ok());
    EXPECT_GT(compared, 0);
    EXPECT_EQ(compared, customers);
  }

  std::vector<v1::Event> events_;
};

TEST_F(ReplayTest, StopsExactlyAtTheStopOffsetsAndStartsExactlyAtTheStartOffsets) {
  const size_t half = events_.size() / 2;
  Produce(0, half);
  const OffsetMap middle = Ends();
  Produce(half, events_.size());
  const OffsetMap end = Ends();
  // The first half: stopped at the offsets the topics had after it, while the
  // second half is already there to be fetched (and must not be applied).
  {
    PipelineOptions p = Options("first").pipeline;
    p.state_dir = (dir_ / "first").string();
    p.group_id = "first";
    p.stop_offsets = middle;
    int progress_calls = 0;
    p.progress_interval_ms = 1;
    p.on_progress = [&](const PipelineProgress& progress) {
      ++progress_calls;
      for (const auto& [tp, pos] : progress.positions) EXPECT_LE(pos, middle.at(tp));
    };
    auto pipeline = Pipeline::Create(p);
    ASSERT_TRUE(pipeline.ok()) << pipeline.status();
    std::atomic<bool> stop{false};
    ASSERT_TRUE((*pipeline)->Run(stop).ok());
    EXPECT_EQ((*pipeline)->counters().events_in, static_cast<int64_t>(half));
    EXPECT_GT(progress_calls, 0);
  }
  ExpectExactly("first", 0, half, middle);
  // The second half: starting at `middle`, to the end.
  {
    PipelineOptions p = Options("second").pipeline;
    p.state_dir = (dir_ / "second").string();
    p.group_id = "second";
    p.start_offsets = middle;
    p.stop_offsets = end;
    auto pipeline = Pipeline::Create(p);
    ASSERT_TRUE(pipeline.ok());
    std::atomic<bool> stop{false};
    ASSERT_TRUE((*pipeline)->Run(stop).ok());
    EXPECT_EQ((*pipeline)->counters().events_in, static_cast<int64_t>(events_.size() - half));
  }
  ExpectExactly("second", half, events_.size(), end);
}

TEST_F(ReplayTest, ReplaysEverythingIntoAFreshDirWithProgressAndLeavesNothingElse) {
  Produce(0, events_.size());
  ReplayOptions o = Options("out");
  std::vector<std::string> lines;
  o.progress = [&](const std::string& line) { lines.push_back(line); };
  auto r = Replay(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->out, (dir_ / "out").string());
  EXPECT_EQ(r->counters.events_in, static_cast<int64_t>(events_.size()));
  EXPECT_EQ(r->range.records(), static_cast<int64_t>(events_.size()));
  EXPECT_EQ(r->group_id.rfind("recur-replay-", 0), 0u);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(
      lines.back().find(absl::StrCat(events_.size(), "/", events_.size(), " records (100.0%)")),
      std::string::npos)
      << lines.back();
  EXPECT_NE(lines.back().find("lag 0"), std::string::npos) << lines.back();
  ExpectExactly("out", 0, events_.size(), Ends());
  EXPECT_FALSE(fs::exists(dir_ / "live"));  // never created, never touched
  for (const auto& entry : fs::directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().filename().string().find(".tmp-"), std::string::npos) << entry.path();
  }
}

TEST_F(ReplayTest, AnEmptyRangeStillRecordsTheStopOffsets) {
  Produce(0, 500);
  ReplayOptions o = Options("empty");
  o.from = ReplayPosition{Kind::kOffset, 40};
  o.to = ReplayPosition{Kind::kOffset, 40};
  auto r = Replay(o);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->counters.events_in, 0);
  // Every partition's offset is min(40, its end): a `recur run` on this dir
  // resumes there, not at the beginning.
  for (const auto& [tp, off] : r->range.stop) EXPECT_LE(off, 40);
  StateDir::Options so;
  so.path = r->out;
  so.partitions = 2;
  so.store.read_only = true;
  auto dir = StateDir::Open(so);
  ASSERT_TRUE(dir.ok()) << dir.status();
  OffsetMap stored;
  for (int p = 0; p < 2; ++p) {
    auto offsets =
        (*dir)->store(p)->ReadOffsets();  // kept: the loop must not run over a temporary's value
    ASSERT_TRUE(offsets.ok());
    for (const auto& [tp, off] : *offsets) stored[tp] = off;
  }
  EXPECT_EQ(stored, r->range.stop);
}

TEST_F(ReplayTest, RefusesWhatItCanNotDoWithAClearErrorAndLeavesNothing) {
  Produce(0, 200);
  fs::create_directories(dir_ / "exists");
  EXPECT_EQ(Replay(Options("exists")).status().code(), absl::StatusCode::kAlreadyExists);
  {
    ReplayOptions o = Options("x");
    o.from = ReplayPosition{Kind::kOffset, 50};
    o.to = ReplayPosition{Kind::kOffset, 10};
    auto r = Replay(o);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find("before --from"), std::string::npos) << r.status();
  }
  {
    ReplayOptions o = Options("x");
    o.diff_topic = "recur.scores";
    EXPECT_EQ(Replay(o).status().code(), absl::StatusCode::kInvalidArgument);
  }
  {
    ReplayOptions o = Options("x");
    o.pipeline.topics.carts = "no.such.topic";
    auto r = Replay(o);
    EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
    EXPECT_NE(r.status().message().find("no.such.topic"), std::string::npos) << r.status();
  }
  {
    ReplayOptions o = Options("x");
    o.out = (dir_ / "live" / "inside").string();
    fs::create_directories(dir_ / "live");
    EXPECT_EQ(Replay(o).status().code(), absl::StatusCode::kInvalidArgument);
  }
  {
    ReplayOptions o = Options("x");
    o.pipeline.kafka["bootstrap.servers"] = "127.0.0.1:1";  // nobody listens
    auto r = ResolveReplayRange(o.pipeline.kafka, topics_.inputs(), {}, {Kind::kEnd, 0},
                                absl::Seconds(2));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
    EXPECT_NE(r.status().message().find("no Kafka broker answered"), std::string::npos)
        << r.status();
  }
  EXPECT_FALSE(fs::exists(dir_ / "x"));
}

TEST_F(ReplayTest,
       RescoringPublishesOneScorePerCustomerAsOfTheEndOrTheHistoryWithTheSameLastScores) {
  const fs::path models = dir_ / "models";
  ASSERT_TRUE(testing::WriteThresholdModel(models, "activity_decline_90d", "r1",
                                           FeatureIndex("days_since_last_purchase"), 20));
  ASSERT_TRUE(
      testing::WriteThresholdModel(models, "repurchase_30d", "p1", FeatureIndex("orders_90d"), 2));
  ASSERT_EQ(rd_kafka_mock_topic_create(kafka_->cluster(), "final.scores", 2, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_mock_topic_create(kafka_->cluster(), "history.scores", 2, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  Produce(0, events_.size());
  auto replay = [&](const std::string& out, const std::string& topic, bool history) {
    ReplayOptions o = Options(out);
    o.pipeline.scoring.enabled = true;
    o.pipeline.scoring.scorer.models_dir = models.string();
    o.pipeline.topics.scores = topic;
    o.score_history = history;
    auto r = Replay(o);
    EXPECT_TRUE(r.ok()) << r.status();
  };
  replay("final", "final.scores", false);
  replay("history", "history.scores", true);
  const KafkaProperties kafka{{"bootstrap.servers", kafka_->bootstraps()}};
  auto d = DiffScoreTopics(kafka, "history.scores", "final.scores");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->replay_keys, 100);
  EXPECT_EQ(d->replay_messages, 100);  // one per customer
  EXPECT_EQ(d->live_keys, 100);
  EXPECT_GT(d->live_messages, 100);  // every batch's touched customers, then the pass
  EXPECT_TRUE(d->differences.empty())
      << d->differences.front().key << " " << d->differences.front().detail;
  // Every customer as of the end: max(start of the last day, its latest event); nothing left
  // pending.
  StateDir::Options so;
  so.path = (dir_ / "final").string();
  so.partitions = 2;
  so.store.read_only = true;
  auto dir = StateDir::Open(so);
  ASSERT_TRUE(dir.ok());
  for (int p = 0; p < 2; ++p) {
    FeatureStore* store = (*dir)->store(p);
    EXPECT_TRUE(store->ledger().ReadPending()->empty());
    const int64_t day_start =
        static_cast<int64_t>(DayOf(store->max_event_time_ms())) * kMillisPerDay;
    ASSERT_TRUE(store->ledger()
                    .ForEachCustomerWithScore([&](const CustomerKey& k, const CustomerState& st,
                                                  const std::string* last) {
                      EXPECT_NE(last, nullptr) << k.Encode();
                      v1::CustomerScore s;
                      if (last != nullptr) {
                        EXPECT_TRUE(s.ParseFromString(*last)) << k.Encode();
                        EXPECT_EQ(s.as_of_ms(), std::max(day_start, st.last_event_ms()))
                            << k.Encode();
                      }
                      return absl::OkStatus();
                    })
                    .ok());
  }
}

v1::CustomerScore Score(const std::string& customer, double risk, int64_t as_of) {
  v1::CustomerScore s;
  s.set_shop_id("shop-1");
  s.set_customer_id(customer);
  s.set_as_of_ms(as_of);
  s.set_risk_decline_90d(risk);
  s.set_repurchase_30d(0.5);
  s.set_risk_model_version("r1");
  s.set_repurchase_model_version("p1");
  s.add_segments("likely_to_buy_anyway");
  return s;
}

TEST_F(ReplayTest, DiffComparesTheLastScorePerCustomerWithinTheContractOrExactly) {
  ASSERT_EQ(rd_kafka_mock_topic_create(kafka_->cluster(), "live.scores", 2, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_EQ(rd_kafka_mock_topic_create(kafka_->cluster(), "replay.scores", 2, 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  auto p = Producer::Create({{"bootstrap.servers", kafka_->bootstraps()}});
  ASSERT_TRUE(p.ok());
  auto send = [&](const std::string& topic, const v1::CustomerScore& s) {
    ASSERT_TRUE(
        (*p)->Send(topic, s.shop_id() + "/" + s.customer_id(), s.SerializeAsString(), {}).ok());
  };
  send("live.scores", Score("old", 0.9, 1));  // superseded: only the last per key counts
  send("live.scores", Score("same", 0.2, 10));
  send("replay.scores", Score("same", 0.2, 10));
  send("live.scores", Score("old", 0.2, 10));
  send("replay.scores", Score("old", 0.2, 10));
  send("live.scores", Score("close", 0.200, 10));  // within epsilon, published at another time
  send("replay.scores", Score("close", 0.205, 20));
  send("live.scores", Score("far", 0.2, 10));
  send("replay.scores", Score("far", 0.8, 20));
  v1::CustomerScore segment = Score("segment", 0.2, 10);
  segment.clear_segments();
  send("live.scores", Score("segment", 0.2, 10));
  send("replay.scores", segment);
  send("live.scores", Score("live-only", 0.2, 10));
  ASSERT_TRUE((*p)->Flush(absl::Seconds(10)).ok());
  const KafkaProperties kafka{{"bootstrap.servers", kafka_->bootstraps()}};

  auto d = DiffScoreTopics(kafka, "live.scores", "replay.scores");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->live_messages, 7);
  EXPECT_EQ(d->replay_messages, 5);
  EXPECT_EQ(d->live_keys, 6);
  EXPECT_EQ(d->replay_keys, 5);
  ASSERT_EQ(d->differences.size(), 3u);
  EXPECT_EQ(d->differences[0].key, "shop-1/far");
  EXPECT_EQ(d->differences[0].fields, std::vector<std::string>{"risk_decline_90d"});
  EXPECT_NE(d->differences[0].detail.find("risk_decline_90d: live=0.2 replay=0.8"),
            std::string::npos)
      << d->differences[0].detail;
  EXPECT_NE(d->differences[0].detail.find("as_of_ms: live=10 replay=20"), std::string::npos);
  EXPECT_EQ(d->differences[1].key, "shop-1/live-only");
  EXPECT_EQ(d->differences[1].fields, std::vector<std::string>{"missing in replay"});
  EXPECT_EQ(d->differences[2].key, "shop-1/segment");
  EXPECT_EQ(d->differences[2].fields, std::vector<std::string>{"segments"});

  ScoreDiffOptions exact;
  exact.exact = true;
  d = DiffScoreTopics(kafka, "live.scores", "replay.scores", exact);
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->differences.size(), 4u);
  EXPECT_EQ(d->differences[0].key, "shop-1/close");
  EXPECT_EQ(d->differences[0].fields, (std::vector<std::string>{"as_of_ms", "risk_decline_90d"}));

  EXPECT_EQ(DiffScoreTopics(kafka, "live.scores", "nope").status().code(),
            absl::StatusCode::kNotFound);
}

// A minimal state dir: one recur store per partition, with a marker customer.
void MakeStateDir(const fs::path& dir, const std::string& marker) {
  StateDir::Options o;
  o.path = dir.string();
  o.partitions = 2;
  auto d = StateDir::Open(o);
  ASSERT_TRUE(d.ok()) << d.status();
  v1::Event e;
  e.set_event_id(marker);
  e.set_shop_id("shop-1");
  e.set_customer_id(marker);
  e.set_event_time_ms(1735725600000);
  e.mutable_session()->set_minutes(1);
  e.mutable_session()->set_pages(1);
  ASSERT_TRUE((*d)->store(0)->ApplyBatch(std::vector<v1::Event>{e}, {}).ok());
}

bool HasCustomer(const fs::path& dir, const std::string& id) {
  FeatureStore::Options o;
  o.path = StateDir::PartitionPath(dir.string(), 0);
  o.read_only = true;
  auto s = FeatureStore::Open(o);
  return s.ok() && (*s)->GetState({"shop-1", id}).ok();
}

TEST(SwapStateDirTest, RefusedWhileAStoreIsLockedThenAtomic) {
  testing::TempDir tmp("recur-swap");
  const fs::path dir = tmp.path();
  MakeStateDir(dir / "live", "old");
  MakeStateDir(dir / "new", "new");
  std::string previous;
  {
    FeatureStore::Options o;
    o.path = StateDir::PartitionPath((dir / "live").string(), 1);
    auto held = FeatureStore::Open(o);  // as `recur run` holds it
    ASSERT_TRUE(held.ok());
    absl::Status s = SwapStateDir((dir / "live").string(), (dir / "new").string(), &previous);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(s.message().find("Stop the pipeline first"), std::string::npos) << s;
    EXPECT_EQ(CheckStateDirUnlocked((dir / "live").string()).code(),
              absl::StatusCode::kFailedPrecondition);
  }
  EXPECT_TRUE(HasCustomer(dir / "live", "old"));
  EXPECT_TRUE(HasCustomer(dir / "new", "new"));
  ASSERT_TRUE(CheckStateDirUnlocked((dir / "live").string()).ok());
  ASSERT_TRUE(SwapStateDir((dir / "live").string(), (dir / "new").string(), &previous).ok());
  EXPECT_TRUE(HasCustomer(dir / "live", "new"));
  EXPECT_FALSE(HasCustomer(dir / "live", "old"));
  EXPECT_FALSE(fs::exists(dir / "new"));
  ASSERT_FALSE(previous.empty());
  EXPECT_TRUE(HasCustomer(previous, "old"));
  // No live dir yet: the replayed one simply takes its name.
  MakeStateDir(dir / "other", "other");
  ASSERT_TRUE(SwapStateDir((dir / "fresh").string(), (dir / "other").string(), &previous).ok());
  EXPECT_TRUE(previous.empty());
  EXPECT_TRUE(HasCustomer(dir / "fresh", "other"));
}

}  // namespace
}  // namespace recur
