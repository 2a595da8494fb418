#include "featurestore/rocks_internal.h"

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "featurestore/store_errors.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"

namespace recur::internal {

rocksdb::Options StoreRocksOptions() {
  rocksdb::Options ro;
  ro.paranoid_checks = true;
  ro.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  ro.manual_wal_flush = false;
  ro.write_buffer_size = 64 << 20;
  // A batch touches mostly customers not yet in the memtable: a whole-key bloom
  // filter answers those lookups without walking the skiplist.
  ro.memtable_whole_key_filtering = true;
  ro.memtable_prefix_bloom_size_ratio = 0.05;
  ro.max_background_jobs = 2;
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  ro.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return ro;
}

absl::Status FromRocks(const rocksdb::Status& s, const std::string& path, const char* during) {
  if (s.ok()) return absl::OkStatus();
  const std::string what = absl::StrCat("state store ", path, ": ", during, ": ", s.ToString());
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    absl::Status locked = absl::FailedPreconditionError(absl::StrCat(
        what, " — another process holds the store's LOCK; stop it or use another state directory"));
    // Callers branch on this payload (IsStoreLocked), never on the text.
    locked.SetPayload(kStoreLockedPayload, absl::Cord(path));
    return locked;
  }
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(
        what, " — the store is corrupt; restore a snapshot or rebuild it with `recur replay`"));
  }
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(
        absl::StrCat(what, " — check the disk (space, permissions) and retry"));
  }
  if (s.IsInvalidArgument() || s.IsNotSupported()) return absl::InvalidArgumentError(what);
  return absl::InternalError(what);
}

}  // namespace recur::internal
