// The partition manifest of a state dir: <dir>/PARTITIONS lists every partition
// number a store was ever created for there, so a store that later goes
// missing (a deleted partition-<n> directory) is an error instead of half the
// customers silently missing from `inspect --all` or a silent rebuild from
// offset 0 by `recur run` (issue 15, item 8).
//
//   RETURN_IF_ERROR(recur::RecordPartitions("state", {3}));     // after creating partition-3
//   auto missing = recur::MissingPartitions("state");          // recorded, directory gone
//   if (!missing->empty()) return recur::MissingPartitionsError("state", *missing);
//
// A partition number never recorded is new (a grown topic, a rebalance giving
// this instance more numbers): its store is created and recorded. A state dir
// without a manifest (written before it existed, or a snapshot) records nothing,
// so nothing is missing. The file is rewritten atomically (temp, fsync, rename,
// fsync of the directory) under an flock of <dir>/PARTITIONS.lock, so instances
// sharing one state dir (tests/integration/rebalance_test.sh) never lose each
// other's numbers.
// Thread-safety: functions of the file system; concurrent callers serialise on the lock.
#ifndef RECUR_FEATURESTORE_PARTITION_MANIFEST_H_
#define RECUR_FEATURESTORE_PARTITION_MANIFEST_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace recur {

inline constexpr char kPartitionManifest[] = "PARTITIONS";

// The recorded partition numbers (empty: no manifest). DataLoss when malformed.
absl::StatusOr<std::set<int32_t>> ReadPartitionManifest(const std::string& dir);
// Adds `partitions` to the manifest (no write when all are recorded already).
absl::Status RecordPartitions(const std::string& dir, const std::set<int32_t>& partitions);
// Removes `partitions` from it: `recur run --rebuild-missing`, once the operator
// has allowed a rebuild, makes the missing ones new again.
absl::Status ForgetPartitions(const std::string& dir, const std::set<int32_t>& partitions);
// The recorded partitions whose store directory does not exist, in order.
absl::StatusOr<std::vector<int32_t>> MissingPartitions(const std::string& dir);
// FailedPrecondition naming the missing stores and the ways out.
absl::Status MissingPartitionsError(const std::string& dir, const std::vector<int32_t>& missing);
// OK when no recorded store is missing, else MissingPartitionsError.
absl::Status CheckNoMissingPartitions(const std::string& dir);

}  // namespace recur

#endif  // RECUR_FEATURESTORE_PARTITION_MANIFEST_H_
