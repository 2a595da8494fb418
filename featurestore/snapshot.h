// Snapshot: a consistent copy of every partition store of a state directory,
// offsets included, taken while `recur run` keeps writing to it (or while
// nobody holds it). The result is an ordinary state directory: `recur train`,
// `recur inspect` and `recur run` open it like any other.
//
//   auto r = recur::Snapshot("state", "snapshots/2025-06-30");
//   if (!r.ok()) return r.status();
//   for (const auto& p : r->partitions) std::cout << p.partition << ": " << p.keys << " keys\n";
//
// How: the running pipeline holds each store's LOCK, so each store is opened as a
// RocksDB *secondary instance* (no lock; it tails the primary's MANIFEST and WAL).
// Every pipeline batch — state and offsets — is one WriteBatch, so a secondary's
// view after a catch-up is the store as of one batch boundary. The view is copied
// key by key into a fresh store, which is then reopened and compared with the
// view (key count and a hash of every key and value) before anything is
// published. All stores are built under OUT.tmp-XXXXXX beside OUT, which is
// renamed to OUT at the end (never over an existing OUT).
//
// Each partition store is consistent on its own, with the offsets that produced
// it; the stores are taken one after the other, not at one common instant (each
// store carries its own offsets, which is all that training and a restart need).
#ifndef RECUR_FEATURESTORE_SNAPSHOT_H_
#define RECUR_FEATURESTORE_SNAPSHOT_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/types.h"

namespace recur {

struct PartitionSnapshot {
  int32_t partition = 0;
  int64_t keys = 0;  // every RocksDB key copied (customers, offsets, metadata)
  int64_t customers = 0;
  int64_t bytes = 0;  // keys + values
  OffsetMap offsets;  // as read back from the copy
  int64_t max_event_time_ms = 0;
  int catch_ups = 0;  // TryCatchUpWithPrimary calls it took to get a certified view
};

struct SnapshotResult {
  std::string out;
  std::vector<PartitionSnapshot> partitions;
};

struct SnapshotOptions {
  // Set (e.g. by a signal handler) to abandon the snapshot: Cancelled, OUT untouched.
  const std::atomic<bool>* stop = nullptr;
  // Called after each partition store is copied and verified (progress output).
  std::function<void(const PartitionSnapshot&)> on_partition;
  // Time per partition store to get a certified view before giving up with
  // Unavailable (a writer that flushes during every catch-up, or a store that
  // keeps failing to open). A catch-up normally takes milliseconds.
  int64_t catch_up_timeout_ms = 60'000;
};

// Copies every store <state_dir>/partition-<n> into <out>/partition-<n>.
// Errors: NotFound (no state dir or no partition-0 store in it), AlreadyExists
// (out exists), InvalidArgument (out inside state_dir), FailedPrecondition (not
// a recur store), DataLoss (copy differs from the source view), Unavailable
// (I/O, or no consistent view within catch_up_timeout_ms), Cancelled (stop was set).
// On any error nothing is left at `out` and the temporary directory is removed.
absl::StatusOr<SnapshotResult> Snapshot(const std::string& state_dir, const std::string& out,
                                        const SnapshotOptions& options = {});

}  // namespace recur

#endif  // RECUR_FEATURESTORE_SNAPSHOT_H_
