// Internal to featurestore (not part of its API): the RocksDB options every recur
// store is opened with, the store's format marker, and the mapping of RocksDB
// statuses onto recur's codes. Shared by feature_store.cc and snapshot.cc so a
// snapshot's stores are written and read exactly like the live ones.
//
// Key space (one column family):
//   "c" shop "/" customer   -> CustomerState head (EncodeHead: the last 7 days
//                              in it, the tail), or a whole
//                              record of encoding v1..v4 (stores written before
//                              the per-day layout; rewritten as parts when changed)
//   "c" shop "/" customer "\0" BE32(day + 2^31) -> an earlier day's part (EncodeDay);
//                              right after its head in key order (ids hold no NUL)
//   "o" topic "\0" BE32(partition) -> fixed64 next offset
//   "w" topic "\0" BE32(partition) -> fixed64 stream time (max event time) of that source
//   "p" shop "/" customer   -> "" (pending: touched, score not yet delivered)
//   "s" shop "/" customer   -> the last delivered recur.v1.CustomerScore bytes
//   "m:max_event_time"      -> fixed64 largest event time applied
//   "m:watermark"           -> EventTimeWatermark::Encode (the largest event times)
//   "m:x:" name             -> meta entries of the scorer (ScoreLedger::Commit)
//   "m:format"              -> "recur-store-1"
//   "m:retention_days"      -> fixed64 retention, set at creation (retention.h)
#ifndef RECUR_FEATURESTORE_ROCKS_INTERNAL_H_
#define RECUR_FEATURESTORE_ROCKS_INTERNAL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "featurestore/changelog.h"
#include "featurestore/customer_state.h"
#include "featurestore/types.h"
#include "featurestore/watermark.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/status.h"

namespace recur::internal {

inline constexpr char kFormatKey[] = "m:format";
inline constexpr char kFormat[] = "recur-store-1";
inline constexpr char kMaxTimeKey[] = "m:max_event_time";
inline constexpr char kWatermarkKey[] = "m:watermark";
// fixed64 retention in days, written when the store is created (retention.cc).
inline constexpr char kRetentionKey[] = "m:retention_days";
// fixed64: the changelog's offset after the last flush written here (the one
// key never sent to the changelog; changelog_sync.cc).
inline constexpr char kChangelogEndKey[] = "m:changelog_end";

// A store's format marker: OK for a recur store (an empty writable one is
// marked), FailedPrecondition for another format, NotFound for an empty
// read-only one.
absl::Status CheckFormat(rocksdb::DB* db, const std::string& path, bool read_only);

// The store's largest event time and its watermark times (a store written
// before the watermark was kept: EventTimeWatermark::Seeded with that time).
struct EventTimes {
  int64_t max_event_time_ms = 0;
  EventTimeWatermark watermark;
};
absl::StatusOr<EventTimes> ReadEventTimes(rocksdb::DB* db, const std::string& path);

// The retention a store is opened with (FeatureStore::Options::retention_days
// against the one recorded in it; see featurestore/retention.h). A writable
// store without a record gets one: `requested` (or kDefaultRetentionDays) when
// it holds nothing yet, kDefaultRetentionDays (what every earlier recur used)
// when it does.
absl::StatusOr<int32_t> OpenRetention(rocksdb::DB* db, const std::string& path, int32_t requested,
                                      bool read_only);

// What FeatureStore::Open reads before it makes the store: the DB opened
// (read-only or created if missing) and its format checked, the retention in
// effect, the event times and the wire keys of the pending marks on disk.
struct OpenedStore {
  std::unique_ptr<rocksdb::DB> db;
  int32_t retention_days = 0;
  EventTimes times;
  std::unordered_set<std::string> pending;
  int64_t restored_records = 0;  // from the changelog (CatchUpWithChangelog)
};
// With a changelog, the DB first catches up with it (restored, when empty),
// and a store never logged is sent to it once initialised.
absl::StatusOr<OpenedStore> OpenStoreDb(const std::string& path, bool read_only,
                                        int32_t retention_days, size_t write_buffer_bytes,
                                        rocksdb::Env* env, Changelog* changelog = nullptr);

// The changelog side of a store (changelog_sync.cc; featurestore/changelog.h).
// A flush's WriteBatch appended as one unit: the changelog's end after it.
absl::StatusOr<int64_t> AppendToChangelog(Changelog* log, const rocksdb::WriteBatch& batch);
// Applies what the changelog holds beyond the store's recorded end (all of
// it into an empty store). `logged` false: the store was never logged (it
// holds keys and no end, or it is empty and so is the log).
struct CatchUp {
  bool logged = true;
  int64_t records = 0;     // read and applied
  bool log_empty = false;  // the whole log was read and held no record
  int64_t end = 0;         // the log offset the store now holds up to (0: none recorded)
};
// `tailing` (a standby's copy, read again every few seconds): a copy that
// has an end is written with the WAL and no bulk load, and logged at debug.
absl::StatusOr<CatchUp> CatchUpWithChangelog(rocksdb::DB* db, const std::string& path,
                                             Changelog* log, bool tailing = false);
// Sends every key of a never-logged store as one unit and records the end;
// FailedPrecondition when the changelog holds records already (read unless
// `log_empty`: CatchUpWithChangelog read it all already).
absl::Status BootstrapChangelog(rocksdb::DB* db, const std::string& path, Changelog* log,
                                bool log_empty);

// WAL on, paranoid checks, point-in-time recovery, bloom filters, RocksDB's
// own log lines sent to recur's log (RocksLogger); callers set
// create_if_missing and the write buffer size.
rocksdb::Options StoreRocksOptions();

// RocksDB's info log as lines of recur's log (spdlog): errors at error level,
// the rest (warnings included: routine ones at every open) at debug. Why not RocksDB's LOG file: on
// a full disk its writer fails once and RocksDB 7.8 then aborts the process
// (`sync_without_flush_called_` assertion) at the next line it logs, which is
// the background-error report itself; and an operator sees RocksDB's errors
// where recur's are.
std::shared_ptr<rocksdb::Logger> RocksLogger();

// Maps a RocksDB status into recur's codes, naming the store and what to do:
// a held LOCK is FailedPrecondition with the store-locked payload
// (store_errors.h), corruption DataLoss, a full disk ResourceExhausted ("no
// space left on device": RocksDB refuses every write after it, so retrying
// on the same handle can not help), other I/O Unavailable.
absl::Status FromRocks(const rocksdb::Status& s, const std::string& path, const char* during);

// Fixed 8-byte little-endian values (offsets, times).
std::string Fixed64(int64_t v);
bool ParseFixed64(const std::string& s, int64_t* v);
// prefix topic "\0" BE32(partition): 'o' offsets, 'w' stream times.
std::string OffsetKey(const TopicPartition& tp, char prefix = 'o');
// Every OffsetKey entry under `prefix` ("o" or "w").
absl::StatusOr<OffsetMap> ReadPositionsOf(rocksdb::DB* db, const char* prefix,
                                          const std::string& path);
// The value of `key`; NotFound "no entry <first byte> for <rest>".
absl::StatusOr<std::string> GetEntry(rocksdb::DB* db, const std::string& path,
                                     const std::string& key);
// The key of a customer's day part: its head key, NUL, the day (biased big-endian,
// so parts sort by day right after their head).
std::string DayPartKey(std::string_view head_key, int32_t day);
void AppendDayPartKey(std::string_view head_key, int32_t day, std::string* out);
// Whether a "c" key is a day part (a NUL 5 bytes from its end: ids hold none).
inline bool IsDayPartKey(std::string_view key) {
  return key.size() > 5 && key[key.size() - 5] == '\0';
}

// One customer as stored: its head (or whole v1..v4 record) and its day parts.
struct StoredCustomer {
  std::string head;
  std::vector<std::pair<int32_t, std::string>> parts;
  // DataLoss naming the store when invalid.
  absl::Status Decode(const std::string& path, CustomerState* out) const;
};
// Reads the customer whose head `it` is at and moves `it` past its parts;
// DataLoss for a part without its head.
absl::Status ReadStoredAt(rocksdb::Iterator* it, const std::string& path, StoredCustomer* out);

// Reads customers by key ("c" shop "/" customer): an absent customer is an
// empty state. Reuses one iterator for the parts of every customer it reads,
// so read only customers no flush writes meanwhile (a batch's uncached ones).
class CustomerReader {
 public:
  CustomerReader(rocksdb::DB* db, const std::string& path) : db_(db), path_(path) {}
  absl::Status Load(const std::string& key, CustomerState* out);

 private:
  rocksdb::DB* db_;
  const std::string& path_;
  std::unique_ptr<rocksdb::Iterator> it_;
  StoredCustomer stored_;
};

// The customer keys of wire keys ("shop/customer"), in order; DataLoss names a
// malformed one.
absl::StatusOr<std::vector<CustomerKey>> DecodeWireKeys(const std::set<std::string>& wires,
                                                        const std::string& path);

// The wire keys ("shop/customer") of every pending mark ("p" entries).
absl::StatusOr<std::unordered_set<std::string>> ReadPendingKeys(rocksdb::DB* db,
                                                                const std::string& path);

// Up to `max` (> 0) customers ("c" heads with their parts) whose wire key
// sorts after `after` ("": from the first), in key order, on the live DB (no
// snapshot): fn(key, wire key, what is stored). Returns the last wire key
// visited, "" when the scan reached the end (ScoreLedger::ScanPage).
absl::StatusOr<std::string> ScanRecords(
    rocksdb::DB* db, const std::string& path, const std::string& after, size_t max,
    const std::function<absl::Status(const CustomerKey&, const std::string&,
                                     const StoredCustomer&)>& fn);

// Every customer ("c" entries) in key order on one RocksDB snapshot; with
// `scores`, its last score ("s" entry, or null) is merged in.
absl::Status ScanCustomers(
    rocksdb::DB* db, const std::string& path, bool scores,
    const std::function<absl::Status(const CustomerKey&, const CustomerState&, const std::string*)>&
        fn);

}  // namespace recur::internal

#endif  // RECUR_FEATURESTORE_ROCKS_INTERNAL_H_
