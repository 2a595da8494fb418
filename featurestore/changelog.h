// Changelog: where a partition store's changes go besides its RocksDB, so the
// store can be rebuilt on another machine (docs/DESIGN.md, "Scale-out"). Its
// records are the store's own keys and values as a flush writes them (a
// deleted key is a tombstone), so a log that keeps the latest record per key
// (a compacted Kafka topic) holds the store. streams/changelog_kafka.h is the
// Kafka one; tests use an in-memory one.
//
//   FeatureStore::Options o;
//   o.changelog = changelog.get();   // must outlive the store
//   auto store = FeatureStore::Open(o);   // restores or catches up first
//
// What the store does with it (featurestore/changelog_sync.cc):
//  - every Flush appends its WriteBatch's records as one Append, before the
//    batch is written to RocksDB; a failed Append fails the flush (nothing
//    written, the cut kept for the retry);
//  - Open reads what the log holds beyond the offset the local store last
//    recorded (`m:changelog_end`, never logged itself), all of it into an
//    empty directory: a store restored from the log, or one whose last
//    flush reached the log but not the disk, resumes where the log is;
//  - a store that was never logged (new, or from before the changelog) sends
//    all its keys first, when the log holds nothing; a flush without a
//    changelog deletes `m:changelog_end` (the disk left the log's history).
// Thread-safety: a store calls Append from one flush at a time and ReadFrom
// only while it opens; an implementation need not be thread-safe.
#ifndef RECUR_FEATURESTORE_CHANGELOG_H_
#define RECUR_FEATURESTORE_CHANGELOG_H_

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/cord.h"

namespace recur {

// An Append refused because another writer took the log over (another
// instance owns the partition now): the error carries this payload, kept
// through the pipeline's retries, so the pipeline gives its partitions up
// instead of stopping.
inline constexpr char kChangelogFencedPayload[] = "recur/changelog-fenced";
inline absl::Status MarkChangelogFenced(absl::Status s) {
  s.SetPayload(kChangelogFencedPayload, absl::Cord("1"));
  return s;
}
inline bool ChangelogFenced(const absl::Status& s) {
  return s.GetPayload(kChangelogFencedPayload).has_value();
}

struct ChangelogRecord {
  std::string_view key;
  std::string_view value;  // ignored for a tombstone
  bool tombstone = false;  // the key was deleted
};

class Changelog {
 public:
  virtual ~Changelog() = default;

  // Appends `records` as one unit: a reader sees all of them or none (a Kafka
  // transaction). Returns the log's offset just after them. On failure they
  // are read whole or never (a unit whose commit timed out may still commit;
  // the store's next flush repeats its records). Refused because another
  // writer took the log over: an error marked ChangelogFenced.
  virtual absl::StatusOr<int64_t> Append(std::span<const ChangelogRecord> records) = 0;

  // Calls `fn` with the complete units appended at or after offset `from`, in
  // order, a few records at a time (several units per call, a unit across
  // calls), and the offset after the call's last record, until the end of the
  // log as of the call; returns that end (at least `from`; markers of the
  // log's units may follow the last record). FailedPrecondition when the log
  // ends before `from` or no longer starts at or before it (recreated or
  // truncated: the store can not be caught up from it).
  virtual absl::StatusOr<int64_t> ReadFrom(
      int64_t from,
      const std::function<absl::Status(std::span<const ChangelogRecord>, int64_t next)>& fn) = 0;

  // For messages: the topic and partition, e.g. "recur.changelog[3]".
  virtual std::string_view name() const = 0;
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_CHANGELOG_H_
