// StateDir: the set of per-partition stores under one state directory
// (<dir>/partition-<n>), and the partitioner that maps a customer key to a
// partition number exactly as librdkafka's default "consistent_random"
// partitioner does (CRC-32 of the key modulo the partition count), so files
// imported here and records produced to Kafka land in the same partition's store.
//
//   auto dir = recur::StateDir::Open({.path = "state", .partitions = 4});
//   recur::FeatureStore* p2 = (*dir)->store(2);
#ifndef RECUR_FEATURESTORE_STATE_DIR_H_
#define RECUR_FEATURESTORE_STATE_DIR_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/feature_store.h"

namespace recur {

// CRC-32 (IEEE) of the key modulo `partitions`.
int32_t PartitionFor(std::string_view key, int32_t partitions);

class StateDir {
 public:
  struct Options {
    std::string path;
    int32_t partitions = 1;
    FeatureStore::Options store;  // path is set per partition
  };
  // Opens (creating when allowed) one store per partition and records them in
  // the dir's partition manifest (partition_manifest.h). Fails with the first
  // store's error, e.g. FailedPrecondition when another process holds it, and
  // with FailedPrecondition when a recorded store is missing.
  static absl::StatusOr<std::unique_ptr<StateDir>> Open(const Options& options);
  // The partition directories that exist under `path` (for read-only tools);
  // FailedPrecondition naming them when a store the manifest records is missing.
  static absl::StatusOr<int32_t> CountPartitions(const std::string& path);
  // Opens every partition store that exists under `path` read-only (a snapshot,
  // a stopped pipeline's state) with `store`'s other options; NotFound when
  // there is no partition-0 store. The one way tools read a state dir.
  static absl::StatusOr<std::unique_ptr<StateDir>> OpenReadOnly(const std::string& path,
                                                                FeatureStore::Options store = {});

  FeatureStore* store(int32_t partition) { return stores_.at(partition).get(); }
  FeatureStore* StoreFor(std::string_view key) { return store(PartitionFor(key, partitions())); }
  int32_t partitions() const { return static_cast<int32_t>(stores_.size()); }
  static std::string PartitionPath(const std::string& dir, int32_t partition);

 private:
  std::vector<std::unique_ptr<FeatureStore>> stores_;
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_STATE_DIR_H_
