// PartitionStores: the feature stores of the partition numbers this instance
// owns, one RocksDB store per number under <state_dir>/partition-<n>
// (StateDir::PartitionPath). Opened when the group assigns a number, closed
// when it is revoked; the Committer writes through it (PartitionWriter).
//
//   recur::PartitionStores stores(options);
//   auto opened = stores.Open(3);       // true: opened now; false: already open
//   FeatureStore* s = stores.Get(3);
//   stores.CloseAll();                  // on revocation
//
// A store another process still holds (the previous owner on a shared disk,
// still closing it) is waited for — retried every 500 ms for up to
// lock_timeout_ms — as Kafka Streams waits for a task's state directory; the
// lock is recognised by its status payload (featurestore/store_errors.h).
// Thread-safety: Open, Get and CloseAll on one thread; Apply from several
// threads at once for different partitions (FeatureStore is thread-safe).
#ifndef RECUR_STREAMS_PARTITION_STORES_H_
#define RECUR_STREAMS_PARTITION_STORES_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "featurestore/feature_store.h"
#include "streams/committer.h"

namespace recur {

struct PartitionStoresOptions {
  std::string state_dir = "state";
  int32_t retention_days = kDefaultRetentionDays;
  bool sync = false;          // fsync every batch
  bool mark_pending = false;  // scoring on: ApplyBatch marks touched customers pending
  int lock_timeout_ms = 30'000;
  int lock_retry_ms = 500;
};

class PartitionStores final : public PartitionWriter {
 public:
  explicit PartitionStores(PartitionStoresOptions options) : options_(std::move(options)) {}
  PartitionStores(const PartitionStores&) = delete;
  PartitionStores& operator=(const PartitionStores&) = delete;

  // Opens the store of `partition` unless it is open. True: opened by this call.
  absl::StatusOr<bool> Open(int32_t partition);
  // Null when the partition's store is not open.
  FeatureStore* Get(int32_t partition) const;
  const std::map<int32_t, std::unique_ptr<FeatureStore>>& open() const { return stores_; }
  void CloseAll() { stores_.clear(); }

  bool IsOpen(int32_t partition) const override { return stores_.count(partition) > 0; }
  absl::Status Apply(int32_t partition, std::span<const v1::Event> events, const OffsetMap& offsets,
                     const StreamTimeMap& stream_times, FeatureStore::ApplyStats* stats) override;

 private:
  const PartitionStoresOptions options_;
  std::map<int32_t, std::unique_ptr<FeatureStore>> stores_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_PARTITION_STORES_H_
