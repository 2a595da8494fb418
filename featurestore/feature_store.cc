// RocksDB implementation of FeatureStore, part 1: batches and reads (the
// class: rocks_store.h; flushes and the ledger: store_flush.cc).
#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "base/sync_point.h"
#include "featurestore/key_order.h"
#include "featurestore/rocks_store.h"
#include "featurestore/validate.h"

namespace recur {
namespace internal {

absl::Status RocksFeatureStore::ApplyBatch(std::span<const v1::Event> events,
                                           const OffsetMap& offsets, ApplyStats* stats,
                                           const StreamTimeMap* stream_times) {
  if (options_.read_only) return absl::FailedPreconditionError("ApplyBatch on a read-only store");
  if (options_.write_back) return Apply(events, offsets, stats, stream_times);
  absl::MutexLock flushing(&flush_mu_);  // write-through: nothing between the batch and its flush
  if (absl::Status s = Apply(events, offsets, stats, stream_times); !s.ok()) return s;
  absl::Status s = FlushLocked();
  absl::WriterMutexLock lock(&mu_);
  // Write-through promises all or nothing: forget what did not land.
  if (!s.ok()) {
    DropUnflushed();
    return s;
  }
  EvictLocked();
  return absl::OkStatus();
}

absl::Status RocksFeatureStore::Apply(std::span<const v1::Event> events, const OffsetMap& offsets,
                                      ApplyStats* stats, const StreamTimeMap* stream_times) {
  absl::MutexLock writer(&write_mu_);
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
  constexpr size_t kAhead = 8;  // customers are scattered: overlap their cache misses
  for (size_t i = 0; i < events.size(); ++i) {
    if (i + kAhead < events.size()) entries[i + kAhead]->second.state.Prefetch();
    const v1::Event& e = events[i];
    if (!WithinHorizon(e.event_time_ms(), max_time, options_.retention_days)) ++st.expired;
    max_time = std::max(max_time, e.event_time_ms());
    Entry& entry = entries[i]->second;
    if (entry.flush_slot >= 0) SaveForFlush(entry);  // the cut keeps the state it took
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
  const std::vector<uint32_t> order = KeyOrder(
      touched.size(), [&touched](size_t i) -> const std::string& { return touched[i]->first; });
  for (size_t k = 0; k < order.size(); ++k) {
    if (k + kAhead < order.size()) touched[order[k + kAhead]]->second.state.Prefetch();
    auto* kv = touched[order[k]];
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
      unflushed_.pending_done.erase(wire);
      unflushed_.pending_new[std::move(wire)] = tick_;
    }
  }
  for (const auto& [tp, offset] : offsets) unflushed_.offsets[tp] = offset;
  if (stream_times != nullptr) {
    for (const auto& [tp, t] : *stream_times) unflushed_.stream_times[tp] = t;
  }
  max_event_time_ms_ = max_time;
  ++batches_since_flush_;
  if (options_.write_back) EvictLocked();
  mu_.WriterUnlock();
  return absl::OkStatus();
}

FeatureStore::CacheStats RocksFeatureStore::cache_stats() const {
  absl::ReaderMutexLock lock(&mu_);
  CacheStats c = counters_;
  c.entries = static_cast<int64_t>(cache_.size());
  c.bytes = static_cast<int64_t>(cache_bytes_);
  c.dirty_entries = static_cast<int64_t>(dirty_.size() + cut_entries_);
  c.dirty_bytes = static_cast<int64_t>(dirty_bytes_ + cut_bytes_);
  c.batches_since_flush = batches_since_flush_;
  return c;
}

absl::StatusOr<OffsetMap> RocksFeatureStore::ReadOffsets() {
  auto stored = ReadPositions("o");
  if (!stored.ok()) return stored.status();
  absl::ReaderMutexLock lock(&mu_);
  for (const auto* u : {&cut_ledger_, &unflushed_}) {  // older, then newer
    for (const auto& [tp, offset] : u->offsets) (*stored)[tp] = offset;
  }
  return stored;
}

absl::StatusOr<StreamTimeMap> RocksFeatureStore::ReadStreamTimes() {
  auto times = ReadPositions("w");
  if (!times.ok()) return times.status();
  StreamTimeMap out(times->begin(), times->end());
  absl::ReaderMutexLock lock(&mu_);
  for (const auto* u : {&cut_ledger_, &unflushed_}) {
    for (const auto& [tp, t] : u->stream_times) out[tp] = t;
  }
  return out;
}

absl::StatusOr<Features> RocksFeatureStore::ComputeFeatures(const CustomerKey& key,
                                                            int64_t as_of_ms) {
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

absl::StatusOr<CustomerState> RocksFeatureStore::GetState(const CustomerKey& key) {
  absl::ReaderMutexLock lock(&mu_);
  CustomerState scratch;
  auto state = FindLocked(key, &scratch);
  if (!state.ok()) return state.status();
  return **state;
}

absl::Status RocksFeatureStore::ReadState(const CustomerKey& key,
                                          const std::function<void(const CustomerState&)>& fn) {
  absl::ReaderMutexLock lock(&mu_);
  CustomerState scratch;
  auto state = FindLocked(key, &scratch);
  if (!state.ok()) return state.status();
  fn(**state);
  return absl::OkStatus();
}

absl::StatusOr<const CustomerState*> RocksFeatureStore::FindLocked(const CustomerKey& key,
                                                                   CustomerState* scratch) {
  const std::string k = absl::StrCat("c", key.shop_id, "/", key.customer_id);
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

absl::Status RocksFeatureStore::ForEachCustomer(
    const std::function<absl::Status(const CustomerKey&, const CustomerState&)>& fn) {
  return Scan(false, [&](const CustomerKey& k, const CustomerState& s, const std::string*) {
    return fn(k, s);
  });
}

absl::StatusOr<std::string> RocksFeatureStore::ScanPage(
    const std::string& after, size_t max,
    const std::function<absl::Status(const CustomerKey&, const CustomerState&, const std::string*)>&
        fn) {
  CustomerState decoded;
  auto visit = [&](const CustomerKey& key, const std::string& wire,
                   const internal::StoredCustomer& record) {
    auto last = GetLastScore(key);  // delivered (maybe not flushed yet), else on disk
    if (!last.ok() && last.status().code() != absl::StatusCode::kNotFound) return last.status();
    absl::ReaderMutexLock lock(&mu_);  // per customer: batches apply between two
    const CustomerState* state = &decoded;
    if (auto c = cache_.find("c" + wire); c != cache_.end() && !c->second.loading) {
      state = &c->second.state;  // newer than the record when changed since the last flush
    } else if (absl::Status d = record.Decode(options_.path, &decoded); !d.ok()) {
      return d;
    }
    return fn(key, *state, last.ok() ? &*last : nullptr);
  };
  return internal::ScanRecords(db_.get(), options_.path, after, max, visit);
}

absl::StatusOr<std::string> RocksFeatureStore::GetLastScore(const CustomerKey& key) {
  const std::string wire = key.Encode();
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto* u : {&unflushed_, &cut_ledger_}) {  // newer, then older
      if (auto it = u->scores.find(wire); it != u->scores.end()) return it->second;
    }
  }
  return GetRaw("s" + wire);
}

absl::StatusOr<std::string> RocksFeatureStore::GetMeta(const std::string& name) {
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto* u : {&unflushed_, &cut_ledger_}) {
      if (auto it = u->meta.find(name); it != u->meta.end()) return it->second;
    }
  }
  return GetRaw("m:x:" + name);
}

int64_t RocksFeatureStore::EstimateCustomers() const {
  uint64_t n = 0;
  return db_->GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &n)
             ? static_cast<int64_t>(n)
             : 0;
}

absl::Status RocksFeatureStore::FindOrLoad(std::span<const v1::Event> events,
                                           std::vector<CacheMap::value_type*>* entries) {
  std::vector<CacheMap::value_type*> loading;
  // The keys first, in one buffer, so the map can be asked to fetch the
  // memory of the key kAhead events ahead while this one is looked up.
  std::string buffer;
  std::vector<size_t> ends(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const v1::Event& e = events[i];
    buffer.append("c").append(e.shop_id()).append("/").append(e.customer_id());
    ends[i] = buffer.size();
  }
  auto key = [&](size_t i) {
    const size_t begin = i == 0 ? 0 : ends[i - 1];
    return absl::string_view(buffer).substr(begin, ends[i] - begin);
  };
  constexpr size_t kAhead = 8;
  {
    absl::WriterMutexLock lock(&mu_);
    for (size_t i = 0; i < events.size(); ++i) {
      if (i + kAhead < events.size()) cache_.prefetch(key(i + kAhead));
      auto [it, inserted] = cache_.try_emplace(key(i));
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
  // Customers not cached are in no flush's cut: nothing writes them meanwhile.
  CustomerReader reader(db_.get(), options_.path);
  for (size_t j = 0; j < loading.size() && read.ok(); ++j)
    read = reader.Load(loading[j]->first, &states[j]);
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

}  // namespace internal

absl::StatusOr<std::unique_ptr<FeatureStore>> FeatureStore::Open(const Options& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("state store: path is empty");
  if (options.watermark_events < 1 || options.watermark_events > EventTimeWatermark::kKept) {
    return absl::InvalidArgumentError(
        absl::StrCat("watermark_events: must be 1..", EventTimeWatermark::kKept));
  }
  if (options.changelog != nullptr && !options.write_back) {
    return absl::InvalidArgumentError("state store: a changelog needs write_back");
  }
  auto opened = internal::OpenStoreDb(options.path, options.read_only, options.retention_days,
                                      options.write_buffer_bytes, options.env, options.changelog);
  if (!opened.ok()) return opened.status();
  FeatureStore::Options resolved = options;
  resolved.retention_days = opened->retention_days;
  std::unordered_map<std::string, uint64_t> pending;
  for (const std::string& wire : opened->pending) pending.emplace(wire, 0);
  auto store = std::make_unique<internal::RocksFeatureStore>(
      resolved, std::move(opened->db), opened->times.max_event_time_ms,
      std::move(opened->times.watermark), std::move(pending));
  store->CountRestored(opened->restored_records);
  return std::unique_ptr<FeatureStore>(std::move(store));
}

}  // namespace recur
