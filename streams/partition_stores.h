// PartitionStores: the feature stores of the partition numbers this instance
// owns, one RocksDB store per number under <state_dir>/partition-<n>
// (StateDir::PartitionPath). Opened when the group assigns a number, closed
// when it is revoked; the Committer writes through it (PartitionWriter).
//
//   recur::PartitionStores stores(options);
//   auto opened = stores.Open(3);       // true: opened now; false: already open
//   FeatureStore* s = stores.Get(3);
//   stores.CloseAll();                  // on revocation
//
// A store another process still holds (the previous owner on a shared disk,
// still closing it) is waited for — retried every 500 ms for up to
// lock_timeout_ms — as Kafka Streams waits for a task's state directory; the
// lock is recognised by its status payload (featurestore/store_errors.h).
// Every store opened is recorded in the state dir's partition manifest
// (featurestore/partition_manifest.h); a recorded store whose directory is
// gone is refused (FailedPrecondition), a number never recorded is created —
// unless the stores have a changelog (options.changelog): then a missing
// store is restored from it, and every store catches up with it first.
// Each store gets an equal share of cache_bytes, fixed when it is opened (the
// number of stores is the number of partition numbers assigned at that time).
// Thread-safety: Open, Get, open(), FlushAll, StartFlush, FinishedFlush,
// StartOpening, FinishOpening and CloseAll on one thread (the owner's); a
// flush started by StartFlush and an opening started by StartOpening run on
// threads of their own; Apply from several threads at once for different partitions
// (FeatureStore is thread-safe); Lookup from any thread (the HTTP server): it
// holds the stores open while it reads, so a revocation waits for it.
#ifndef RECUR_STREAMS_PARTITION_STORES_H_
#define RECUR_STREAMS_PARTITION_STORES_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "featurestore/changelog.h"
#include "featurestore/feature_store.h"
#include "streams/committer.h"
#include "streams/standby.h"

namespace recur {

struct PartitionStoresOptions {
  std::string state_dir = "state";
  int32_t retention_days = kDefaultRetentionDays;
  bool sync = false;  // fsync every flush
  // Write-back stores (FeatureStore::Options::write_back): batches change the
  // cached states; FlushAll() makes them durable. false: every batch is written.
  bool write_back = true;
  size_t cache_bytes = size_t{2} << 30;  // for all open stores together
  bool mark_pending = false;             // scoring on: ApplyBatch marks touched customers pending
  // FeatureStore::Options::watermark_events: events past a day boundary before
  // the store's watermark (its re-scoring day) crosses it.
  int32_t watermark_events = kDefaultWatermarkEvents;
  uint32_t max_events_per_day = 0;  // FeatureStore::Options::max_events_per_day
  int lock_timeout_ms = 30'000;
  int lock_retry_ms = 500;
  // Set: each store gets the changelog this makes for its partition number
  // (featurestore/changelog.h; the pipeline's is streams/changelog_kafka.h).
  // A store is then restored from it when its directory is missing, and a
  // recorded store whose directory is gone is no longer refused.
  std::function<absl::StatusOr<std::unique_ptr<Changelog>>(int32_t partition)> changelog;
};

// One customer as a lookup sees it (Pipeline::Lookup).
struct CustomerLookup {
  int32_t partition = -1;    // the store (input partition number) holding it
  int64_t as_of_ms = 0;      // the features' as-of
  int64_t watermark_ms = 0;  // the store's scoring watermark (FeatureStore::watermark_ms)
  int64_t max_event_time_ms = 0;
  Features features;
  std::optional<std::string> last_score;  // the last delivered v1::CustomerScore's bytes
};

class PartitionStores final : public PartitionWriter {
 public:
  explicit PartitionStores(PartitionStoresOptions options) : options_(std::move(options)) {}
  ~PartitionStores() override;
  PartitionStores(const PartitionStores&) = delete;
  PartitionStores& operator=(const PartitionStores&) = delete;

  // Opens the store of `partition` unless it is open. True: opened by this call.
  // `assigned`: how many partition numbers this instance owns now (each store's
  // share of the cache).
  absl::StatusOr<bool> Open(int32_t partition, size_t assigned = 1);
  // Opens the stores of `partitions` that are not open, in parallel (their
  // restores from a changelog overlap); the ones opened by this call. On a
  // failure none is kept open.
  absl::StatusOr<std::set<int32_t>> OpenAll(const std::set<int32_t>& partitions, size_t assigned);
  // Opens the stores of `partitions` that are not open on a thread of its own
  // (their restores from a changelog overlap, and run beside the open stores'
  // batches); FinishOpening adds them to the open ones. One opening at a time:
  // false (nothing started) while one runs or is not finished.
  bool StartOpening(const std::set<int32_t>& partitions, size_t assigned);
  // An opening was started and FinishOpening has not taken it yet.
  bool opening() const { return opener_.joinable(); }
  // That opening ended (FinishOpening will not wait).
  bool opening_done() const { return opened_.load(std::memory_order_acquire); }
  // Waits for the opening, then adds its stores as OpenAll does: the numbers
  // opened (empty when none was started); on a failure none is kept open.
  // Call while no batch is applied (Apply reads the map of open stores).
  absl::StatusOr<std::set<int32_t>> FinishOpening();
  // Null when the partition's store is not open.
  FeatureStore* Get(int32_t partition) const;
  const std::map<int32_t, std::unique_ptr<FeatureStore>>& open() const { return stores_; }
  // Flushes every open store (in parallel), after a background flush still
  // running; the first failure.
  absl::Status FlushAll();
  // Starts flushing every open store on a thread of its own and returns at
  // once; false (nothing started) while the previous one runs. Batches and
  // commits go on meanwhile: a store's Flush holds its writers only while it
  // takes its cut. Stores are not closed before it ends (FlushAll waits).
  bool StartFlush();
  struct FlushResult {
    absl::Status status;  // the first failure (the stores keep what they did not write)
    int64_t ms = 0;       // how long it took
  };
  // The result of the background flush, once it has ended (then once only);
  // nullopt while it runs or when none was started.
  std::optional<FlushResult> FinishedFlush();
  // Whether the stores' changed customers take more than half the cache budget:
  // time to flush, whatever the commit interval.
  bool DirtyOverBudget() const;
  // The open stores' cache statistics, summed.
  FeatureStore::CacheStats TotalCacheStats() const;
  // The open store holding `key` (each open store is asked: the producers'
  // partitioner is theirs to choose), its features as of `as_of_ms` (nullopt:
  // the store's latest event time) and its last delivered score. NotFound when
  // no open store knows the customer; InvalidArgument for an as-of before the
  // retention horizon. Never sees a half-applied batch (the store's lock).
  absl::StatusOr<CustomerLookup> Lookup(const CustomerKey& key,
                                        std::optional<int64_t> as_of_ms) const;
  // Flushes (best effort: a failure is logged; the stored offsets stay those
  // of the last flush, so nothing is lost) and closes every store.
  void CloseAll();
  // Closes the stores of `partitions` (flushed before: a cooperative
  // revocation); the others stay open.
  void Close(const std::set<int32_t>& partitions);
  // Starts keeping warm copies (streams/standby.h): a partition's copy is
  // released before its store opens here, and the keeper learns which are open.
  void StartStandby(StandbyOptions options) {
    standby_ = std::make_unique<StandbyKeeper>(std::move(options));
  }
  std::optional<StandbyKeeper::Stats> standby_stats() const {
    return standby_ ? std::optional(standby_->stats()) : std::nullopt;
  }

  bool IsOpen(int32_t partition) const override { return stores_.count(partition) > 0; }
  absl::Status Apply(int32_t partition, std::span<const v1::Event> events, const OffsetMap& offsets,
                     const StreamTimeMap& stream_times, FeatureStore::ApplyStats* stats) override;

 private:
  struct OpenedStore {
    absl::Status status;
    std::unique_ptr<Changelog> changelog;
    std::unique_ptr<FeatureStore> store;  // destroyed before its changelog
  };
  OpenedStore OpenOne(int32_t partition, size_t assigned) const;
  struct Opening {
    std::vector<int32_t> partitions;
    absl::Status status;  // the first failure
    std::vector<OpenedStore> stores;
  };
  // The part of opening that runs on any thread: every store of `partitions`
  // opened (restored, caught up), none of them added to stores_.
  Opening OpenStores(std::vector<int32_t> partitions, size_t assigned) const;
  // The owner's part: records them in the manifest and adds them to stores_.
  absl::StatusOr<std::set<int32_t>> Adopt(Opening opening);
  FlushResult WaitFlush();

  const PartitionStoresOptions options_;
  std::thread flusher_;  // StartFlush's; joined by FinishedFlush, WaitFlush
  std::atomic<bool> flushed_{false};
  FlushResult flush_result_;  // written by flusher_ before flushed_
  std::thread opener_;        // StartOpening's; joined by FinishOpening
  std::atomic<bool> opened_{false};
  Opening opening_;  // written by opener_ before opened_
  std::chrono::steady_clock::time_point opening_since_;
  // Written (under mu_) only by the owner's thread, which reads it without
  // the lock; other threads read it under mu_ (Lookup).
  mutable absl::Mutex mu_;
  // Before stores_: a store's changelog outlives it.
  std::map<int32_t, std::unique_ptr<Changelog>> changelogs_;
  std::map<int32_t, std::unique_ptr<FeatureStore>> stores_;
  std::unique_ptr<StandbyKeeper> standby_;
  void TellStandby();  // the open stores' numbers, to standby_
};

}  // namespace recur

#endif  // RECUR_STREAMS_PARTITION_STORES_H_
