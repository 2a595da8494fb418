// Internal to the feature store: the RocksDB implementation of FeatureStore
// and its ScoreLedger. Defined in feature_store.cc (batches, reads) and
// store_flush.cc (flushes, the ledger's commits, eviction); the key space is
// in rocks_internal.h, the write path in docs/DESIGN.md ("State layout").
// RocksDB is the source of truth (offsets live here), so the WAL stays on,
// paranoid checks stay on and recovery is point-in-time (docs/DESIGN.md, pitfalls).
// Every write goes through FlushLocked(): one WriteBatch with the changed
// customers, the pending marks and last scores, the offsets and stream times.
// Write-through: after every ApplyBatch and Commit; write-back: at Flush().
// A flush takes a cut (what is applied so far) under a short exclusive lock,
// then encodes and writes it while batches go on: a batch that changes a
// customer of the cut not yet encoded encodes it first (copy-on-write).
#ifndef RECUR_FEATURESTORE_ROCKS_STORE_H_
#define RECUR_FEATURESTORE_ROCKS_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/node_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "featurestore/feature_store.h"
#include "featurestore/rocks_internal.h"
#include "featurestore/unflushed.h"
#include "rocksdb/db.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace recur::internal {

class RocksFeatureStore final : public FeatureStore, public ScoreLedger {
 public:
  RocksFeatureStore(Options options, std::unique_ptr<rocksdb::DB> db, int64_t max_time,
                    EventTimeWatermark watermark,
                    std::unordered_map<std::string, uint64_t> pending_on_disk)
      : options_(std::move(options)),
        db_(std::move(db)),
        max_event_time_ms_(max_time),
        durable_max_time_ms_(max_time),
        watermark_(watermark),
        durable_watermark_(std::move(watermark)),
        pending_on_disk_(std::move(pending_on_disk)) {
    write_options_.sync = options_.sync;
  }

  // Records read from the changelog when it was opened (CacheStats).
  void CountRestored(int64_t records) {
    absl::WriterMutexLock lock(&mu_);
    counters_.restored_records = records;
  }

  ~RocksFeatureStore() override {
    absl::MutexLock flushing(&flush_mu_);
    if (!options_.read_only) FlushLocked().IgnoreError();  // best effort; owners call Flush
  }

  absl::Status ApplyBatch(std::span<const v1::Event> events, const OffsetMap& offsets,
                          ApplyStats* stats, const StreamTimeMap* stream_times) override;

  absl::Status Apply(std::span<const v1::Event> events, const OffsetMap& offsets, ApplyStats* stats,
                     const StreamTimeMap* stream_times) ABSL_LOCKS_EXCLUDED(mu_);

  absl::Status Flush() override;

  CacheStats cache_stats() const override;

  absl::StatusOr<OffsetMap> ReadOffsets() override;
  absl::StatusOr<StreamTimeMap> ReadStreamTimes() override;

  absl::StatusOr<OffsetMap> ReadPositions(const char* prefix) {
    return internal::ReadPositionsOf(db_.get(), prefix, options_.path);
  }

  absl::StatusOr<Features> ComputeFeatures(const CustomerKey& key, int64_t as_of_ms) override;

  absl::StatusOr<CustomerState> GetState(const CustomerKey& key) override;

  absl::Status ReadState(const CustomerKey& key,
                         const std::function<void(const CustomerState&)>& fn) override;

  // The customer's cached state, else its record read into `scratch`;
  // NotFound for an unknown customer.
  absl::StatusOr<const CustomerState*> FindLocked(const CustomerKey& key, CustomerState* scratch)
      ABSL_SHARED_LOCKS_REQUIRED(mu_);

  absl::Status ForEachCustomer(
      const std::function<absl::Status(const CustomerKey&, const CustomerState&)>& fn) override;

  ScoreLedger& ledger() override { return *this; }

  absl::Status ForEachCustomerWithScore(
      const std::function<absl::Status(const CustomerKey&, const CustomerState&,
                                       const std::string*)>& fn) override {
    return Scan(true, fn);
  }

  absl::StatusOr<std::string> ScanPage(
      const std::string& after, size_t max,
      const std::function<absl::Status(const CustomerKey&, const CustomerState&,
                                       const std::string*)>& fn) override;

  absl::StatusOr<std::vector<CustomerKey>> ReadPending() override;

  absl::Status Commit(const std::vector<std::pair<CustomerKey, std::string>>& published,
                      const std::vector<CustomerKey>& done,
                      const std::vector<std::pair<std::string, std::string>>& meta,
                      uint64_t scored_at) override;

  void CommitLocked(const std::vector<std::pair<CustomerKey, std::string>>& published,
                    const std::vector<CustomerKey>& done,
                    const std::vector<std::pair<std::string, std::string>>& meta,
                    uint64_t scored_at) ABSL_LOCKS_EXCLUDED(mu_);

  absl::StatusOr<std::string> GetLastScore(const CustomerKey& key) override;
  absl::StatusOr<std::string> GetMeta(const std::string& name) override;

  absl::Status Checkpoint(const std::string& dir) override;

  uint64_t applied_batches() const override {
    absl::ReaderMutexLock lock(&mu_);
    return tick_;
  }

  int64_t max_event_time_ms() const override {
    absl::ReaderMutexLock lock(&mu_);
    return max_event_time_ms_;
  }
  int64_t watermark_ms() const override {
    absl::ReaderMutexLock lock(&mu_);
    return watermark_.Kth(options_.watermark_events);
  }
  int32_t horizon_first_day() const override {
    absl::ReaderMutexLock lock(&mu_);
    return HorizonFirstDay(max_event_time_ms_);
  }
  int32_t retention_days() const override { return options_.retention_days; }

  int64_t EstimateCustomers() const override;

 private:
  struct Entry {
    CustomerState state;
    size_t bytes = 0;         // state.ApproxBytes() when last measured
    uint64_t used = 0;        // tick_ of the last batch that read it (LRU)
    bool dirty = false;       // changed since the last flush's cut (listed in dirty_)
    bool touched = false;     // scratch: changed by the batch being applied
    bool loading = false;     // entered by ApplyBatch, record being read: readers read it too
    int32_t flush_slot = -1;  // in the running flush's cut: its index there
  };
  // "c" shop "/" customer; nodes, so entries stay put while the map grows.
  using CacheMap = absl::node_hash_map<std::string, Entry>;

  // entries[i]: event i's customer's cache entry, read if not cached (pass 2).
  absl::Status FindOrLoad(std::span<const v1::Event> events,
                          std::vector<CacheMap::value_type*>* entries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_);

  int32_t HorizonFirstDay(int64_t max_time) const {
    return recur::HorizonFirstDay(max_time, options_.retention_days);
  }

  bool HasUnflushed() const ABSL_SHARED_LOCKS_REQUIRED(mu_);

  // One WriteBatch with everything applied or committed before the call. Only
  // the cut holds the writers (mu_ exclusively, briefly); the customers are
  // encoded under the shared lock, a chunk at a time, and written with no
  // lock, so batches, commits and lookups go on meanwhile. A batch that
  // changes a customer of the cut before the flush encoded it encodes it
  // first (SaveForFlush): the WriteBatch holds the states as of the cut, with
  // the offsets of the cut.
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_) ABSL_LOCKS_EXCLUDED(mu_);

  // Moves everything unflushed into the cut; false when nothing changed.
  bool TakeCut() ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_, mu_);

  // A batch is about to change a customer of the running flush's cut.
  void SaveForFlush(Entry& entry) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Takes the cut customer's changed parts into its slot and encodes its
  // head and those parts. Under the shared mu_ (the flush) or the exclusive
  // (a batch's copy-on-write), always with slot_mu_, once per slot.
  void TakeAndEncode(CustomerState* state, size_t slot, StoredCustomer* out)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(slot_mu_);

  // Fills `batch` with the cut: its customers in key order, then the rest.
  void BuildFlushBatch(rocksdb::WriteBatch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_)
      ABSL_LOCKS_EXCLUDED(mu_);

  // The cut's write landed (`written`): forget it as unflushed; or it did
  // not: everything in it is unflushed again, under what came since.
  void FinishCut(bool written) ABSL_EXCLUSIVE_LOCKS_REQUIRED(flush_mu_, mu_);

  // After a failed write-through flush: the cache is ahead of the disk. Forget
  // the changed customers (they reload from disk) and what came with them.
  void DropUnflushed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  // Evicts the least recently used clean customers until the cache is within
  // three quarters of its budget (so eviction runs rarely, not per batch).
  // The caller also excludes batches (write_mu_, or flush_mu_ write-through).
  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  absl::StatusOr<std::string> GetRaw(const std::string& key) {
    return GetEntry(db_.get(), options_.path, key);
  }

  // Every customer in key order on one snapshot (a writable store flushes
  // first); with `scores`, its "s" entry is merged in (both key spaces are
  // ordered the same way).
  absl::Status Scan(bool scores,
                    const std::function<absl::Status(const CustomerKey&, const CustomerState&,
                                                     const std::string*)>& fn);

  // An uncached customer's state from disk (nothing writes it meanwhile: a
  // flush writes only cached customers).
  absl::Status Load(const std::string& key, CustomerState* out) {
    return CustomerReader(db_.get(), options_.path).Load(key, out);
  }

  const Options options_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;
  // flush_mu_ serialises flushes (and, write-through, every writer with its
  // flush); write_mu_ serialises batches. mu_ guards what readers share with
  // them: it is taken exclusively to change it (a batch's apply step, a
  // commit, a flush's cut and its end), shared to read it (lookups, a flush
  // encoding its cut). RocksDB reads (iterators, Get) need no lock.
  absl::Mutex flush_mu_ ABSL_ACQUIRED_BEFORE(write_mu_);
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_ ABSL_ACQUIRED_BEFORE(slot_mu_);
  int64_t max_event_time_ms_ ABSL_GUARDED_BY(mu_);
  int64_t durable_max_time_ms_ ABSL_GUARDED_BY(mu_);
  EventTimeWatermark watermark_ ABSL_GUARDED_BY(mu_);
  EventTimeWatermark durable_watermark_ ABSL_GUARDED_BY(mu_);  // as of the last flush
  CacheMap cache_ ABSL_GUARDED_BY(mu_);
  size_t cache_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t dirty_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t tick_ ABSL_GUARDED_BY(mu_) = 0;
  // Not yet flushed, nor in the running flush's cut: changed customers,
  // positions, ledger entries.
  std::vector<CacheMap::value_type*> dirty_ ABSL_GUARDED_BY(mu_);
  Unflushed unflushed_ ABSL_GUARDED_BY(mu_);
  // The running flush's cut (empty between flushes): its customers (read by
  // the flush with no lock, besides mu_ for their states), its ledger.
  std::vector<CacheMap::value_type*> cut_ ABSL_GUARDED_BY(flush_mu_);
  Unflushed cut_ledger_ ABSL_GUARDED_BY(mu_);
  size_t cut_entries_ ABSL_GUARDED_BY(mu_) = 0;
  size_t cut_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t flush_bytes_per_customer_ ABSL_GUARDED_BY(flush_mu_) = 64;  // of the last flush's batch
  int64_t cut_max_time_ms_ ABSL_GUARDED_BY(flush_mu_) = 0;
  EventTimeWatermark cut_watermark_ ABSL_GUARDED_BY(flush_mu_);
  // The cut's customers encoded (head and changed parts; an empty part is a
  // deleted day), by flush_slot: by the flush, or by a batch first; and the
  // parts each changed since the flush before (TakeChangedParts, as of the cut).
  absl::Mutex slot_mu_;
  std::vector<StoredCustomer> slot_values_ ABSL_GUARDED_BY(slot_mu_);
  std::vector<std::vector<int32_t>> slot_days_ ABSL_GUARDED_BY(slot_mu_);
  std::vector<int32_t> slot_tails_ ABSL_GUARDED_BY(slot_mu_);  // for RestoreChangedParts
  std::vector<char> slot_done_ ABSL_GUARDED_BY(slot_mu_);
  // Marks on disk -> the tick_ of the customer's last touch (0: before this open).
  std::unordered_map<std::string, uint64_t> pending_on_disk_ ABSL_GUARDED_BY(mu_);
  int64_t batches_since_flush_ ABSL_GUARDED_BY(mu_) = 0;
  CacheStats counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace recur::internal

#endif  // RECUR_FEATURESTORE_ROCKS_STORE_H_
