// StandbyCopy: a warm copy of a partition store that another instance owns,
// kept by reading the store's changelog (featurestore/changelog.h) again and
// again (docs/DESIGN.md, "Standbys"). It is the store's own RocksDB directory:
// when the partition is assigned here, FeatureStore::Open finds it and reads
// only what the changelog got since the copy's last catch-up.
//
//   auto copy = recur::StandbyCopy::Open(path, log.get());   // log: a reader
//   auto applied = (*copy)->CatchUp();   // records applied; repeat
//
// Every write of a catch-up records the log's offset after it (one WriteBatch),
// so a copy killed at any moment is a consistent prefix of the log. A copy
// never writes to the log; a directory holding a store never logged (older
// than the changelog) is refused, not overwritten.
// Thread-safety: one thread at a time. Holds the directory's RocksDB lock.
#ifndef RECUR_FEATURESTORE_STANDBY_COPY_H_
#define RECUR_FEATURESTORE_STANDBY_COPY_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "featurestore/changelog.h"
#include "rocksdb/db.h"

namespace recur {

class StandbyCopy {
 public:
  // Opens (creates) the copy at `path`; `log` must outlive it. The first
  // CatchUp of an empty copy is a restore (bulk load).
  static absl::StatusOr<std::unique_ptr<StandbyCopy>> Open(const std::string& path, Changelog* log);
  // Applies what the log holds beyond the copy's end: the records applied.
  // FailedPrecondition for a store never logged; the log's errors as they are
  // (Cancelled when the log was cancelled).
  absl::StatusOr<int64_t> CatchUp();
  // The log's offset the copy holds everything before.
  int64_t end() const { return end_; }
  // Deletes the (closed) copy at `path` through RocksDB's DestroyDB, which
  // holds the store's lock while it deletes: a store open anywhere (another
  // process on a shared disk, or this one) makes it fail and stays whole.
  // The directory itself goes when nothing else is left in it.
  static absl::Status Destroy(const std::string& path);
  // Whether the (closed) store at `path` is in a changelog's history (it holds
  // `m:changelog_end`): the log then holds everything it does, and deleting it
  // loses nothing. False for a store never logged or cut off the log by a
  // flush without it (docs/DESIGN.md, "Refusals").
  static absl::StatusOr<bool> IsLogged(const std::string& path);

 private:
  StandbyCopy(std::string path, Changelog* log, std::unique_ptr<rocksdb::DB> db)
      : path_(std::move(path)), log_(log), db_(std::move(db)) {}

  std::string path_;
  Changelog* log_;
  std::unique_ptr<rocksdb::DB> db_;
  int64_t end_ = 0;
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_STANDBY_COPY_H_
