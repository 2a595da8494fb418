// Snapshot of stores that writers keep changing: two partition stores, each held
// open by a FeatureStore in this process (RocksDB's LOCK taken, as `recur run`
// takes it) and written by its own thread, batch after batch, with tiny memtables
// so flushes, WAL switches and compactions happen all the time. Batch b gives
// every customer of the partition one purchase and stores offset b. A snapshot
// must then hold, per partition, an offset k between the writer's progress before
// and after the snapshot, and customer states byte-identical to a clean store
// that applied exactly batches 1..k.
#include "featurestore/snapshot.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "absl/strings/str_cat.h"
#include "featurestore/feature_store.h"
#include "featurestore/state_dir.h"
#include "rocksdb/db.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

namespace fs = std::filesystem;
constexpr int kPartitions = 2;
constexpr int kCustomers = 16;
constexpr int64_t kMaxBatches = 5000;

TopicPartition SourceOf(int p) { return {"shop.purchases", p}; }

std::vector<v1::Event> MakeBatch(int p, int64_t b) {
  std::vector<v1::Event> out;
  const int64_t t = testing::Ms(2024, 1, 1) + b * 3'600'000;
  for (int c = 0; c < kCustomers; ++c) {
    testing::EventFactory ev("shop-1", absl::StrCat("p", p, "-c", c));
    v1::Event e = ev.Purchase(
        t, {{absl::StrCat("cat", c % 3), 1u + static_cast<uint32_t>(b % 3), 1.0 + b % 7}});
    e.set_event_id(absl::StrCat("p", p, "-b", b, "-c", c));
    out.push_back(std::move(e));
  }
  return out;
}

std::unique_ptr<FeatureStore> OpenStore(const fs::path& path, bool read_only = false,
                                        size_t write_buffer = 64 << 20) {
  FeatureStore::Options o;
  o.path = path.string();
  o.read_only = read_only;
  o.write_buffer_bytes = write_buffer;
  auto s = FeatureStore::Open(o);
  if (!s.ok()) ADD_FAILURE() << path << ": " << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

// Every customer's encoded state, by key.
std::map<std::string, std::string> States(FeatureStore* store) {
  std::map<std::string, std::string> out;
  absl::Status s = store->ForEachCustomer([&](const CustomerKey& k, const CustomerState& st) {
    st.Encode(&out[k.Encode()]);
    return absl::OkStatus();
  });
  EXPECT_TRUE(s.ok()) << s;
  return out;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(state_); }

  // A clean store with batches 1..k of partition p applied, compared with `snapshot`.
  void ExpectStateOfBatches(int p, int64_t k, FeatureStore* snapshot) {
    const fs::path ref_path = root_ / ("ref-" + std::to_string(p) + "-" + std::to_string(k));
    fs::remove_all(ref_path);
    auto ref = OpenStore(ref_path);
    ASSERT_NE(ref, nullptr);
    for (int64_t b = 1; b <= k; ++b)
      ASSERT_TRUE(ref->ApplyBatch(MakeBatch(p, b), {{SourceOf(p), b}}).ok());
    auto want = States(ref.get());
    auto got = States(snapshot);
    EXPECT_EQ(got.size(), static_cast<size_t>(kCustomers))
        << "partition " << p << " at offset " << k;
    EXPECT_TRUE(got == want) << "partition " << p << ": customer states differ from batches 1.."
                             << k;
    EXPECT_EQ(snapshot->max_event_time_ms(), ref->max_event_time_ms());
    ref.reset();
    fs::remove_all(ref_path);
  }

  // Files at the top level of root_ whose name contains ".tmp-" (leftovers).
  int Leftovers() {
    int n = 0;
    for (const auto& e : fs::directory_iterator(root_))
      n += e.path().filename().string().find(".tmp-") != std::string::npos;
    return n;
  }

  testing::TempDir tmp_{"recur-snapshot-test"};
  const fs::path root_ = tmp_.path();
  const fs::path state_ = root_ / "state";
};

TEST_F(SnapshotTest, ConsistentPointOfStoresThatWritersKeepChanging) {
  std::atomic<bool> stop{false};
  std::atomic<int64_t> progress[kPartitions] = {0, 0};
  std::atomic<int> writers_done{0};
  std::vector<std::thread> writers;
  for (int p = 0; p < kPartitions; ++p) {
    writers.emplace_back([&, p] {
      // 256 KiB memtables: a flush every few batches, so the snapshot meets WAL
      // switches, flushes and compactions, not just a quiet memtable.
      auto store = OpenStore(StateDir::PartitionPath(state_.string(), p), false, 256 << 10);
      for (int64_t b = 1; store != nullptr && b <= kMaxBatches && !stop.load(); ++b) {
        absl::Status s = store->ApplyBatch(MakeBatch(p, b), {{SourceOf(p), b}});
        if (!s.ok()) {
          ADD_FAILURE() << s;
          break;
        }
        progress[p].store(b);
      }
      ++writers_done;
    });
  }
  for (int p = 0; p < kPartitions; ++p) {
    while (progress[p].load() < 40 && writers_done.load() == 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (writers_done.load() > 0) {
    stop.store(true);
    for (auto& t : writers) t.join();
    FAIL() << "a writer stopped before the snapshots began";
  }
  // The writers hold the LOCKs: a plain open fails, which is why Snapshot exists.
  FeatureStore::Options plain;
  plain.path = StateDir::PartitionPath(state_.string(), 0);
  EXPECT_EQ(FeatureStore::Open(plain).status().code(), absl::StatusCode::kFailedPrecondition);

  int64_t advanced = 0;
  std::vector<std::pair<fs::path, std::vector<int64_t>>>
      taken;  // snapshot dir, offset per partition
  for (int i = 0; i < 8; ++i) {
    int64_t before[kPartitions], after[kPartitions];
    for (int p = 0; p < kPartitions; ++p) before[p] = progress[p].load();
    const fs::path out = root_ / ("snap-" + std::to_string(i));
    auto r = Snapshot(state_.string(), out.string());
    for (int p = 0; p < kPartitions; ++p) after[p] = progress[p].load();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->partitions.size(), static_cast<size_t>(kPartitions));
    std::vector<int64_t> offsets;
    for (int p = 0; p < kPartitions; ++p) {
      const PartitionSnapshot& ps = r->partitions[p];
      ASSERT_EQ(ps.offsets.size(), 1u);
      const int64_t k = ps.offsets.at(SourceOf(p));
      EXPECT_GE(k, before[p]);
      EXPECT_LE(k, after[p]);
      EXPECT_EQ(ps.customers, kCustomers);
      advanced += after[p] - before[p];
      offsets.push_back(k);
      std::cerr << "snapshot " << i << " partition " << p << ": offset " << k << " (writer at "
                << before[p] << ".." << after[p] << "), " << ps.keys << " keys, " << ps.catch_ups
                << " catch-ups\n";
    }
    taken.emplace_back(out, offsets);
  }
  stop.store(true);
  for (auto& t : writers) t.join();
  EXPECT_GT(advanced, 0) << "the writers never wrote while a snapshot ran; the test proved nothing";

  for (const auto& [dir, offsets] : taken) {
    // Opened the way the trainer opens a state dir.
    StateDir::Options so;
    so.path = dir.string();
    so.partitions = kPartitions;
    so.store.read_only = true;
    auto opened = StateDir::Open(so);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_EQ(StateDir::CountPartitions(dir.string()).value_or(-1), kPartitions);
    for (int p = 0; p < kPartitions; ++p) {
      auto stored = (*opened)->store(p)->ReadOffsets();
      ASSERT_TRUE(stored.ok());
      EXPECT_EQ(stored->at(SourceOf(p)), offsets[p]);
      ExpectStateOfBatches(p, offsets[p], (*opened)->store(p));
    }
  }
  EXPECT_EQ(Leftovers(), 0);
}

TEST_F(SnapshotTest, StoreNobodyHoldsIsCopiedWhole) {
  for (int p = 0; p < kPartitions; ++p) {
    auto store = OpenStore(StateDir::PartitionPath(state_.string(), p), false, 64 << 10);
    ASSERT_NE(store, nullptr);
    for (int64_t b = 1; b <= 30; ++b)
      ASSERT_TRUE(store->ApplyBatch(MakeBatch(p, b), {{SourceOf(p), b}}).ok());
  }
  auto r = Snapshot(state_.string(), (root_ / "snap").string());
  ASSERT_TRUE(r.ok()) << r.status();
  for (int p = 0; p < kPartitions; ++p) {
    EXPECT_EQ(r->partitions[p].offsets.at(SourceOf(p)), 30);
    auto source = OpenStore(StateDir::PartitionPath(state_.string(), p), true);
    auto copy = OpenStore(StateDir::PartitionPath((root_ / "snap").string(), p), true);
    ASSERT_NE(copy, nullptr);
    EXPECT_TRUE(States(source.get()) == States(copy.get()));
    EXPECT_EQ(copy->ReadOffsets().value(), source->ReadOffsets().value());
  }
}

TEST_F(SnapshotTest, RefusesBadArgumentsAndLeavesNothingBehind) {
  {
    auto store = OpenStore(StateDir::PartitionPath(state_.string(), 0));
    ASSERT_TRUE(store->ApplyBatch(MakeBatch(0, 1), {{SourceOf(0), 1}}).ok());
  }
  EXPECT_EQ(Snapshot((root_ / "nothing-here").string(), (root_ / "a").string()).status().code(),
            absl::StatusCode::kNotFound);
  fs::create_directories(root_ / "empty-state");
  EXPECT_EQ(Snapshot((root_ / "empty-state").string(), (root_ / "a").string()).status().code(),
            absl::StatusCode::kNotFound);

  // An existing OUT is never touched.
  fs::create_directories(root_ / "existing");
  { std::ofstream(root_ / "existing" / "keep.txt") << "mine"; }
  auto exists = Snapshot(state_.string(), (root_ / "existing").string());
  EXPECT_EQ(exists.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(exists.status().message().find("already exists"), std::string::npos) << exists.status();
  EXPECT_TRUE(fs::exists(root_ / "existing" / "keep.txt"));

  EXPECT_EQ(Snapshot(state_.string(), (state_ / "partition-1").string()).status().code(),
            absl::StatusCode::kInvalidArgument);

  // A RocksDB store that is not a recur store: refused, and the temporary dir is removed.
  {
    fs::create_directories(root_ / "alien");
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    ASSERT_TRUE(rocksdb::DB::Open(o, (root_ / "alien" / "partition-0").string(), &raw).ok());
    std::unique_ptr<rocksdb::DB> db(raw);
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), "k", "v").ok());
  }
  auto alien = Snapshot((root_ / "alien").string(), (root_ / "b").string());
  EXPECT_EQ(alien.status().code(), absl::StatusCode::kFailedPrecondition) << alien.status();
  EXPECT_FALSE(fs::exists(root_ / "b"));

  // Interrupted: Cancelled, nothing published.
  std::atomic<bool> stop{true};
  SnapshotOptions so;
  so.stop = &stop;
  EXPECT_EQ(Snapshot(state_.string(), (root_ / "c").string(), so).status().code(),
            absl::StatusCode::kCancelled);
  EXPECT_FALSE(fs::exists(root_ / "c"));
  EXPECT_EQ(Leftovers(), 0);

  // A trailing slash names the same directory.
  auto ok = Snapshot(state_.string(), (root_ / "d").string() + "/");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(fs::exists(root_ / "d" / "partition-0" / "CURRENT"));
  EXPECT_EQ(Leftovers(), 0);
}

}  // namespace
}  // namespace recur
