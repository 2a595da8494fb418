// Internal to featurestore (not part of its API): the RocksDB options every recur
// store is opened with, the store's format marker, and the mapping of RocksDB
// statuses onto recur's codes. Shared by feature_store.cc and snapshot.cc so a
// snapshot's stores are written and read exactly like the live ones.
#ifndef RECUR_FEATURESTORE_ROCKS_INTERNAL_H_
#define RECUR_FEATURESTORE_ROCKS_INTERNAL_H_

#include <string>

#include "absl/status/status.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"

namespace recur::internal {

inline constexpr char kFormatKey[] = "m:format";
inline constexpr char kFormat[] = "recur-store-1";

// WAL on, paranoid checks, point-in-time recovery, bloom filters; callers set
// create_if_missing and the write buffer size.
rocksdb::Options StoreRocksOptions();

// Maps a RocksDB status into recur's codes, naming the store and what to do:
// a held LOCK is FailedPrecondition with the store-locked payload
// (store_errors.h), corruption DataLoss, I/O Unavailable.
absl::Status FromRocks(const rocksdb::Status& s, const std::string& path, const char* during);

}  // namespace recur::internal

#endif  // RECUR_FEATURESTORE_ROCKS_INTERNAL_H_
