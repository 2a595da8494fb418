#include "base/sync_point.h"

#include <utility>

namespace recur {

SyncPoint* SyncPoint::Get() {
  static SyncPoint* const instance = new SyncPoint();
  return instance;
}

void SyncPoint::SetCallBack(const std::string& point, Callback callback) {
  auto shared = std::make_shared<const Callback>(std::move(callback));
  absl::MutexLock lock(&mu_);
  callbacks_[point] = std::move(shared);
}

void SyncPoint::ClearCallBack(const std::string& point) {
  absl::MutexLock lock(&mu_);
  callbacks_.erase(point);
}

void SyncPoint::ClearAllCallBacks() {
  absl::MutexLock lock(&mu_);
  callbacks_.clear();
}

void SyncPoint::Run(std::string_view point, void* arg) {
  std::shared_ptr<const Callback> callback;
  {
    absl::MutexLock lock(&mu_);
    auto it = callbacks_.find(point);
    if (it == callbacks_.end()) return;
    callback = it->second;
  }
  (*callback)(arg);  // outside the lock: it may block, re-enter or never return
}

}  // namespace recur
