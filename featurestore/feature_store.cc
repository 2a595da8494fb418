// RocksDB implementation of FeatureStore (key space: rocks_internal.h).
// RocksDB is the source of truth (offsets live here), so the WAL stays on,
// paranoid checks stay on and recovery is point-in-time (docs/DESIGN.md, pitfalls).
// Every write goes through FlushLocked(): one WriteBatch with the changed
// customers, the pending marks and last scores, the offsets and stream times.
// Write-through: after every ApplyBatch and Commit; write-back: at Flush() (DESIGN.md).
#include "featurestore/feature_store.h"

#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "base/sync_point.h"
#include "featurestore/rocks_internal.h"
#include "featurestore/validate.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace recur {
namespace {

using internal::Fixed64;
using internal::FromRocks;
using internal::kMaxTimeKey;
using internal::kWatermarkKey;
using internal::OffsetKey;
using internal::ReadPositionsOf;

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

  ~RocksFeatureStore() override {
    absl::MutexLock writer(&write_mu_);
    if (!options_.read_only) FlushLocked().IgnoreError();  // best effort; owners call Flush
  }

  absl::Status ApplyBatch(std::span<const v1::Event> events, const OffsetMap& offsets,
                          ApplyStats* stats, const StreamTimeMap* stream_times) override {
    absl::MutexLock writer(&write_mu_);
    if (options_.read_only) return absl::FailedPreconditionError("ApplyBatch on a read-only store");
    // Pass 1: validate everything before touching any state, so a batch is all or nothing.
    const int32_t horizon_days = options_.expire_outside_horizon ? 0 : options_.retention_days;
    if (absl::Status s = ValidateBatch(events, max_event_time_ms(), horizon_days); !s.ok()) {
      return s;
    }

    // Pass 2: find every customer. One not cached is entered as `loading`
    // (readers read its record meanwhile) and read from RocksDB without
    // holding mu_, so lookups and the scorer go on; a failed read removes
    // those entries again: the cached states stay as they were.
    std::vector<CacheMap::value_type*> entries(events.size());
    if (absl::Status s = FindOrLoad(events, &entries); !s.ok()) return s;
    mu_.WriterLock();  // until the batch is applied (no early return before)
    ++tick_;
    for (auto* kv : entries) kv->second.used = tick_;

    // Pass 3: apply, in order.
    ApplyStats local;
    ApplyStats& st = stats != nullptr ? *stats : local;
    st = ApplyStats{};
    std::vector<CacheMap::value_type*> touched;
    int64_t max_time = max_event_time_ms_;
    for (size_t i = 0; i < events.size(); ++i) {
      const v1::Event& e = events[i];
      if (!WithinHorizon(e.event_time_ms(), max_time, options_.retention_days)) ++st.expired;
      max_time = std::max(max_time, e.event_time_ms());
      Entry& entry = entries[i]->second;
      const ApplyOutcome outcome = entry.state.Apply(e, options_.max_events_per_day);
      const auto kind = static_cast<size_t>(EventKindIndex(e));
      if (outcome != ApplyOutcome::kApplied) {
        if (outcome == ApplyOutcome::kDuplicate) {
          ++st.duplicates;
          ++st.duplicates_by_kind[kind];
        } else {
          st.rate_limited.push_back(i);
        }
        continue;
      }
      ++st.applied;
      ++st.applied_by_kind[kind];
      watermark_.Add(e.event_time_ms());
      if (!entry.touched) {
        entry.touched = true;
        touched.push_back(entries[i]);
      }
    }
    const int32_t horizon = HorizonFirstDay(max_time);
    std::sort(touched.begin(), touched.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    for (auto* kv : touched) {
      Entry& entry = kv->second;
      entry.touched = false;
      if (entry.state.NeedsPrune(horizon)) entry.state.Prune(horizon);
      const size_t bytes = entry.state.ApproxBytes();
      cache_bytes_ += bytes - entry.bytes;
      if (entry.dirty) dirty_bytes_ += bytes - entry.bytes;
      entry.bytes = bytes;
      if (!entry.dirty) {
        entry.dirty = true;
        dirty_.push_back(kv);
        dirty_bytes_ += bytes;
      }
      auto ck = CustomerKey::Decode(std::string_view(kv->first).substr(1));
      if (ck) st.touched.push_back(std::move(*ck));
      if (options_.mark_pending) {
        std::string wire = kv->first.substr(1);
        pending_done_.erase(wire);
        pending_new_[std::move(wire)] = tick_;
      }
    }
    for (const auto& [tp, offset] : offsets) offsets_[tp] = offset;
    if (stream_times != nullptr) {
      for (const auto& [tp, t] : *stream_times) stream_times_[tp] = t;
    }
    max_event_time_ms_ = max_time;
    ++batches_since_flush_;
    if (options_.write_back) EvictLocked();
    mu_.WriterUnlock();
    if (options_.write_back) return absl::OkStatus();
    absl::Status s = FlushLocked();
    absl::WriterMutexLock relock(&mu_);
    // Write-through promises all or nothing: forget what did not land.
    if (!s.ok()) {
      DropUnflushed();
      return s;
    }
    EvictLocked();
    return absl::OkStatus();
  }

  absl::Status Flush() override {
    absl::MutexLock writer(&write_mu_);
    if (options_.read_only) return absl::OkStatus();
    absl::Status s = FlushLocked();
    if (!s.ok()) return s;
    absl::WriterMutexLock lock(&mu_);
    EvictLocked();
    return s;
  }

  CacheStats cache_stats() const override {
    absl::ReaderMutexLock lock(&mu_);
    CacheStats c = counters_;
    c.entries = static_cast<int64_t>(cache_.size());
    c.bytes = static_cast<int64_t>(cache_bytes_);
    c.dirty_entries = static_cast<int64_t>(dirty_.size());
    c.dirty_bytes = static_cast<int64_t>(dirty_bytes_);
    c.batches_since_flush = batches_since_flush_;
    return c;
  }

  absl::StatusOr<OffsetMap> ReadOffsets() override {
    auto stored = ReadPositions("o");
    if (!stored.ok()) return stored.status();
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [tp, offset] : offsets_) (*stored)[tp] = offset;
    return stored;
  }
  absl::StatusOr<StreamTimeMap> ReadStreamTimes() override {
    auto times = ReadPositions("w");
    if (!times.ok()) return times.status();
    StreamTimeMap out(times->begin(), times->end());
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [tp, t] : stream_times_) out[tp] = t;
    return out;
  }

  absl::StatusOr<OffsetMap> ReadPositions(const char* prefix) {
    return ReadPositionsOf(db_.get(), prefix, options_.path);
  }

  absl::StatusOr<Features> ComputeFeatures(const CustomerKey& key, int64_t as_of_ms) override {
    absl::ReaderMutexLock lock(&mu_);
    const int32_t horizon = HorizonFirstDay(max_event_time_ms_);
    if (max_event_time_ms_ > 0 && DayOf(as_of_ms) < horizon) {
      return absl::InvalidArgumentError(
          absl::StrCat("as_of_ms: ", as_of_ms, " is before the retention horizon"));
    }
    CustomerState scratch;
    auto state = FindLocked(key, &scratch);
    if (!state.ok()) return state.status();
    return (*state)->ComputeFeatures(as_of_ms, horizon);
  }

  absl::StatusOr<CustomerState> GetState(const CustomerKey& key) override {
    absl::ReaderMutexLock lock(&mu_);
    CustomerState scratch;
    auto state = FindLocked(key, &scratch);
    if (!state.ok()) return state.status();
    return **state;
  }

  absl::Status ReadState(const CustomerKey& key,
                         const std::function<void(const CustomerState&)>& fn) override {
    absl::ReaderMutexLock lock(&mu_);
    CustomerState scratch;
    auto state = FindLocked(key, &scratch);
    if (!state.ok()) return state.status();
    fn(**state);
    return absl::OkStatus();
  }

  // The customer's cached state, else its record read into `scratch`;
  // NotFound for an unknown customer.
  absl::StatusOr<const CustomerState*> FindLocked(const CustomerKey& key, CustomerState* scratch)
      ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    const std::string k = "c" + key.Encode();
    const CustomerState* state = scratch;
    if (auto it = cache_.find(k); it != cache_.end() && !it->second.loading) {
      state = &it->second.state;
    } else if (absl::Status s = Load(k, scratch); !s.ok()) {
      return s;
    }
    if (state->empty())
      return absl::NotFoundError(absl::StrCat("no state for customer ", key.Encode()));
    return state;
  }

  absl::Status ForEachCustomer(
      const std::function<absl::Status(const CustomerKey&, const CustomerState&)>& fn) override {
    return Scan(false, [&](const CustomerKey& k, const CustomerState& s, const std::string*) {
      return fn(k, s);
    });
  }

  ScoreLedger& ledger() override { return *this; }

  absl::Status ForEachCustomerWithScore(
      const std::function<absl::Status(const CustomerKey&, const CustomerState&,
                                       const std::string*)>& fn) override {
    return Scan(true, fn);
  }

  absl::StatusOr<std::string> ScanPage(
      const std::string& after, size_t max,
      const std::function<absl::Status(const CustomerKey&, const CustomerState&,
                                       const std::string*)>& fn) override {
    CustomerState decoded;
    auto visit = [&](const CustomerKey& key, const std::string& wire, std::string_view record) {
      auto last = GetLastScore(key);  // delivered (maybe not flushed yet), else on disk
      if (!last.ok() && last.status().code() != absl::StatusCode::kNotFound) return last.status();
      absl::ReaderMutexLock lock(&mu_);  // per customer: batches apply between two
      const CustomerState* state = &decoded;
      if (auto c = cache_.find("c" + wire); c != cache_.end() && !c->second.loading) {
        state = &c->second.state;  // newer than the record when changed since the last flush
      } else if (absl::Status d = CustomerState::Decode(record, &decoded); !d.ok()) {
        return absl::DataLossError(absl::StrCat("state store ", options_.path, ": ", d.message()));
      }
      return fn(key, *state, last.ok() ? &*last : nullptr);
    };
    return internal::ScanRecords(db_.get(), options_.path, after, max, visit);
  }

  absl::StatusOr<std::vector<CustomerKey>> ReadPending() override {
    absl::ReaderMutexLock lock(&mu_);
    std::set<std::string> wires;
    for (const auto& [w, tick] : pending_on_disk_) {
      if (!pending_done_.count(w)) wires.insert(w);
    }
    for (const auto& [w, tick] : pending_new_) wires.insert(w);
    return internal::DecodeWireKeys(wires, options_.path);
  }

  absl::Status Commit(const std::vector<std::pair<CustomerKey, std::string>>& published,
                      const std::vector<CustomerKey>& done,
                      const std::vector<std::pair<std::string, std::string>>& meta,
                      uint64_t scored_at) override {
    absl::MutexLock writer(&write_mu_);
    if (options_.read_only)
      return absl::FailedPreconditionError("ScoreLedger::Commit on a read-only store");
    mu_.WriterLock();  // until the ledger is updated (no early return before)
    for (const auto& [key, bytes] : published) scores_[key.Encode()] = bytes;
    for (const auto& key : done) {
      std::string wire = key.Encode();
      // Touched again after these scores were computed: that score is still owed.
      auto it = pending_new_.find(wire);
      if (it != pending_new_.end() && it->second > scored_at) continue;
      auto disk = pending_on_disk_.find(wire);
      if (disk != pending_on_disk_.end() && disk->second > scored_at) continue;
      if (it != pending_new_.end()) pending_new_.erase(it);
      if (disk != pending_on_disk_.end()) pending_done_.insert(std::move(wire));
    }
    for (const auto& [name, bytes] : meta) meta_[name] = bytes;
    mu_.WriterUnlock();
    return options_.write_back ? absl::OkStatus() : FlushLocked();
  }

  absl::StatusOr<std::string> GetLastScore(const CustomerKey& key) override {
    {
      absl::ReaderMutexLock lock(&mu_);
      if (auto it = scores_.find(key.Encode()); it != scores_.end()) return it->second;
    }
    return GetRaw("s" + key.Encode());
  }
  absl::StatusOr<std::string> GetMeta(const std::string& name) override {
    {
      absl::ReaderMutexLock lock(&mu_);
      if (auto it = meta_.find(name); it != meta_.end()) return it->second;
    }
    return GetRaw("m:x:" + name);
  }

  absl::Status Checkpoint(const std::string& dir) override {
    absl::MutexLock writer(&write_mu_);
    if (!options_.read_only) {
      if (absl::Status s = FlushLocked(); !s.ok()) return s;
    }
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
    std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    if (s.ok()) s = cp->CreateCheckpoint(dir);
    return FromRocks(s, options_.path, "checkpoint");
  }

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

  int64_t EstimateCustomers() const override {
    uint64_t n = 0;
    return db_->GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &n)
               ? static_cast<int64_t>(n)
               : 0;
  }

 private:
  struct Entry {
    CustomerState state;
    size_t bytes = 0;      // state.ApproxBytes() when last measured
    uint64_t used = 0;     // tick_ of the last batch that read it (LRU)
    bool dirty = false;    // changed since the last flush (listed in dirty_)
    bool touched = false;  // scratch: changed by the batch being applied
    bool loading = false;  // entered by ApplyBatch, record being read: readers read it too
  };
  using CacheMap = std::unordered_map<std::string, Entry>;  // "c" shop "/" customer

  // entries[i]: event i's customer's cache entry, read if not cached (pass 2).
  absl::Status FindOrLoad(std::span<const v1::Event> events,
                          std::vector<CacheMap::value_type*>* entries)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_) {
    std::vector<CacheMap::value_type*> loading;
    {
      absl::WriterMutexLock lock(&mu_);
      std::string key;
      for (size_t i = 0; i < events.size(); ++i) {
        const v1::Event& e = events[i];
        key.assign("c").append(e.shop_id()).append("/").append(e.customer_id());
        auto [it, inserted] = cache_.try_emplace(key);
        if (inserted) {
          it->second.loading = true;
          loading.push_back(&*it);
        }
        (*entries)[i] = &*it;
      }
    }
    RECUR_SYNC_POINT("FeatureStore::WhileLoading");  // tests read while it loads
    std::vector<CustomerState> states(loading.size());
    absl::Status read;
    for (size_t j = 0; j < loading.size() && read.ok(); ++j)
      read = Load(loading[j]->first, &states[j]);
    absl::WriterMutexLock lock(&mu_);
    for (size_t j = 0; j < loading.size(); ++j) {
      if (!read.ok()) {
        cache_.erase(cache_.find(loading[j]->first));
        continue;
      }
      Entry& entry = loading[j]->second;
      entry.state = std::move(states[j]);
      entry.loading = false;
      entry.bytes = entry.state.ApproxBytes();
      cache_bytes_ += entry.bytes;
      ++counters_.loads;
    }
    return read;
  }

  int32_t HorizonFirstDay(int64_t max_time) const {
    return recur::HorizonFirstDay(max_time, options_.retention_days);
  }

  bool HasUnflushed() const ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    return !dirty_.empty() || !offsets_.empty() || !stream_times_.empty() ||
           !pending_new_.empty() || !pending_done_.empty() || !scores_.empty() || !meta_.empty() ||
           max_event_time_ms_ != durable_max_time_ms_ || !(watermark_ == durable_watermark_);
  }

  // One WriteBatch with everything applied or committed since the last flush.
  // The caller is the writer (write_mu_), so nothing changes while the batch
  // is encoded and written under a shared lock: lookups and the scorer read on;
  // mu_ is taken exclusively only to mark what was written as clean.
  absl::Status FlushLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) ABSL_LOCKS_EXCLUDED(mu_) {
    rocksdb::WriteBatch batch;
    if (!BuildFlushBatch(&batch)) return absl::OkStatus();
    // Tests kill the process here: the flush is computed, nothing written.
    RECUR_SYNC_POINT("FeatureStore::BeforeFlushWrite");
    rocksdb::Status ws = db_->Write(write_options_, &batch);
    if (!ws.ok()) return FromRocks(ws, options_.path, "write batch");
    absl::WriterMutexLock lock(&mu_);
    MarkFlushed();
    return absl::OkStatus();
  }

  // Fills `batch` with what FlushLocked writes; false when nothing changed.
  bool BuildFlushBatch(rocksdb::WriteBatch* out) ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    if (!HasUnflushed()) return false;
    rocksdb::WriteBatch& batch = *out;
    std::vector<const CacheMap::value_type*> sorted(dirty_.begin(), dirty_.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto* a, const auto* b) { return a->first < b->first; });
    std::string value;
    for (const auto* kv : sorted) {
      kv->second.state.Encode(&value);
      batch.Put(kv->first, value);
    }
    std::vector<std::string> pending_put;
    for (const auto& [wire, tick] : pending_new_) {
      if (!pending_on_disk_.count(wire)) pending_put.push_back(wire);
    }
    // (sorted: pending_new_ is an ordered map)
    for (const std::string& wire : pending_put) batch.Put("p" + wire, rocksdb::Slice());
    for (const std::string& wire : pending_done_) batch.Delete("p" + wire);
    for (const auto& [wire, bytes] : scores_) batch.Put("s" + wire, bytes);
    for (const auto& [name, bytes] : meta_) batch.Put("m:x:" + name, bytes);
    for (const auto& [tp, offset] : offsets_) batch.Put(OffsetKey(tp), Fixed64(offset));
    for (const auto& [tp, t] : stream_times_) batch.Put(OffsetKey(tp, 'w'), Fixed64(t));
    batch.Put(kMaxTimeKey, Fixed64(max_event_time_ms_));
    batch.Put(kWatermarkKey, watermark_.Encode());
    return true;
  }

  // Everything BuildFlushBatch wrote is durable: forget it as unflushed.
  void MarkFlushed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    for (auto* kv : dirty_) kv->second.dirty = false;
    counters_.flushed_customers += static_cast<int64_t>(dirty_.size());
    ++counters_.flushes;
    dirty_.clear();
    dirty_bytes_ = 0;
    for (const std::string& wire : pending_done_) pending_on_disk_.erase(wire);
    // The last touch of each mark on disk, for Commit's scored_at check.
    for (const auto& [wire, tick] : pending_new_) pending_on_disk_[wire] = tick;
    pending_new_.clear();
    pending_done_.clear();
    scores_.clear();
    meta_.clear();
    offsets_.clear();
    stream_times_.clear();
    durable_max_time_ms_ = max_event_time_ms_;
    durable_watermark_ = watermark_;
    batches_since_flush_ = 0;
  }

  // After a failed write-through flush: the cache is ahead of the disk. Forget
  // the changed customers (they reload from disk) and what came with them.
  void DropUnflushed() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    std::vector<std::string> keys;
    for (const auto* kv : dirty_) keys.push_back(kv->first);
    dirty_.clear();
    dirty_bytes_ = 0;
    for (const auto& k : keys) {
      auto it = cache_.find(k);
      cache_bytes_ -= it->second.bytes;
      cache_.erase(it);
    }
    pending_new_.clear();
    offsets_.clear();
    stream_times_.clear();
    max_event_time_ms_ = durable_max_time_ms_;
    watermark_ = durable_watermark_;
  }

  // Evicts the least recently used clean customers until the cache is within
  // three quarters of its budget (so eviction runs rarely, not per batch).
  void EvictLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (cache_bytes_ <= options_.cache_bytes) return;
    std::vector<std::pair<uint64_t, CacheMap::iterator>> clean;
    clean.reserve(cache_.size());
    for (auto it = cache_.begin(); it != cache_.end(); ++it) {
      if (!it->second.dirty) clean.emplace_back(it->second.used, it);
    }
    std::sort(clean.begin(), clean.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    const size_t target = options_.cache_bytes / 4 * 3;
    for (auto& [used, it] : clean) {
      if (cache_bytes_ <= target) break;
      cache_bytes_ -= it->second.bytes;
      cache_.erase(it);
      ++counters_.evictions;
    }
  }

  absl::StatusOr<std::string> GetRaw(const std::string& key) {
    return internal::GetEntry(db_.get(), options_.path, key);
  }

  // Every customer in key order on one snapshot (a writable store flushes
  // first); with `scores`, its "s" entry is merged in (both key spaces are
  // ordered the same way).
  absl::Status Scan(bool scores,
                    const std::function<absl::Status(const CustomerKey&, const CustomerState&,
                                                     const std::string*)>& fn) {
    {
      absl::MutexLock writer(&write_mu_);
      if (!options_.read_only) {
        if (absl::Status s = FlushLocked(); !s.ok()) return s;
      }
    }
    return internal::ScanCustomers(db_.get(), options_.path, scores, fn);
  }

  absl::Status Load(const std::string& key, CustomerState* out) {
    return internal::LoadCustomer(db_.get(), options_.path, key, out);
  }

  const Options options_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;
  // write_mu_ serialises the writers (ApplyBatch, Flush, Commit, Checkpoint).
  // mu_ guards what readers share with them: writers change it only while
  // holding mu_ exclusively, and hold it shared while they encode and write a
  // flush. RocksDB reads (iterators, Get) need no lock.
  absl::Mutex write_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  int64_t max_event_time_ms_ ABSL_GUARDED_BY(mu_);
  int64_t durable_max_time_ms_ ABSL_GUARDED_BY(mu_);
  EventTimeWatermark watermark_ ABSL_GUARDED_BY(mu_);
  EventTimeWatermark durable_watermark_ ABSL_GUARDED_BY(mu_);  // as of the last flush
  CacheMap cache_ ABSL_GUARDED_BY(mu_);
  size_t cache_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  size_t dirty_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t tick_ ABSL_GUARDED_BY(mu_) = 0;
  // Not yet flushed: changed customers, positions, ledger entries.
  std::vector<CacheMap::value_type*> dirty_ ABSL_GUARDED_BY(mu_);
  OffsetMap offsets_ ABSL_GUARDED_BY(mu_);
  StreamTimeMap stream_times_ ABSL_GUARDED_BY(mu_);
  // Touched, score owed: the tick_ of the last touch.
  std::map<std::string, uint64_t> pending_new_ ABSL_GUARDED_BY(mu_);
  std::set<std::string> pending_done_ ABSL_GUARDED_BY(mu_);  // delivered; mark on disk
  std::map<std::string, std::string> scores_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> meta_ ABSL_GUARDED_BY(mu_);
  // Marks on disk -> the tick_ of the customer's last touch (0: before this open).
  std::unordered_map<std::string, uint64_t> pending_on_disk_ ABSL_GUARDED_BY(mu_);
  int64_t batches_since_flush_ ABSL_GUARDED_BY(mu_) = 0;
  CacheStats counters_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<FeatureStore>> FeatureStore::Open(const Options& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("state store: path is empty");
  if (options.watermark_events < 1 || options.watermark_events > EventTimeWatermark::kKept) {
    return absl::InvalidArgumentError(
        absl::StrCat("watermark_events: must be 1..", EventTimeWatermark::kKept));
  }
  auto opened = internal::OpenStoreDb(options.path, options.read_only, options.retention_days,
                                      options.write_buffer_bytes, options.env);
  if (!opened.ok()) return opened.status();
  FeatureStore::Options resolved = options;
  resolved.retention_days = opened->retention_days;
  std::unordered_map<std::string, uint64_t> pending;
  for (const std::string& wire : opened->pending) pending.emplace(wire, 0);
  return std::unique_ptr<FeatureStore>(
      new RocksFeatureStore(resolved, std::move(opened->db), opened->times.max_event_time_ms,
                            std::move(opened->times.watermark), std::move(pending)));
}

}  // namespace recur
