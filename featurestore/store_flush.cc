// RocksDB implementation of FeatureStore, part 2: flushes (the cut, its
// encoding and write), the ledger's commits, eviction, scans (the class:
// rocks_store.h).
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "base/sync_point.h"
#include "featurestore/key_order.h"
#include "featurestore/rocks_store.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace recur::internal {
namespace {

constexpr size_t kEncodeChunk = 256;  // customers a flush encodes per shared lock

// What a flush writes of a customer: its head and each day in `days` (an empty
// part: the day holds nothing any more, its key is deleted).
void EncodeCustomer(const CustomerState& state, const std::vector<int32_t>& days,
                    StoredCustomer* out) {
  state.EncodeHead(&out->head);
  out->parts.resize(days.size());
  for (size_t i = 0; i < days.size(); ++i) {
    out->parts[i].first = days[i];
    state.EncodeDay(days[i], &out->parts[i].second);
  }
}

void AddCustomer(const std::string& key, const StoredCustomer& c, std::string* part_key,
                 rocksdb::WriteBatch* batch) {
  batch->Put(key, c.head);
  for (const auto& [day, bytes] : c.parts) {
    part_key->clear();
    AppendDayPartKey(key, day, part_key);
    if (bytes.empty()) {
      batch->Delete(*part_key);
    } else {
      batch->Put(*part_key, bytes);
    }
  }
}

}  // namespace

absl::Status RocksFeatureStore::Flush() {
  absl::MutexLock flushing(&flush_mu_);
  if (options_.read_only) return absl::OkStatus();
  absl::Status s = FlushLocked();
  if (!s.ok()) return s;
  RECUR_SYNC_POINT("FeatureStore::BeforeFlushEvict");
  // A batch holds pointers to its customers' entries from FindOrLoad to its
  // apply step: eviction waits for it.
  absl::MutexLock writer(&write_mu_);
  absl::WriterMutexLock lock(&mu_);
  EvictLocked();
  return s;
}

absl::StatusOr<std::vector<CustomerKey>> RocksFeatureStore::ReadPending() {
  absl::ReaderMutexLock lock(&mu_);
  std::set<std::string> wires;
  const auto& done = unflushed_.pending_done;
  for (const auto& [w, tick] : pending_on_disk_) {
    if (!cut_ledger_.pending_done.count(w) && !done.count(w)) wires.insert(w);
  }
  for (const auto& [w, tick] : cut_ledger_.pending_new) {
    if (!done.count(w)) wires.insert(w);
  }
  for (const auto& [w, tick] : unflushed_.pending_new) wires.insert(w);
  return internal::DecodeWireKeys(wires, options_.path);
}

absl::Status RocksFeatureStore::Commit(
    const std::vector<std::pair<CustomerKey, std::string>>& published,
    const std::vector<CustomerKey>& done,
    const std::vector<std::pair<std::string, std::string>>& meta, uint64_t scored_at) {
  if (options_.read_only)
    return absl::FailedPreconditionError("ScoreLedger::Commit on a read-only store");
  if (options_.write_back) {
    CommitLocked(published, done, meta, scored_at);
    return absl::OkStatus();
  }
  absl::MutexLock flushing(&flush_mu_);
  CommitLocked(published, done, meta, scored_at);
  return FlushLocked();
}

void RocksFeatureStore::CommitLocked(
    const std::vector<std::pair<CustomerKey, std::string>>& published,
    const std::vector<CustomerKey>& done,
    const std::vector<std::pair<std::string, std::string>>& meta, uint64_t scored_at) {
  absl::WriterMutexLock lock(&mu_);
  for (const auto& [key, bytes] : published) unflushed_.scores[key.Encode()] = bytes;
  auto touched_after = [scored_at](const auto& map, const std::string& wire) {
    auto it = map.find(wire);
    return it != map.end() && it->second > scored_at;
  };
  for (const auto& key : done) {
    std::string wire = key.Encode();
    // Touched again after these scores were computed: that score is still owed.
    if (touched_after(unflushed_.pending_new, wire) ||
        touched_after(cut_ledger_.pending_new, wire) || touched_after(pending_on_disk_, wire))
      continue;
    unflushed_.pending_new.erase(wire);
    // A mark on disk, or on its way there in the flush running: delete it.
    if (pending_on_disk_.count(wire) || cut_ledger_.pending_new.count(wire))
      unflushed_.pending_done.insert(std::move(wire));
  }
  for (const auto& [name, bytes] : meta) unflushed_.meta[name] = bytes;
}

absl::Status RocksFeatureStore::Checkpoint(const std::string& dir) {
  absl::MutexLock flushing(&flush_mu_);
  if (!options_.read_only) {
    if (absl::Status s = FlushLocked(); !s.ok()) return s;
  }
  rocksdb::Checkpoint* raw = nullptr;
  rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> cp(raw);
  if (s.ok()) s = cp->CreateCheckpoint(dir);
  return FromRocks(s, options_.path, "checkpoint");
}

bool RocksFeatureStore::HasUnflushed() const {
  return !dirty_.empty() || !unflushed_.empty() || max_event_time_ms_ != durable_max_time_ms_ ||
         !(watermark_ == durable_watermark_);
}

absl::Status RocksFeatureStore::FlushLocked() {
  size_t room = 0;
  {
    absl::WriterMutexLock lock(&mu_);
    if (!TakeCut()) return absl::OkStatus();
    // Room for the batch as large as the last one per customer (growing it by
    // doubling would copy it about twice over), never more than the memory of
    // the cut's decoded states: after a flush of one hot customer, the
    // average says nothing about the next flush's many small ones.
    room = std::min(cut_.size() * flush_bytes_per_customer_, cut_bytes_) + 4096;
  }
  RECUR_SYNC_POINT("FeatureStore::AfterFlushCut");  // tests apply a batch here
  rocksdb::WriteBatch batch(room);
  BuildFlushBatch(&batch);
  flush_bytes_per_customer_ = batch.GetDataSize() / std::max<size_t>(cut_.size(), 1) + 1;
  const auto batch_bytes = static_cast<int64_t>(batch.GetDataSize());
  int64_t logged = 0;
  if (options_.changelog != nullptr) {
    // The changelog first: a crash after it leaves the log ahead of the disk,
    // and the next Open catches up; the other way round the log would miss
    // this flush for good.
    auto end = AppendToChangelog(options_.changelog, batch);
    if (!end.ok()) {
      absl::WriterMutexLock lock(&mu_);
      FinishCut(false);
      return end.status();
    }
    logged = static_cast<int64_t>(batch.Count());
    batch.Put(kChangelogEndKey, Fixed64(*end));
  } else {
    // Written without its changelog (`recur import`, `replay`, a run without
    // --changelog-topic): the disk leaves the log's history, so a later open
    // with the log refuses the two instead of mixing them.
    batch.Delete(kChangelogEndKey);
  }
  // Tests kill the process here: the flush is computed, nothing written.
  RECUR_SYNC_POINT("FeatureStore::BeforeFlushWrite");
  rocksdb::Status ws = db_->Write(write_options_, &batch);
  absl::WriterMutexLock lock(&mu_);
  FinishCut(ws.ok());
  if (ws.ok()) counters_.flushed_bytes += batch_bytes;
  counters_.changelog_records += logged;
  return ws.ok() ? absl::OkStatus() : FromRocks(ws, options_.path, "write batch");
}

bool RocksFeatureStore::TakeCut() {
  if (!HasUnflushed()) return false;
  cut_ = std::move(dirty_);
  dirty_.clear();
  cut_entries_ = cut_.size();
  cut_bytes_ = dirty_bytes_;
  dirty_bytes_ = 0;
  absl::MutexLock slots(&slot_mu_);
  slot_values_.assign(cut_.size(), StoredCustomer());
  slot_done_.assign(cut_.size(), 0);
  slot_days_.resize(cut_.size());
  slot_tails_.resize(cut_.size());
  for (size_t i = 0; i < cut_.size(); ++i) {
    Entry& e = cut_[i]->second;
    e.dirty = false;
    e.flush_slot = static_cast<int32_t>(i);
  }
  cut_ledger_ = std::move(unflushed_);
  unflushed_ = Unflushed();
  cut_max_time_ms_ = max_event_time_ms_;
  cut_watermark_ = watermark_;
  batches_since_flush_ = 0;
  return true;
}

void RocksFeatureStore::SaveForFlush(Entry& entry) {
  absl::MutexLock slots(&slot_mu_);
  const auto i = static_cast<size_t>(entry.flush_slot);
  if (slot_done_[i]) return;
  TakeAndEncode(&entry.state, i, &slot_values_[i]);
  slot_done_[i] = 1;
}

void RocksFeatureStore::TakeAndEncode(CustomerState* state, size_t slot, StoredCustomer* out) {
  // The parts changed up to the cut: the customer is as of the cut until
  // its slot is done (a batch saves it first). Only this flush and Apply
  // touch what TakeChangedParts changes, and Apply holds mu_ exclusively.
  state->TakeChangedParts(&slot_days_[slot], &slot_tails_[slot]);
  EncodeCustomer(*state, slot_days_[slot], out);
}

void RocksFeatureStore::BuildFlushBatch(rocksdb::WriteBatch* batch) {
  // In key order: the memtable inserts a sorted batch ~25% faster
  // (BM_ApplyBatch). The keys of the cut's entries do not change and the
  // entries stay (never evicted), so they are sorted with no lock.
  const std::vector<CacheMap::value_type*>& cut = cut_;
  std::vector<const std::string*> keys(cut.size());
  for (size_t i = 0; i < cut.size(); ++i) keys[i] = &cut[i]->first;
  const std::vector<uint32_t> order =
      KeyOrder(keys.size(), [&keys](size_t i) -> const std::string& { return *keys[i]; });
  // Each customer is encoded straight into the batch, unless a batch saved it
  // first. The customers are scattered in memory: the loop asks for the entry
  // kAhead * 2 customers ahead and for its key's and state's memory kAhead
  // ahead, so the cache misses overlap instead of coming one after the other.
  constexpr size_t kAhead = 8;
  StoredCustomer encoded;
  std::string part_key;
  for (size_t begin = 0; begin < order.size(); begin += kEncodeChunk) {
    absl::ReaderMutexLock lock(&mu_);  // a batch waits for one chunk at most
    absl::MutexLock slots(&slot_mu_);
    const size_t end = std::min(order.size(), begin + kEncodeChunk);
    for (size_t k = begin; k < end; ++k) {
      if (k + 2 * kAhead < end) __builtin_prefetch(cut[order[k + 2 * kAhead]]);
      if (k + kAhead < end) {
        const auto* ahead = cut[order[k + kAhead]];
        __builtin_prefetch(ahead->first.data());
        ahead->second.state.Prefetch();
      }
      const uint32_t i = order[k];
      if (slot_done_[i]) {
        AddCustomer(cut[i]->first, slot_values_[i], &part_key, batch);
        slot_values_[i] = StoredCustomer();  // frees it
        continue;
      }
      TakeAndEncode(&cut[i]->second.state, i, &encoded);
      AddCustomer(cut[i]->first, encoded, &part_key, batch);
      slot_done_[i] = 1;  // a batch changing it now needs not save it
    }
  }
  absl::ReaderMutexLock lock(&mu_);
  internal::AddToBatch(cut_ledger_, pending_on_disk_, batch);
  batch->Put(kMaxTimeKey, Fixed64(cut_max_time_ms_));
  batch->Put(kWatermarkKey, cut_watermark_.Encode());
}

void RocksFeatureStore::FinishCut(bool written) {
  absl::MutexLock slots(&slot_mu_);
  for (size_t i = 0; i < cut_.size(); ++i) {
    auto* kv = cut_[i];
    Entry& e = kv->second;
    e.flush_slot = -1;
    if (written) continue;
    // Not written: the days the cut took are changed still.
    e.state.RestoreChangedParts(slot_days_[i], slot_tails_[i]);
    if (!e.dirty) {
      e.dirty = true;
      dirty_.push_back(kv);
      dirty_bytes_ += e.bytes;
    }
  }
  if (written) {
    counters_.flushed_customers += static_cast<int64_t>(cut_.size());
    ++counters_.flushes;
    for (const std::string& wire : cut_ledger_.pending_done) pending_on_disk_.erase(wire);
    // The last touch of each mark on disk, for Commit's scored_at check.
    for (const auto& [wire, tick] : cut_ledger_.pending_new) pending_on_disk_[wire] = tick;
    durable_max_time_ms_ = cut_max_time_ms_;
    durable_watermark_ = cut_watermark_;
  } else {
    internal::MergeBack(std::move(cut_ledger_), &unflushed_);
  }
  cut_ledger_ = Unflushed();
  cut_.clear();
  cut_entries_ = 0;
  cut_bytes_ = 0;
}

void RocksFeatureStore::DropUnflushed() {
  std::vector<std::string> keys;
  for (const auto* kv : dirty_) keys.push_back(kv->first);
  dirty_.clear();
  dirty_bytes_ = 0;
  for (const auto& k : keys) {
    auto it = cache_.find(k);
    cache_bytes_ -= it->second.bytes;
    cache_.erase(it);
  }
  unflushed_.pending_new.clear();
  unflushed_.offsets.clear();
  unflushed_.stream_times.clear();
  max_event_time_ms_ = durable_max_time_ms_;
  watermark_ = durable_watermark_;
}

void RocksFeatureStore::EvictLocked() {
  if (cache_bytes_ <= options_.cache_bytes) return;
  std::vector<std::pair<uint64_t, CacheMap::iterator>> clean;
  clean.reserve(cache_.size());
  for (auto it = cache_.begin(); it != cache_.end(); ++it) {
    const Entry& e = it->second;
    if (!e.dirty && !e.loading && e.flush_slot < 0) clean.emplace_back(e.used, it);
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

absl::Status RocksFeatureStore::Scan(
    bool scores,
    const std::function<absl::Status(const CustomerKey&, const CustomerState&, const std::string*)>&
        fn) {
  if (!options_.read_only) {
    absl::MutexLock flushing(&flush_mu_);
    if (absl::Status s = FlushLocked(); !s.ok()) return s;
  }
  return internal::ScanCustomers(db_.get(), options_.path, scores, fn);
}

}  // namespace recur::internal
