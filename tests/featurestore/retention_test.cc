// Issue 16, item 1: retention is a store setting, recorded when the store is
// created (featurestore/retention.h): later opens default to it, a writable open
// with another value is refused naming both, a read-only open may look at a
// shorter horizon but not a longer one, a store made before the record existed
// keeps 400 days, and the importer's "too late" rule uses the store's value.
#include "featurestore/retention.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "featurestore/feature_store.h"
#include "featurestore/importer.h"
#include "featurestore/rocks_internal.h"
#include "featurestore/state_dir.h"
#include "rocksdb/db.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;

absl::StatusOr<std::unique_ptr<FeatureStore>> Open(const std::string& path, int32_t days,
                                                   bool read_only = false) {
  FeatureStore::Options o;
  o.path = path;
  o.retention_days = days;
  o.read_only = read_only;
  return FeatureStore::Open(o);
}

bool Mentions(const absl::Status& s, const std::string& text) {
  return std::string(s.message()).find(text) != std::string::npos;
}

TEST(RetentionTest, ANewStoreRecordsItsRetentionAndLaterOpensDefaultToIt) {
  testing::TempDir tmp("recur-retention");
  const std::string path = tmp.Sub("store");
  {
    auto s = Open(path, 550);
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ((*s)->retention_days(), 550);
    EventFactory f;
    const std::vector<v1::Event> events = {f.Purchase(Ms(2026, 6, 30), 10.0)};
    ASSERT_TRUE((*s)->ApplyBatch(events, {}).ok());
  }
  {
    auto s = Open(path, 0);  // not given: the recorded one
    ASSERT_TRUE(s.ok()) << s.status();
    EXPECT_EQ((*s)->retention_days(), 550);
    EXPECT_EQ((*s)->horizon_first_day(), DayOf(Ms(2026, 6, 30)) - 549);
  }
  auto other = Open(path, 400);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(other.status(), "keeps 550 days")) << other.status();
  EXPECT_TRUE(Mentions(other.status(), "--retention-days 400")) << other.status();

  auto shorter = Open(path, 400, /*read_only=*/true);  // a view (the trainer's)
  ASSERT_TRUE(shorter.ok()) << shorter.status();
  EXPECT_EQ((*shorter)->retention_days(), 400);
  EXPECT_EQ((*shorter)->horizon_first_day(), DayOf(Ms(2026, 6, 30)) - 399);
  shorter->reset();
  auto longer = Open(path, 600, /*read_only=*/true);
  ASSERT_FALSE(longer.ok());
  EXPECT_EQ(longer.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(Mentions(longer.status(), "keeps 550 days")) << longer.status();
  EXPECT_TRUE(Mentions(longer.status(), "--retention-days 600")) << longer.status();

  auto tiny = Open(tmp.Sub("tiny"), 365);
  ASSERT_FALSE(tiny.ok());
  EXPECT_EQ(tiny.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Mentions(tiny.status(), "at least 366")) << tiny.status();
}

TEST(RetentionTest, AStoreMadeBeforeTheRecordKeeps400Days) {
  testing::TempDir tmp("recur-retention");
  const std::string path = tmp.Sub("old");
  {
    auto s = Open(path, 0);
    ASSERT_TRUE(s.ok()) << s.status();
    EventFactory f;
    const std::vector<v1::Event> events = {f.Purchase(Ms(2026, 6, 30), 10.0)};
    ASSERT_TRUE((*s)->ApplyBatch(events, {}).ok());
  }
  {  // What an earlier recur left: no retention record.
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(internal::StoreRocksOptions(), path, &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), internal::kRetentionKey).ok());
  }
  auto ro = Open(path, 0, /*read_only=*/true);
  ASSERT_TRUE(ro.ok()) << ro.status();
  EXPECT_EQ((*ro)->retention_days(), kDefaultRetentionDays);
  ro->reset();
  auto longer = Open(path, 500);
  ASSERT_FALSE(longer.ok());
  EXPECT_TRUE(Mentions(longer.status(), "keeps 400 days")) << longer.status();
  auto s = Open(path, 0);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ((*s)->retention_days(), kDefaultRetentionDays);
}

TEST(RetentionTest, StateDirRetentionIsTheRecordedOneOrTheRequestedOneForANewDir) {
  testing::TempDir tmp("recur-retention");
  const std::string path = tmp.Sub("state");
  EXPECT_EQ(*StateDirRetention(path, 0), kDefaultRetentionDays);
  EXPECT_EQ(*StateDirRetention(path, 500), 500);
  {
    StateDir::Options o;
    o.path = path;
    o.partitions = 3;
    o.store.retention_days = 500;
    auto dir = StateDir::Open(o);
    ASSERT_TRUE(dir.ok()) << dir.status();
  }
  EXPECT_EQ(*StateDirRetention(path, 0), 500);
  EXPECT_EQ(*StateDirRetention(path, 500), 500);
  auto other = StateDirRetention(path, 400);
  ASSERT_FALSE(other.ok());
  EXPECT_TRUE(Mentions(other.status(), "keeps 500 days")) << other.status();
  // A lost partition-0 (`run --rebuild-missing` recreates it): the others still say.
  std::filesystem::remove_all(StateDir::PartitionPath(path, 0));
  EXPECT_EQ(*StateDirRetention(path, 0), 500);
}

TEST(RetentionTest, TheImporterRejectsTooLateByTheStoresRetention) {
  testing::TempDir tmp("recur-retention");
  for (int32_t days : {400, 500}) {
    StateDir::Options o;
    o.path = tmp.Sub(std::to_string(days));
    o.store.retention_days = days;
    auto dir = StateDir::Open(o);
    ASSERT_TRUE(dir.ok()) << dir.status();
    Importer::Options io;
    io.source = "test";
    auto imp = Importer::Start(dir->get(), io);
    ASSERT_TRUE(imp.ok()) << imp.status();
    EventFactory f;
    const int64_t newest = Ms(2026, 6, 30);
    ASSERT_TRUE((*imp)->Add(0, f.Purchase(newest, 10.0)).ok());
    ASSERT_TRUE((*imp)->Add(1, f.Purchase(testing::DaysBefore(newest, 450), 10.0)).ok());
    ASSERT_TRUE((*imp)->Finish().ok());
    EXPECT_EQ((*imp)->summary().rejected, days == 400 ? 1 : 0) << days;
  }
}

}  // namespace
}  // namespace recur
