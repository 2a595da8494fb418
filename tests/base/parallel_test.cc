// ParallelFor runs every index exactly once, on more than one thread when asked,
// and returns only after all of them finished.
#include "base/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace recur {
namespace {

TEST(ParallelForTest, RunsEveryIndexExactlyOnce) {
  for (size_t n : {0, 1, 2, 7, 100}) {
    std::vector<std::atomic<int>> runs(n);
    ParallelFor(
        n, [&](size_t i) { ++runs[i]; }, 4);
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(runs[i].load(), 1) << "n=" << n << " i=" << i;
  }
}

TEST(ParallelForTest, UsesSeveralThreadsAndWaitsForAll) {
  // Each task waits until two tasks are running at once: with two threads this
  // finishes; run inline on one thread it could not.
  std::atomic<int> running{0};
  std::atomic<int> finished{0};
  std::mutex mu;
  std::set<std::thread::id> ids;
  ParallelFor(
      2,
      [&](size_t) {
        {
          std::lock_guard<std::mutex> lock(mu);
          ids.insert(std::this_thread::get_id());
        }
        ++running;
        while (running.load() < 2) std::this_thread::yield();
        ++finished;
      },
      2);
  EXPECT_EQ(finished.load(), 2);
  EXPECT_EQ(ids.size(), 2u);
}

TEST(ParallelForTest, OneThreadRunsInlineInOrder) {
  std::vector<size_t> order;
  const auto caller = std::this_thread::get_id();
  bool same_thread = true;
  ParallelFor(
      5,
      [&](size_t i) {
        order.push_back(i);
        same_thread = same_thread && std::this_thread::get_id() == caller;
      },
      1);
  EXPECT_EQ(order, (std::vector<size_t>{0, 1, 2, 3, 4}));
  EXPECT_TRUE(same_thread);
}

}  // namespace
}  // namespace recur
