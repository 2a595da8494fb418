#include "streams/partition_stores.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "featurestore/state_dir.h"
#include "featurestore/store_errors.h"
#include "spdlog/spdlog.h"

namespace recur {

absl::StatusOr<bool> PartitionStores::Open(int32_t partition) {
  if (stores_.count(partition)) return false;
  FeatureStore::Options o;
  o.path = StateDir::PartitionPath(options_.state_dir, partition);
  o.retention_days = options_.retention_days;
  o.sync = options_.sync;
  o.expire_outside_horizon = true;
  o.mark_pending = options_.mark_pending;
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  auto store = FeatureStore::Open(o);
  for (int waited_ms = 0;
       !store.ok() && IsStoreLocked(store.status()) && waited_ms < options_.lock_timeout_ms;
       waited_ms += options_.lock_retry_ms) {
    if (waited_ms == 0) {
      spdlog::warn("partition {}: store locked by another process; waiting", partition);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.lock_retry_ms));
    store = FeatureStore::Open(o);
  }
  if (!store.ok()) return store.status();
  stores_[partition] = std::move(*store);
  return true;
}

FeatureStore* PartitionStores::Get(int32_t partition) const {
  auto it = stores_.find(partition);
  return it == stores_.end() ? nullptr : it->second.get();
}

absl::Status PartitionStores::Apply(int32_t partition, std::span<const v1::Event> events,
                                    const OffsetMap& offsets, const StreamTimeMap& stream_times,
                                    FeatureStore::ApplyStats* stats) {
  FeatureStore* store = Get(partition);
  if (store == nullptr) {
    return absl::InternalError(absl::StrCat("no store open for partition ", partition));
  }
  return store->ApplyBatch(events, offsets, stats, &stream_times);
}

}  // namespace recur
