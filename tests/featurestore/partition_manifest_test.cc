// The state dir's partition manifest: recorded on creation, a recorded store
// whose directory is gone is missing (named in the error), a number never
// recorded is new, concurrent recorders lose nothing, a malformed file is
// DataLoss; StateDir refuses to count or open around a missing store.
#include "featurestore/partition_manifest.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "featurestore/state_dir.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

namespace fs = std::filesystem;

class PartitionManifestTest : public ::testing::Test {
 protected:
  std::string dir() const { return (tmp_.path() / "state").string(); }
  testing::TempDir tmp_;
};

TEST_F(PartitionManifestTest, NoManifestRecordsNothingAndNothingIsMissing) {
  auto recorded = ReadPartitionManifest(dir());
  ASSERT_TRUE(recorded.ok()) << recorded.status();
  EXPECT_TRUE(recorded->empty());
  EXPECT_TRUE(CheckNoMissingPartitions(dir()).ok());
}

TEST_F(PartitionManifestTest, StateDirRecordsItsStoresAndRefusesWhenOneIsGone) {
  ASSERT_TRUE(StateDir::Open({.path = dir(), .partitions = 3, .store = {}}).ok());
  EXPECT_EQ(*ReadPartitionManifest(dir()), (std::set<int32_t>{0, 1, 2}));
  EXPECT_EQ(*StateDir::CountPartitions(dir()), 3);

  fs::remove_all(StateDir::PartitionPath(dir(), 1));
  EXPECT_EQ(*MissingPartitions(dir()), std::vector<int32_t>{1});
  // Before the manifest, the count stopped at the gap: 1 partition, half the customers.
  auto count = StateDir::CountPartitions(dir());
  EXPECT_EQ(count.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(count.status().message().find("the store of partition 1 is missing"), std::string::npos)
      << count.status();
  EXPECT_NE(count.status().message().find("--rebuild-missing"), std::string::npos);
  EXPECT_EQ(StateDir::OpenReadOnly(dir()).status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(StateDir::Open({.path = dir(), .partitions = 3, .store = {}}).status().code(),
            absl::StatusCode::kFailedPrecondition);

  // Forgotten (what --rebuild-missing does once allowed): new again, created and recorded.
  ASSERT_TRUE(ForgetPartitions(dir(), {1}).ok());
  EXPECT_EQ(*ReadPartitionManifest(dir()), (std::set<int32_t>{0, 2}));
  ASSERT_TRUE(StateDir::Open({.path = dir(), .partitions = 3, .store = {}}).ok());
  EXPECT_EQ(*ReadPartitionManifest(dir()), (std::set<int32_t>{0, 1, 2}));
}

TEST_F(PartitionManifestTest, NewNumbersAreAddedAndConcurrentRecordersLoseNone) {
  ASSERT_TRUE(RecordPartitions(dir(), {0, 1}).ok());
  std::vector<std::thread> threads;
  for (int32_t t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      for (int32_t i = 0; i < 10; ++i) EXPECT_TRUE(RecordPartitions(dir(), {2 + t * 10 + i}).ok());
    });
  }
  for (auto& t : threads) t.join();
  auto recorded = ReadPartitionManifest(dir());
  ASSERT_TRUE(recorded.ok());
  EXPECT_EQ(recorded->size(), 82u);
  EXPECT_FALSE(fs::exists(fs::path(dir()) / "PARTITIONS.tmp"));
}

TEST_F(PartitionManifestTest, AMalformedManifestIsDataLoss) {
  fs::create_directories(dir());
  std::ofstream(fs::path(dir()) / kPartitionManifest) << "recur-partitions 1\n0\nx\n";
  EXPECT_EQ(ReadPartitionManifest(dir()).status().code(), absl::StatusCode::kDataLoss);
  std::ofstream(fs::path(dir()) / kPartitionManifest, std::ios::trunc) << "something else\n";
  EXPECT_EQ(ReadPartitionManifest(dir()).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace recur
