// FeatureStore: the RocksDB-backed state of one input partition — per-customer day
// buckets, the offsets of every source partition consumed, dedupe ids — updated
// exactly once: a batch's state changes and its offsets go in one WriteBatch.
//
//   FeatureStore::Options o;
//   o.path = "state/p-0";
//   auto store = FeatureStore::Open(o);                 // StatusOr<unique_ptr<...>>
//   if (!store.ok()) return store.status();
//   RETURN_IF_ERROR((*store)->ApplyBatch(events, {{{"shop.purchases", 0}, 1234}}));
//   auto f = (*store)->ComputeFeatures({"shop-1", "c-42"}, as_of_ms);
//
// Two write modes (Options::write_back, docs/DESIGN.md "State layout"):
//  - write-through (the default): every ApplyBatch is one RocksDB WriteBatch —
//    the touched customers' records, the offsets, the stream times — durable
//    when it returns;
//  - write-back (the pipeline): ApplyBatch changes the cached, decoded states
//    and remembers the offsets; Flush() writes every customer changed since the
//    last Flush, the latest offsets and stream times, pending marks and last
//    scores in one WriteBatch. A customer touched by many batches is written
//    once per Flush; a crash loses only what the input topics still hold
//    (the stored offsets are those of the last Flush), so nothing is lost or
//    counted twice.
// Lifecycle: Open() takes RocksDB's lock on the directory (a second process gets a
// FailedPrecondition naming the lock); destruction flushes what is dirty
// (best effort; callers that must know call Flush). Thread-safety: all methods
// may be called from any thread. Batches serialise with each other, flushes
// with each other; readers (ComputeFeatures, ReadState, GetLastScore, ...)
// share a reader lock that batches, commits and a flush's cut hold
// exclusively only while they change the cached state, so a lookup waits for
// at most the apply step of one batch and always sees whole batches. A flush
// holds the writers only while it takes its cut: batches and commits go on
// while it encodes and writes (docs/DESIGN.md, "Nothing waits for a flush").
#ifndef RECUR_FEATURESTORE_FEATURE_STORE_H_
#define RECUR_FEATURESTORE_FEATURE_STORE_H_

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "featurestore/catalog.h"
#include "featurestore/customer_state.h"
#include "featurestore/score_ledger.h"
#include "featurestore/types.h"
#include "featurestore/watermark.h"
#include "proto/recur.pb.h"

namespace rocksdb {
class Env;
}  // namespace rocksdb

namespace recur {

class Changelog;

// The retention horizon and lateness rules (kDefaultRetentionDays, WithinHorizon,
// HorizonFirstDay, IsLate) are in base/time.h.

class FeatureStore {
 public:
  struct Options {
    std::string path;  // the RocksDB directory
    // Days of history kept (>= kMinRetentionDays). 0: the value recorded in the
    // store when it was created (kDefaultRetentionDays for a new one). Another
    // value than the recorded one: featurestore/retention.h.
    int32_t retention_days = 0;
    bool sync = false;       // fsync every batch (power-loss safety)
    bool read_only = false;  // open a snapshot for reading
    // Bytes of decoded customers kept in memory (CustomerState::ApproxBytes);
    // least recently used clean ones are evicted beyond it. Dirty customers
    // (write-back) are never evicted: the caller flushes (cache_stats()).
    size_t cache_bytes = size_t{1} << 30;
    // See the class comment. With write_back, nothing is durable before Flush().
    bool write_back = false;
    // RocksDB memtable size before a flush to an SST file. Tests set a small one
    // to exercise flushes and compactions.
    size_t write_buffer_bytes = 64 << 20;
    // false: an event older than the horizon fails the batch (InvalidArgument).
    // true: it is applied and pruned at once (counted in ApplyStats::expired).
    // The pipeline sets true: several topics feed one store and a backfill reads
    // them unevenly, so it judges "too late" per source partition instead.
    bool expire_outside_horizon = false;
    // true: ApplyBatch marks every touched customer "pending" in the same
    // WriteBatch; ledger().Commit clears the mark once its score is delivered
    // (at-least-once scores, docs/DESIGN.md "Scores").
    bool mark_pending = false;
    // The RocksDB environment (null: the default, the real filesystem). Tests
    // pass one that injects I/O errors (a full disk); it must outlive the store.
    rocksdb::Env* env = nullptr;
    // The watermark (watermark_ms()) is the k-th largest event time applied,
    // k = watermark_events (1..EventTimeWatermark::kKept): a day boundary is
    // crossed once that many events are past it, so one outlier does not move
    // it. 1: the largest event time. The pipeline sets kDefaultWatermarkEvents.
    int32_t watermark_events = 1;
    // The cap on events applied per customer, kind and UTC day
    // (CustomerState::Apply); 0: none. Beyond it an event is not applied and
    // ApplyStats::rate_limited names it. The pipeline sets kDefaultMaxEventsPerDay.
    uint32_t max_events_per_day = 0;
    // Not null: every flush is appended to it before it is written, and Open
    // catches up with it first (restores an empty store from it);
    // featurestore/changelog.h. Must outlive the store. Write-back only.
    Changelog* changelog = nullptr;
  };

  struct CacheStats {
    int64_t entries = 0;        // decoded customers in memory
    int64_t bytes = 0;          // their approximate size
    int64_t dirty_entries = 0;  // changed since the last Flush (write-back)
    int64_t dirty_bytes = 0;
    int64_t batches_since_flush = 0;
    int64_t flushes = 0;
    int64_t flushed_customers = 0;  // customers written by all flushes
    int64_t flushed_bytes = 0;      // bytes (keys and values) of all flushes' WriteBatches
    int64_t loads = 0;              // cache misses read from RocksDB
    // Options::changelog: records appended by the flushes, and records read
    // back when the store was opened (a restore or a catch-up).
    int64_t changelog_records = 0;
    int64_t restored_records = 0;
    int64_t evictions = 0;
  };

  struct ApplyStats {
    int64_t applied = 0;
    int64_t duplicates = 0;
    // The same two per event kind: purchase, session, cart, marketing, profile.
    std::array<int64_t, kNumEventKinds> applied_by_kind{}, duplicates_by_kind{};
    int64_t expired = 0;               // older than the horizon (expire_outside_horizon)
    std::vector<size_t> rate_limited;  // indexes of the events beyond the cap, not applied
    std::vector<CustomerKey> touched;  // customers whose state changed, sorted
  };

  static absl::StatusOr<std::unique_ptr<FeatureStore>> Open(const Options& options);
  virtual ~FeatureStore() = default;
  FeatureStore(const FeatureStore&) = delete;
  FeatureStore& operator=(const FeatureStore&) = delete;

  // Validates every event (ValidateEvent and the retention horizon) and applies
  // all of them together with `offsets`, atomically, or nothing: on an invalid
  // event it returns InvalidArgument "event[i] (id): field: problem". Duplicate
  // event ids (same customer, within kDedupeDays) are counted once; events
  // beyond Options::max_events_per_day are left out (ApplyStats::rate_limited).
  // `stream_times`, when given, are stored beside the offsets: the largest event
  // time seen per source partition (the pipeline's lateness reference).
  virtual absl::Status ApplyBatch(std::span<const v1::Event> events, const OffsetMap& offsets,
                                  ApplyStats* stats = nullptr,
                                  const StreamTimeMap* stream_times = nullptr) = 0;

  // Makes everything applied so far durable, in one WriteBatch (a no-op when
  // nothing changed). On failure nothing was written and a retry writes the
  // same; the cached states stay as applied.
  virtual absl::Status Flush() = 0;
  virtual CacheStats cache_stats() const = 0;

  // The offsets of the last applied batch of each source partition (with
  // write-back, durable only after Flush).
  virtual absl::StatusOr<OffsetMap> ReadOffsets() = 0;
  // The stream times stored with them (see ApplyBatch).
  virtual absl::StatusOr<StreamTimeMap> ReadStreamTimes() = 0;

  // The catalog for `key` as of `as_of_ms`; NotFound for an unknown customer,
  // InvalidArgument when as_of_ms lies before the retention horizon.
  virtual absl::StatusOr<Features> ComputeFeatures(const CustomerKey& key, int64_t as_of_ms) = 0;

  // The stored state of one customer (NotFound if none).
  virtual absl::StatusOr<CustomerState> GetState(const CustomerKey& key) = 0;
  // Calls `fn` with the customer's state without copying it (NotFound if none).
  // `fn` runs under the store's lock: it must not call back into the store.
  virtual absl::Status ReadState(const CustomerKey& key,
                                 const std::function<void(const CustomerState&)>& fn) = 0;

  // Calls `fn` for every customer in key order, on one consistent view (a
  // writable store flushes first, so the view includes every applied batch).
  virtual absl::Status ForEachCustomer(
      const std::function<absl::Status(const CustomerKey&, const CustomerState&)>& fn) = 0;

  // The score side of this store: pending marks, last scores, scorer meta.
  virtual ScoreLedger& ledger() = 0;

  // Writes a consistent checkpoint (state + offsets, after a Flush) into `dir`,
  // which must not exist.
  virtual absl::Status Checkpoint(const std::string& dir) = 0;

  // The largest event time applied: the retention horizon follows it.
  virtual int64_t max_event_time_ms() const = 0;
  // The scoring watermark (Options::watermark_events; featurestore/watermark.h):
  // as of which day the store's customers are re-scored. 0 while fewer than k
  // events were applied. Never goes back; stored with the offsets.
  virtual int64_t watermark_ms() const = 0;
  // How many batches this store object applied (ScoreLedger::Commit's scored_at).
  virtual uint64_t applied_batches() const = 0;
  // The first UTC day still inside the retention horizon.
  virtual int32_t horizon_first_day() const = 0;
  // The retention in effect (Options::retention_days resolved; retention.h).
  virtual int32_t retention_days() const = 0;
  // RocksDB's estimate of the number of customers, without reading them, for
  // progress lines only: it counts every key and every version of a record
  // rewritten since the last compaction (2.7x the customers on a freshly built
  // store was seen), so callers calibrate it.
  virtual int64_t EstimateCustomers() const = 0;

 protected:
  FeatureStore() = default;
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_FEATURE_STORE_H_
