// A full disk under a FeatureStore: a RocksDB FileSystem whose writes fail with
// ENOSPC ("No space left on device") while a flag is set, like a filesystem that
// fills up and is freed again. A failed flush must report a clear
// ResourceExhausted naming the store, never abort (RocksDB asserts when a write
// goes through a WAL writer that already failed), and leave the disk at the
// last good flush, so a reopen resumes exactly once.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/sync_point.h"
#include "featurestore/catalog.h"
#include "featurestore/feature_store.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "tests/testing/events.h"

namespace recur {
namespace {

using testing::EventFactory;
using testing::Ms;
namespace fs = std::filesystem;

// Every write (append, new file, sync) fails with NoSpace while `full` is set.
class FullDiskFileSystem : public rocksdb::FileSystemWrapper {
 public:
  explicit FullDiskFileSystem(std::atomic<bool>* full)
      : FileSystemWrapper(rocksdb::FileSystem::Default()), full_(full) {}
  const char* Name() const override { return "FullDiskFileSystem"; }

  rocksdb::IOStatus NewWritableFile(const std::string& f, const rocksdb::FileOptions& o,
                                    std::unique_ptr<rocksdb::FSWritableFile>* r,
                                    rocksdb::IODebugContext* dbg) override {
    if (full_->load()) return NoSpace(f);
    rocksdb::IOStatus s = target()->NewWritableFile(f, o, r, dbg);
    if (s.ok()) *r = std::make_unique<File>(std::move(*r), full_, f);
    return s;
  }

 private:
  static rocksdb::IOStatus NoSpace(const std::string& f) {
    return rocksdb::IOStatus::NoSpace("While appending to file: " + f, "No space left on device");
  }
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<rocksdb::FSWritableFile> f, std::atomic<bool>* full, std::string name)
        : FSWritableFileOwnerWrapper(std::move(f)), full_(full), name_(std::move(name)) {}
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             rocksdb::IODebugContext* dbg) override {
      return full_->load() ? NoSpace(name_) : target()->Append(d, o, dbg);
    }
    rocksdb::IOStatus Append(const rocksdb::Slice& d, const rocksdb::IOOptions& o,
                             const rocksdb::DataVerificationInfo& v,
                             rocksdb::IODebugContext* dbg) override {
      return full_->load() ? NoSpace(name_) : target()->Append(d, o, v, dbg);
    }
    rocksdb::IOStatus Sync(const rocksdb::IOOptions& o, rocksdb::IODebugContext* dbg) override {
      return full_->load() ? NoSpace(name_) : target()->Sync(o, dbg);
    }

   private:
    std::atomic<bool>* full_;
    std::string name_;
  };
  std::atomic<bool>* full_;
};

class FullDiskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("recur-full-disk-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    env_ = rocksdb::NewCompositeEnv(std::make_shared<FullDiskFileSystem>(&full_));
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::unique_ptr<FeatureStore> Open(bool write_back, bool faulty = true) {
    FeatureStore::Options o;
    o.path = dir_.string();
    o.write_back = write_back;
    o.mark_pending = true;
    if (faulty) o.env = env_.get();
    auto s = FeatureStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  int64_t DurableOrders30d(int64_t as_of) {
    auto store = Open(false, /*faulty=*/false);
    auto f = store->ComputeFeatures(c1_, as_of);
    EXPECT_TRUE(f.ok()) << f.status();
    return f.ok() ? static_cast<int64_t>((*f)[kOrders30d]) : -1;
  }

  fs::path dir_;
  std::atomic<bool> full_{false};
  std::unique_ptr<rocksdb::Env> env_;
  const TopicPartition tp_{"shop.purchases", 0};
  const CustomerKey c1_{"shop-1", "c-1"};
};

TEST_F(FullDiskTest, AFailedFlushSaysNoSpaceAndLaterCallsFailWithoutAborting) {
  EventFactory ev;
  {
    auto store = Open(/*write_back=*/true);
    ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
    ASSERT_TRUE(store->Flush().ok());
    ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5)}, {{tp_, 2}}).ok());
    full_ = true;
    absl::Status s = store->Flush();
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_NE(s.message().find("no space left"), std::string::npos) << s;
    EXPECT_NE(s.message().find(dir_.string()), std::string::npos) << s;
    // What a retry loop does: the same flush again, still full, then with
    // space back. Neither may abort; the store stays failed (RocksDB refuses
    // writes after a failed WAL write), so the caller exits and restarts.
    EXPECT_FALSE(store->Flush().ok());
    full_ = false;
    EXPECT_FALSE(store->Flush().ok());
  }  // closing it must not abort either
  // The disk holds the first flush: offset 1, one order. A restart re-reads
  // offsets 2.. and applies them once.
  EXPECT_EQ(DurableOrders30d(Ms(2024, 3, 2)), 1);
  auto store = Open(/*write_back=*/true, /*faulty=*/false);
  EXPECT_EQ(*store->ReadOffsets(), (OffsetMap{{tp_, 1}}));
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5)}, {{tp_, 2}}).ok());
  ASSERT_TRUE(store->Flush().ok());
  store.reset();
  EXPECT_EQ(DurableOrders30d(Ms(2024, 3, 2)), 2);
}

// A flush whose write fails gives back everything it cut: the changed
// customers, offsets, scores and pending marks are unflushed again, under
// what a batch and a commit changed while it ran. The live store still
// answers with all of it.
TEST_F(FullDiskTest, AFailedFlushKeepsEverythingItCutUnflushed) {
  EventFactory ev;  // shop-1/c-1
  EventFactory ev2("shop-1", "c-2");
  const CustomerKey c2{"shop-1", "c-2"};
  auto store = Open(/*write_back=*/true);
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
  ASSERT_TRUE(store->Flush().ok());
  ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5)}, {{tp_, 2}}).ok());
  ASSERT_TRUE(store->ledger().Commit({{c1_, "scored"}}, {}, {}).ok());
  SyncPoint::Get()->SetCallBack("FeatureStore::AfterFlushCut", [&](void*) {
    std::thread([&] {
      EXPECT_TRUE(store->ApplyBatch(std::vector{ev2.Purchase(Ms(2024, 3, 2), 7)}, {{tp_, 3}}).ok());
    }).join();
  });
  SyncPoint::Get()->EnableProcessing();
  full_ = true;
  EXPECT_EQ(store->Flush().code(), absl::StatusCode::kResourceExhausted);
  SyncPoint::Get()->DisableProcessing();
  SyncPoint::Get()->ClearAllCallBacks();
  EXPECT_EQ(*store->ReadOffsets(), (OffsetMap{{tp_, 3}}));
  EXPECT_EQ(store->cache_stats().dirty_entries, 2);  // c-1 back from the cut, c-2
  EXPECT_EQ(store->cache_stats().flushes, 1);
  EXPECT_EQ(*store->ledger().GetLastScore(c1_), "scored");
  EXPECT_EQ(*store->ledger().ReadPending(), (std::vector<CustomerKey>{c1_, c2}));
  EXPECT_EQ((*store->ComputeFeatures(c1_, Ms(2024, 3, 2)))[kOrders30d], 2);
  full_ = false;
}

TEST_F(FullDiskTest, AWriteThroughBatchOnAFullDiskIsNotApplied) {
  EventFactory ev;
  {
    auto store = Open(/*write_back=*/false);
    ASSERT_TRUE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 1), 10)}, {{tp_, 1}}).ok());
    full_ = true;
    absl::Status s = store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5)}, {{tp_, 2}});
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_FALSE(store->ApplyBatch(std::vector{ev.Purchase(Ms(2024, 3, 2), 5)}, {{tp_, 2}}).ok());
    full_ = false;
  }
  EXPECT_EQ(DurableOrders30d(Ms(2024, 3, 2)), 1);
}

}  // namespace
}  // namespace recur
