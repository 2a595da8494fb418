// kill -9 in the middle of writing: a child process applies batches (each with
// its offset) as fast as it can and is killed with SIGKILL at random moments.
// After every kill the store reopens, its stored offset says how many batches
// landed, and its state equals exactly those batches applied to a clean store:
// no partially applied batch is ever visible, nothing is lost or doubled.
// Both write modes: write-through (durable per batch) and write-back (durable
// per Flush, every kFlushEvery batches), which is also killed once inside a
// flush (at the sync point "FeatureStore::BeforeFlushWrite").
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <random>
#include <thread>

#include "base/sync_point.h"
#include "featurestore/feature_store.h"
#include "tests/testing/events.h"
#include "tests/testing/fixtures.h"

namespace recur {
namespace {

namespace fs = std::filesystem;
constexpr int kBatches = 300;
constexpr int kBatchSize = 2000;
constexpr int kFlushEvery = 5;  // write-back: batches per Flush
const TopicPartition kTp{"shop.purchases", 0};

std::vector<v1::Event> MakeBatch(int k) {
  std::vector<v1::Event> out;
  const int64_t base = testing::Ms(2024, 1, 1) + static_cast<int64_t>(k) * 3'600'000;
  for (int i = 0; i < kBatchSize; ++i) {
    testing::EventFactory ev("shop-" + std::to_string(i % 3),
                             "c-" + std::to_string((k * 7 + i) % 5000));
    v1::Event e =
        (i % 4 == 0)
            ? ev.Session(base + i, 1 + i % 5, 2, 1, i % 2)
            : ev.Purchase(base + i, {{"cat" + std::to_string(i % 6), 1u + i % 3, 1.0 + i % 10}});
    e.set_event_id("b" + std::to_string(k) + "-" + std::to_string(i));
    out.push_back(std::move(e));
  }
  return out;
}

std::unique_ptr<FeatureStore> Open(const fs::path& dir) {
  FeatureStore::Options o;
  o.path = dir.string();
  auto s = FeatureStore::Open(o);
  if (!s.ok()) ADD_FAILURE() << s.status();
  return s.ok() ? std::move(*s) : nullptr;
}

int64_t StoredBatches(FeatureStore* store) {
  auto offsets = store->ReadOffsets();
  EXPECT_TRUE(offsets.ok());
  auto it = offsets->find(kTp);
  return it == offsets->end() ? 0 : it->second;
}

// The child: resume from the stored offset and apply batches until done.
// RECUR_CRASH_WRITE_BACK: a write-back store, flushed every kFlushEvery batches;
// RECUR_CRASH_KILL_AT_FLUSH=N: SIGKILL itself inside its N-th flush, after the
// WriteBatch is built and before it is written.
[[noreturn]] void RunWriter(const fs::path& dir) {
  FeatureStore::Options o;
  o.path = dir.string();
  o.write_back = std::getenv("RECUR_CRASH_WRITE_BACK") != nullptr;
  if (const char* n = std::getenv("RECUR_CRASH_KILL_AT_FLUSH")) {
    static int flushes = 0;
    static const int kill_at = std::atoi(n);
    SyncPoint::Get()->SetCallBack("FeatureStore::BeforeFlushWrite", [](void*) {
      if (++flushes == kill_at) ::kill(::getpid(), SIGKILL);
    });
    SyncPoint::Get()->EnableProcessing();
  }
  auto store = FeatureStore::Open(o);
  if (!store.ok()) _exit(2);
  auto offsets = (*store)->ReadOffsets();
  int64_t next = offsets.ok() && offsets->count(kTp) ? offsets->at(kTp) : 0;
  for (int64_t k = next; k < kBatches; ++k) {
    if (!(*store)->ApplyBatch(MakeBatch(static_cast<int>(k)), {{kTp, k + 1}}).ok()) _exit(3);
    if (o.write_back && (k + 1) % kFlushEvery == 0 && !(*store)->Flush().ok()) _exit(5);
  }
  if (!(*store)->Flush().ok()) _exit(5);
  _exit(0);
}

class FeatureStoreCrashTest : public ::testing::TestWithParam<bool> {};

TEST_P(FeatureStoreCrashTest, KillNineNeverShowsAPartialBatch) {
  const bool write_back = GetParam();
  const fs::path dir = fs::temp_directory_path() /
                       ("recur-crash-" + std::to_string(::getpid()) + (write_back ? "-wb" : ""));
  const fs::path ref_dir = dir.string() + "-reference";
  fs::remove_all(dir);
  fs::remove_all(ref_dir);
  auto reference = Open(ref_dir);
  int64_t reference_batches = 0;
  std::mt19937_64 rng(20261125);
  int kills = 0;
  for (int round = 0; round < 12; ++round) {
    // fork + exec, not a bare fork: a forked child inherits RocksDB's global thread
    // pools without their threads and would stall on its first flush.
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      setenv("RECUR_CRASH_WRITER_DIR", dir.c_str(), 1);
      if (write_back) setenv("RECUR_CRASH_WRITE_BACK", "1", 1);
      if (write_back && round == 0) setenv("RECUR_CRASH_KILL_AT_FLUSH", "3", 1);
      execl("/proc/self/exe", "crash_writer", static_cast<char*>(nullptr));
      _exit(4);
    }
    const bool last = round == 11;
    const bool killed_in_flush = write_back && round == 0;  // kills itself
    int status = 0;
    if (!last && !killed_in_flush) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(40, 400)(rng)));
      kill(pid, SIGKILL);
    }
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status)) ++kills;
    if (last || !WIFSIGNALED(status)) {
      ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
          << "writer failed, status " << status;
    }
    auto store = Open(dir);
    ASSERT_NE(store, nullptr);
    const int64_t landed = StoredBatches(store.get());
    ASSERT_GE(landed, reference_batches) << "a committed batch was lost";
    if (write_back) {
      EXPECT_EQ(landed % kFlushEvery, 0) << "write-back: only whole flushes land";
    }
    if (killed_in_flush) {
      ASSERT_TRUE(WIFSIGNALED(status));
      EXPECT_EQ(landed, 2 * kFlushEvery) << "the third flush was killed before its write";
    }
    for (; reference_batches < landed; ++reference_batches) {
      ASSERT_TRUE(reference
                      ->ApplyBatch(MakeBatch(static_cast<int>(reference_batches)),
                                   {{kTp, reference_batches + 1}})
                      .ok());
    }
    ASSERT_EQ(testing::EncodedStates(store.get()), testing::EncodedStates(reference.get()))
        << "state disagrees with its offset after round " << round;
    ASSERT_EQ(store->max_event_time_ms(), reference->max_event_time_ms());
    if (last) {
      EXPECT_EQ(landed, kBatches);
    }
  }
  EXPECT_GE(kills, 5);
  reference.reset();
  fs::remove_all(dir);
  fs::remove_all(ref_dir);
}

INSTANTIATE_TEST_SUITE_P(WriteModes, FeatureStoreCrashTest, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "WriteBack" : "WriteThrough";
                         });

}  // namespace
}  // namespace recur

int main(int argc, char** argv) {
  if (const char* dir = std::getenv("RECUR_CRASH_WRITER_DIR")) recur::RunWriter(dir);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
