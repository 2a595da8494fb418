// VerifyStore: an offline integrity check of one partition store, for
// `recur verify`. RocksDB checks a table block's checksum only when the block
// is read, so a corrupt block of a customer nobody touches goes unnoticed by
// `recur run` until a batch, a score or a snapshot reads it; this reads all.
//
//   auto v = recur::VerifyStore("state/partition-0");
//   if (!v.ok()) std::cerr << v.status();  // DataLoss naming the corrupt file
//
// The store is opened read-only (no lock: a running pipeline may hold it; what
// it sees is the last flush). Cost: one sequential read of every table file.
#ifndef RECUR_FEATURESTORE_VERIFY_H_
#define RECUR_FEATURESTORE_VERIFY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace recur {

struct StoreVerification {
  int64_t table_files = 0;
  int64_t table_bytes = 0;
  int64_t customers = 0;  // records that decoded
  int64_t offsets = 0;    // source partitions with a stored offset
};

// Checks, in order: the store opens (read-only) and carries recur's format
// marker and a readable max event time; every block checksum of every table
// file and the WAL (RocksDB VerifyChecksum); the stored offsets, stream times
// and pending marks parse; every customer record decodes. DataLoss (naming the
// file where RocksDB says which) for corruption; other codes as Open's.
absl::StatusOr<StoreVerification> VerifyStore(const std::string& path);

}  // namespace recur

#endif  // RECUR_FEATURESTORE_VERIFY_H_
