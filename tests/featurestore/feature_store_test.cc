// FeatureStore on real RocksDB in a temporary directory: atomic batches with
// offsets, reopen, dedupe, horizon, bad input, locked and corrupt stores.
#include "featurestore/feature_store.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "featurestore/state_dir.h"
#include "rocksdb/db.h"
#include "tests/testing/events.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;
namespace fs = std::filesystem;

class FeatureStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("recur-fs-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::unique_ptr<FeatureStore> OpenStore(bool read_only = false) {
    FeatureStore::Options o;
    o.path = dir_.string();
    o.read_only = read_only;
    auto s = FeatureStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  fs::path dir_;
  const TopicPartition tp_{"shop.purchases", 3};
  const CustomerKey key_{"shop-1", "c-1"};
};

TEST_F(FeatureStoreTest, AppliesBatchesWithOffsetsAndSurvivesReopen) {
  EventFactory ev;
  {
    auto store = OpenStore();
    std::vector<v1::Event> batch = {ev.Purchase(Ms(2024, 3, 1), 10),
                                    ev.Purchase(Ms(2024, 3, 2), 5)};
    FeatureStore::ApplyStats st;
    ASSERT_TRUE(store->ApplyBatch(batch, {{tp_, 2}}, &st).ok());
    EXPECT_EQ(st.applied, 2);
    ASSERT_EQ(st.touched.size(), 1u);
    EXPECT_EQ(st.touched[0], key_);
    ASSERT_TRUE(
        store->ApplyBatch(std::vector<v1::Event>{ev.Purchase(Ms(2024, 3, 3), 1)}, {{tp_, 3}}).ok());
  }
  auto store = OpenStore();
  auto offsets = store->ReadOffsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(offsets->at(tp_), 3);
  EXPECT_EQ(store->max_event_time_ms(), Ms(2024, 3, 3));
  auto f = store->ComputeFeatures(key_, Ms(2024, 3, 3));
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ((*f)[kOrders30d], 3);
  EXPECT_DOUBLE_EQ((*f)[kRevenue30d], 16);
  EXPECT_EQ(store->ComputeFeatures({"shop-1", "nobody"}, Ms(2024, 3, 3)).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(FeatureStoreTest, DuplicatesAcrossBatchesCountOnceAndOlderEventsStillApply) {
  EventFactory ev;
  auto store = OpenStore();
  v1::Event buy = ev.Purchase(Ms(2024, 3, 5), 10);
  v1::Event late = ev.Purchase(Ms(2024, 3, 1), 1);
  FeatureStore::ApplyStats st;
  ASSERT_TRUE(store->ApplyBatch(std::vector<v1::Event>{buy, buy}, {{tp_, 2}}, &st).ok());
  EXPECT_EQ(st.applied, 1);
  EXPECT_EQ(st.duplicates, 1);
  ASSERT_TRUE(store->ApplyBatch(std::vector<v1::Event>{buy, late}, {{tp_, 4}}, &st).ok());
  EXPECT_EQ(st.applied, 1);
  EXPECT_EQ(st.duplicates, 1);
  auto f = store->ComputeFeatures(key_, Ms(2024, 3, 5));
  EXPECT_EQ((*f)[kOrders30d], 2);
  EXPECT_DOUBLE_EQ((*f)[kRevenue30d], 11);
}

TEST_F(FeatureStoreTest, BadInputNamesTheFieldAndAppliesNothing) {
  EventFactory ev;
  auto store = OpenStore();
  ASSERT_TRUE(
      store->ApplyBatch(std::vector<v1::Event>{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());

  struct Case {
    std::function<void(v1::Event*)> mutate;
    std::string field;
  };
  std::vector<Case> cases = {
      {[](v1::Event* e) { e->clear_event_id(); }, "event_id: missing"},
      {[](v1::Event* e) { e->clear_shop_id(); }, "shop_id: missing"},
      {[](v1::Event* e) { e->clear_customer_id(); }, "customer_id: missing"},
      {[](v1::Event* e) { e->set_shop_id("a/b"); }, "shop_id"},
      {[](v1::Event* e) { e->mutable_purchase()->mutable_lines(0)->set_quantity(0); },
       "purchase.lines[0].quantity"},
      {[](v1::Event* e) { e->mutable_purchase()->mutable_lines(0)->set_quantity(1'000'000); },
       "purchase.lines[0].quantity"},
      {[](v1::Event* e) { e->mutable_purchase()->mutable_lines(0)->set_unit_price(-1); },
       "purchase.lines[0].unit_price: negative"},
      {[](v1::Event* e) { e->mutable_purchase()->mutable_lines(0)->set_unit_price(std::nan("")); },
       "purchase.lines[0].unit_price: not a finite"},
      {[](v1::Event* e) { e->mutable_purchase()->mutable_lines(0)->set_profit(INFINITY); },
       "purchase.lines[0].profit"},
      {[](v1::Event* e) { e->mutable_purchase()->mutable_lines(0)->clear_category(); },
       "purchase.lines[0].category"},
      {[](v1::Event* e) { e->mutable_purchase()->clear_lines(); }, "purchase.lines: empty"},
      {[](v1::Event* e) { e->clear_purchase(); }, "kind:"},
      {[](v1::Event* e) { e->set_event_time_ms(Ms(2022, 1, 1)); },
       "event_time_ms: " + std::to_string(Ms(2022, 1, 1)) + " is older than the retention horizon"},
      {[](v1::Event* e) { e->set_event_time_ms(-5); }, "event_time_ms"},
      {[](v1::Event* e) { e->set_event_time_ms(Ms(2150, 1, 1)); }, "event_time_ms"},
  };
  for (const Case& c : cases) {
    v1::Event bad = ev.Purchase(Ms(2024, 3, 2), 5);
    c.mutate(&bad);
    std::vector<v1::Event> batch = {ev.Purchase(Ms(2024, 3, 2), 7), bad};
    absl::Status s = store->ApplyBatch(batch, {{tp_, 99}});
    EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find("event[1]"), std::string::npos) << s;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << "want '" << c.field << "' in: " << s;
  }
  // Nothing of the failed batches is visible: not the good event beside them, not the offsets.
  EXPECT_EQ(store->ReadOffsets()->at(tp_), 1);
  EXPECT_EQ((*store->ComputeFeatures(key_, Ms(2024, 3, 2)))[kOrders30d], 1);

  v1::Event session = ev.Session(Ms(2024, 3, 2), std::nan(""), 1, 0, 0);
  EXPECT_NE(
      store->ApplyBatch(std::vector<v1::Event>{session}, {}).message().find("session.minutes"),
      std::string::npos);
  v1::Event profile =
      ev.Profile(Ms(2024, 3, 2), v1::SERVICE_TIER_UNSPECIFIED, true, Ms(2024, 1, 1));
  EXPECT_NE(store->ApplyBatch(std::vector<v1::Event>{profile}, {}).message().find("profile.tier"),
            std::string::npos);
  v1::Event marketing = ev.Marketing(Ms(2024, 3, 2), v1::MARKETING_ACTION_UNSPECIFIED);
  EXPECT_NE(
      store->ApplyBatch(std::vector<v1::Event>{marketing}, {}).message().find("marketing.action"),
      std::string::npos);
  EXPECT_EQ(store->ComputeFeatures(key_, Ms(2022, 1, 1)).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(FeatureStoreTest, ASecondOpenIsRefusedWithTheLock) {
  auto store = OpenStore();
  FeatureStore::Options o;
  o.path = dir_.string();
  auto second = FeatureStore::Open(o);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(second.status().message().find("LOCK"), std::string::npos) << second.status();
  EXPECT_NE(second.status().message().find(dir_.string()), std::string::npos);
}

TEST_F(FeatureStoreTest, CorruptStoreFailsWithDataLoss) {
  EventFactory ev;
  {
    auto store = OpenStore();
    ASSERT_TRUE(
        store->ApplyBatch(std::vector<v1::Event>{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}})
            .ok());
  }
  // Overwrite every table and manifest file with garbage.
  for (const auto& entry : fs::directory_iterator(dir_)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("MANIFEST")) {
      std::ofstream(entry.path(), std::ios::trunc) << "this is not a manifest, it is garbage";
    }
  }
  FeatureStore::Options o;
  o.path = dir_.string();
  auto reopened = FeatureStore::Open(o);
  ASSERT_FALSE(reopened.ok());
  EXPECT_TRUE(reopened.status().code() == absl::StatusCode::kDataLoss ||
              reopened.status().code() == absl::StatusCode::kUnavailable)
      << reopened.status();
  EXPECT_NE(reopened.status().message().find(dir_.string()), std::string::npos);
}

TEST_F(FeatureStoreTest, ACorruptRecordIsDataLossNotACrash) {
  EventFactory ev;
  {
    auto store = OpenStore();
    ASSERT_TRUE(
        store->ApplyBatch(std::vector<v1::Event>{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}})
            .ok());
  }
  {
    rocksdb::DB* raw;
    ASSERT_TRUE(rocksdb::DB::Open(rocksdb::Options(), dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "c" + key_.Encode(), "\x01\xff\xff").ok());
  }
  auto store = OpenStore();
  auto f = store->ComputeFeatures(key_, Ms(2024, 3, 1));
  EXPECT_EQ(f.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(f.status().message().find("corrupt customer record"), std::string::npos);
  absl::Status s =
      store->ApplyBatch(std::vector<v1::Event>{ev.Purchase(Ms(2024, 3, 2), 1)}, {{tp_, 2}});
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(store->ReadOffsets()->at(tp_), 1);
}

TEST_F(FeatureStoreTest, ADirectoryThatIsNotARecurStoreIsRefused) {
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw;
    ASSERT_TRUE(rocksdb::DB::Open(o, dir_.string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "something", "else").ok());
  }
  FeatureStore::Options o;
  o.path = dir_.string();
  auto s = FeatureStore::Open(o);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(s.status().message().find("not a recur store"), std::string::npos);
}

TEST_F(FeatureStoreTest, CheckpointIsAConsistentReadableCopy) {
  EventFactory ev;
  auto store = OpenStore();
  ASSERT_TRUE(
      store->ApplyBatch(std::vector<v1::Event>{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 7}}).ok());
  const fs::path cp = dir_.string() + "-checkpoint";
  fs::remove_all(cp);
  ASSERT_TRUE(store->Checkpoint(cp.string()).ok());
  ASSERT_TRUE(
      store->ApplyBatch(std::vector<v1::Event>{ev.Purchase(Ms(2024, 3, 2), 10)}, {{tp_, 8}}).ok());
  FeatureStore::Options o;
  o.path = cp.string();
  o.read_only = true;
  auto snap = FeatureStore::Open(o);
  ASSERT_TRUE(snap.ok()) << snap.status();
  EXPECT_EQ((*snap)->ReadOffsets()->at(tp_), 7);
  EXPECT_EQ((*(*snap)->ComputeFeatures(key_, Ms(2024, 3, 2)))[kOrders30d], 1);
  int customers = 0;
  ASSERT_TRUE((*snap)
                  ->ForEachCustomer([&](const CustomerKey& k, const CustomerState&) {
                    EXPECT_EQ(k, key_);
                    ++customers;
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(customers, 1);
  EXPECT_FALSE((*snap)->ApplyBatch(std::vector<v1::Event>{}, {}).ok());
  fs::remove_all(cp);
}

TEST_F(FeatureStoreTest, ExpireModeAppliesAndPrunesOldEventsAndKeepsStreamTimes) {
  EventFactory ev;
  FeatureStore::Options o;
  o.path = dir_.string();
  o.expire_outside_horizon = true;
  auto store = FeatureStore::Open(o);
  ASSERT_TRUE(store.ok());
  const TopicPartition profiles{"shop.profiles", 3};
  ASSERT_TRUE((*store)
                  ->ApplyBatch(std::vector<v1::Event>{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}})
                  .ok());
  // A profile from two years earlier, read late from its own topic: applied, and
  // kept as the latest profile; an old purchase is applied and pruned at once.
  FeatureStore::ApplyStats st;
  StreamTimeMap times = {{profiles, Ms(2022, 1, 1)}};
  ASSERT_TRUE(
      (*store)
          ->ApplyBatch(std::vector<v1::Event>{ev.Profile(Ms(2022, 1, 1), v1::SERVICE_TIER_PREMIUM,
                                                         true, Ms(2021, 1, 1)),
                                              ev.Purchase(Ms(2022, 1, 2), 99)},
                       {{profiles, 1}}, &st, &times)
          .ok());
  EXPECT_EQ(st.expired, 2);
  auto f = (*store)->ComputeFeatures(key_, Ms(2024, 3, 1));
  EXPECT_EQ((*f)[kServiceTier], 1);
  // The 2022 purchase is outside the horizon: pruned at once, out of every
  // window, kept by the lifetime features (2022-01-02 -> 2024-03-01: 789 days).
  EXPECT_EQ((*f)[kOrders365d], 1);
  EXPECT_EQ((*f)[kOrdersLifetime], 2);
  EXPECT_EQ((*f)[kDaysSinceFirstPurchase], 789);
  EXPECT_EQ((*store)->GetState(key_)->days().size(), 1u);
  EXPECT_EQ((*store)->GetState(key_)->pruned_purchases().orders, 1);
  EXPECT_EQ((*store)->ReadStreamTimes()->at(profiles), Ms(2022, 1, 1));
}

TEST(StateDirTest, PartitionerMatchesLibrdkafkaConsistentHash) {
  // librdkafka's consistent partitioner: CRC-32 (IEEE) of the key.
  // crc32("123456789") = 0xCBF43926, the standard check value.
  EXPECT_EQ(PartitionFor("123456789", 1000), static_cast<int32_t>(0xCBF43926u % 1000));
  EXPECT_EQ(PartitionFor("anything", 1), 0);
}

TEST(StateDirTest, OpenReadOnlyFindsEveryPartitionAndRefusesWrites) {
  const fs::path dir = fs::temp_directory_path() / ("recur-statedir-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  EXPECT_EQ(StateDir::OpenReadOnly(dir.string()).status().code(), absl::StatusCode::kNotFound);
  testing::EventFactory ev("shop-1", "c-1");
  {
    auto rw = StateDir::Open({.path = dir.string(), .partitions = 3});
    ASSERT_TRUE(rw.ok()) << rw.status();
    ASSERT_TRUE((*rw)
                    ->store(2)
                    ->ApplyBatch(std::vector<v1::Event>{ev.Purchase(testing::Ms(2024, 3, 5), 10)},
                                 {{{"shop.purchases", 0}, 7}})
                    .ok());
  }
  auto ro = StateDir::OpenReadOnly(dir.string());
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ((*ro)->partitions(), 3);
  auto offsets = (*ro)->store(2)->ReadOffsets();
  ASSERT_TRUE(offsets.ok());
  EXPECT_EQ(offsets->at({"shop.purchases", 0}), 7);
  EXPECT_EQ((*ro)->store(2)->ApplyBatch(std::vector<v1::Event>{}, {}).code(),
            absl::StatusCode::kFailedPrecondition);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace recur
