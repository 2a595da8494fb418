// Sync points: named places in production code where a test can run its own
// code, modelled on RocksDB's test_util/sync_point.h. Production code marks a
// place; only a test ever registers a callback, so a marked place costs one
// atomic load while nothing is registered (the default, and always in
// `recur`). Unlike RocksDB's they are compiled into release builds too: the
// integration tests kill the real, optimised pipeline at a sync point
// (tests/streams/recur_kill_after_commit.cc).
//
//   // production code
//   RECUR_SYNC_POINT("Pipeline::AfterStateCommit");
//
//   // a test
//   recur::SyncPoint::Get()->SetCallBack("Pipeline::AfterStateCommit",
//                                        [&](void*) { ++commits; });
//   recur::SyncPoint::Get()->EnableProcessing();
//   ... run ...
//   recur::SyncPoint::Get()->DisableProcessing();
//   recur::SyncPoint::Get()->ClearAllCallBacks();
//
// Names are "Class::Place". A callback runs on the thread that reached the
// point, while that thread holds no lock of the sync point's, so it may block,
// sleep or kill the process; `arg` is whatever the point passes (nullptr for
// RECUR_SYNC_POINT). Thread-safety: every method may be called from any thread.
#ifndef RECUR_BASE_SYNC_POINT_H_
#define RECUR_BASE_SYNC_POINT_H_

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"

namespace recur {

class SyncPoint {
 public:
  using Callback = std::function<void(void* arg)>;

  // The process-wide instance (never destroyed).
  static SyncPoint* Get();

  SyncPoint(const SyncPoint&) = delete;
  SyncPoint& operator=(const SyncPoint&) = delete;

  // Replaces the callback of `point`.
  void SetCallBack(const std::string& point, Callback callback);
  void ClearCallBack(const std::string& point);
  void ClearAllCallBacks();

  // Callbacks run only between EnableProcessing and DisableProcessing.
  void EnableProcessing() { enabled_.store(true, std::memory_order_release); }
  void DisableProcessing() { enabled_.store(false, std::memory_order_release); }

  // Runs the callback of `point`, if processing is enabled and one is set.
  void Process(std::string_view point, void* arg = nullptr) {
    if (enabled_.load(std::memory_order_acquire)) Run(point, arg);
  }

 private:
  SyncPoint() = default;
  void Run(std::string_view point, void* arg);

  std::atomic<bool> enabled_{false};
  absl::Mutex mu_;
  // shared_ptr: a callback may run while another thread replaces it.
  std::map<std::string, std::shared_ptr<const Callback>, std::less<>> callbacks_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace recur

// Marks a sync point in production code.
#define RECUR_SYNC_POINT(name) ::recur::SyncPoint::Get()->Process(name)
// Marks a sync point that hands `arg` (a pointer) to its callback.
#define RECUR_SYNC_POINT_CALLBACK(name, arg) ::recur::SyncPoint::Get()->Process(name, arg)

#endif  // RECUR_BASE_SYNC_POINT_H_
