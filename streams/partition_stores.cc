#include "streams/partition_stores.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/parallel.h"
#include "base/sync_point.h"
#include "featurestore/partition_manifest.h"
#include "featurestore/state_dir.h"
#include "featurestore/store_errors.h"
#include "spdlog/spdlog.h"

namespace recur {

absl::StatusOr<bool> PartitionStores::Open(int32_t partition, size_t assigned) {
  auto opened = OpenAll({partition}, assigned);
  if (!opened.ok()) return opened.status();
  return !opened->empty();
}

absl::StatusOr<std::set<int32_t>> PartitionStores::OpenAll(const std::set<int32_t>& partitions,
                                                           size_t assigned) {
  std::vector<int32_t> todo;
  for (int32_t p : partitions) {
    if (!stores_.count(p)) todo.push_back(p);
  }
  if (todo.empty()) return std::set<int32_t>();
  return Adopt(OpenStores(std::move(todo), assigned));
}

bool PartitionStores::StartOpening(const std::set<int32_t>& partitions, size_t assigned) {
  if (opener_.joinable()) return false;
  std::vector<int32_t> todo;
  for (int32_t p : partitions) {
    if (!stores_.count(p)) todo.push_back(p);
  }
  spdlog::info("partition numbers {} assigned: opening their stores while the {} open are read on",
               absl::StrJoin(todo, ","), stores_.size());
  opened_.store(false);
  opening_since_ = std::chrono::steady_clock::now();
  opener_ = std::thread([this, todo = std::move(todo), assigned]() mutable {
    pthread_setname_np(pthread_self(), "recur-open");
    opening_ = OpenStores(std::move(todo), assigned);
    opened_.store(true, std::memory_order_release);
  });
  return true;
}

absl::StatusOr<std::set<int32_t>> PartitionStores::FinishOpening() {
  if (!opener_.joinable()) return std::set<int32_t>();
  opener_.join();
  opened_.store(false);
  auto adopted = Adopt(std::move(opening_));
  if (adopted.ok() && !adopted->empty()) {
    spdlog::info("partition numbers {}: stores opened in {} ms beside the others",
                 absl::StrJoin(*adopted, ","),
                 std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::steady_clock::now() - opening_since_)
                     .count());
  }
  return adopted;
}

PartitionStores::Opening PartitionStores::OpenStores(std::vector<int32_t> todo,
                                                     size_t assigned) const {
  Opening out;
  out.partitions = std::move(todo);
  if (out.partitions.empty()) return out;
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  if (ec) {
    // Said here: RocksDB would only report "No such file or directory: While mkdir".
    out.status = absl::FailedPreconditionError(
        absl::StrCat("state dir ", options_.state_dir, " can not be created: ", ec.message()));
    return out;
  }
  // A store the state dir recorded and lost would be rebuilt from what the
  // topics still hold: refused (run.cc's --rebuild-missing forgets it first).
  // With a changelog it is restored from that.
  if (!options_.changelog) {
    auto recorded = ReadPartitionManifest(options_.state_dir);
    if (!recorded.ok()) {
      out.status = recorded.status();
      return out;
    }
    for (int32_t p : out.partitions) {
      if (recorded->count(p) &&
          !std::filesystem::exists(StateDir::PartitionPath(options_.state_dir, p))) {
        out.status = MissingPartitionsError(options_.state_dir, {p});
        return out;
      }
    }
  }
  // A warm copy kept here is the store's own directory: released first, the
  // store opens on it and reads only what the changelog got since.
  if (standby_ != nullptr)
    standby_->Release(std::set<int32_t>(out.partitions.begin(), out.partitions.end()));
  // In parallel: a store restored from its changelog waits mostly for the
  // broker, and the partitions' restores overlap.
  out.stores.resize(out.partitions.size());
  ParallelFor(
      out.partitions.size(),
      [&](size_t i) { out.stores[i] = OpenOne(out.partitions[i], assigned); },
      out.partitions.size());
  for (const OpenedStore& o : out.stores) out.status.Update(o.status);
  return out;
}

absl::StatusOr<std::set<int32_t>> PartitionStores::Adopt(Opening opening) {
  if (!opening.status.ok()) {
    TellStandby();  // (the released ones may be kept again)
    return opening.status;
  }
  const std::set<int32_t> numbers(opening.partitions.begin(), opening.partitions.end());
  if (numbers.empty()) return numbers;
  if (absl::Status s = RecordPartitions(options_.state_dir, numbers); !s.ok()) return s;
  absl::MutexLock lock(&mu_);
  for (size_t i = 0; i < opening.partitions.size(); ++i) {
    OpenedStore& o = opening.stores[i];
    if (o.changelog) changelogs_[opening.partitions[i]] = std::move(o.changelog);
    stores_[opening.partitions[i]] = std::move(o.store);
  }
  TellStandby();
  return numbers;
}

PartitionStores::OpenedStore PartitionStores::OpenOne(int32_t partition, size_t assigned) const {
  // Tests hold an opening here (pipeline_parts_test.cc, integration/cooperative_test.sh).
  RECUR_SYNC_POINT_CALLBACK("PartitionStores::OpenOne", &partition);
  OpenedStore out;
  FeatureStore::Options o;
  o.path = StateDir::PartitionPath(options_.state_dir, partition);
  o.retention_days = options_.retention_days;
  o.sync = options_.sync;
  o.expire_outside_horizon = true;
  o.mark_pending = options_.mark_pending;
  o.watermark_events = options_.watermark_events;
  o.max_events_per_day = options_.max_events_per_day;
  o.write_back = options_.write_back;
  o.cache_bytes = std::max<size_t>(options_.cache_bytes / std::max<size_t>(assigned, 1), 16 << 20);
  if (options_.changelog) {
    auto made = options_.changelog(partition);
    if (!made.ok()) {
      out.status = made.status();
      return out;
    }
    out.changelog = std::move(*made);
    o.changelog = out.changelog.get();
  }
  auto store = FeatureStore::Open(o);
  for (int waited_ms = 0;
       !store.ok() && IsStoreLocked(store.status()) && waited_ms < options_.lock_timeout_ms;
       waited_ms += options_.lock_retry_ms) {
    if (waited_ms == 0) {
      spdlog::warn("partition {}: store locked by another process; waiting", partition);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(options_.lock_retry_ms));
    store = FeatureStore::Open(o);
  }
  if (!store.ok()) {
    out.status = store.status();
  } else {
    out.store = std::move(*store);
  }
  return out;
}

PartitionStores::~PartitionStores() {
  WaitFlush();
  if (opener_.joinable()) opener_.join();  // its stores are closed unused
}

bool PartitionStores::StartFlush() {
  if (flusher_.joinable()) return false;
  std::vector<FeatureStore*> stores;
  for (const auto& [p, store] : stores_) stores.push_back(store.get());
  flushed_.store(false);
  flusher_ = std::thread([this, stores = std::move(stores)] {
    pthread_setname_np(pthread_self(), "recur-flush");  // for top -H and perf
    const auto start = std::chrono::steady_clock::now();
    std::vector<absl::Status> results(stores.size());
    ParallelFor(stores.size(), [&](size_t i) { results[i] = stores[i]->Flush(); });
    flush_result_ = FlushResult();
    for (const absl::Status& s : results) flush_result_.status.Update(s);
    flush_result_.ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
    flushed_.store(true, std::memory_order_release);
  });
  return true;
}

std::optional<PartitionStores::FlushResult> PartitionStores::FinishedFlush() {
  if (!flusher_.joinable() || !flushed_.load(std::memory_order_acquire)) return std::nullopt;
  return WaitFlush();
}

PartitionStores::FlushResult PartitionStores::WaitFlush() {
  if (!flusher_.joinable()) return {};
  flusher_.join();
  return std::move(flush_result_);
}

absl::Status PartitionStores::FlushAll() {
  if (FlushResult r = WaitFlush(); !r.status.ok()) {
    spdlog::warn("background flush failed ({}); flushing again", std::string(r.status.message()));
  }
  std::vector<FeatureStore*> stores;
  for (const auto& [p, store] : stores_) stores.push_back(store.get());
  std::vector<absl::Status> results(stores.size());
  ParallelFor(stores.size(), [&](size_t i) { results[i] = stores[i]->Flush(); });
  for (const absl::Status& s : results) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

bool PartitionStores::DirtyOverBudget() const {
  return static_cast<size_t>(TotalCacheStats().dirty_bytes) > options_.cache_bytes / 2;
}

FeatureStore::CacheStats PartitionStores::TotalCacheStats() const {
  FeatureStore::CacheStats t;
  for (const auto& [p, store] : stores_) {
    const FeatureStore::CacheStats c = store->cache_stats();
    t.entries += c.entries;
    t.bytes += c.bytes;
    t.dirty_entries += c.dirty_entries;
    t.dirty_bytes += c.dirty_bytes;
    t.flushes += c.flushes;
    t.flushed_customers += c.flushed_customers;
    t.flushed_bytes += c.flushed_bytes;
    t.loads += c.loads;
    t.changelog_records += c.changelog_records;
    t.restored_records += c.restored_records;
    t.evictions += c.evictions;
  }
  return t;
}

void PartitionStores::CloseAll() {
  if (absl::Status s = FlushAll(); !s.ok()) {
    spdlog::warn("closing the stores without a final flush ({}); they resume at their last flush",
                 std::string(s.message()));
  }
  {
    absl::MutexLock lock(&mu_);
    stores_.clear();
    changelogs_.clear();
  }
  TellStandby();
}

void PartitionStores::TellStandby() {
  if (standby_ == nullptr) return;
  std::set<int32_t> open;
  for (const auto& [p, store] : stores_) open.insert(p);
  standby_->SetOwned(open);
}

void PartitionStores::Close(const std::set<int32_t>& partitions) {
  WaitFlush();  // (none runs: the revocation flushed)
  {
    absl::MutexLock lock(&mu_);
    for (int32_t p : partitions) {
      stores_.erase(p);  // before its changelog
      changelogs_.erase(p);
    }
  }
  TellStandby();
}

absl::StatusOr<CustomerLookup> PartitionStores::Lookup(const CustomerKey& key,
                                                       std::optional<int64_t> as_of_ms) const {
  absl::ReaderMutexLock lock(&mu_);
  for (const auto& [p, store] : stores_) {
    CustomerLookup found;
    found.partition = p;
    found.max_event_time_ms = store->max_event_time_ms();
    found.watermark_ms = store->watermark_ms();
    found.as_of_ms = as_of_ms.value_or(found.max_event_time_ms);
    auto features = store->ComputeFeatures(key, found.as_of_ms);
    if (absl::IsNotFound(features.status())) continue;
    if (!features.ok()) return features.status();
    found.features = *std::move(features);
    auto score = store->ledger().GetLastScore(key);
    if (score.ok()) {
      found.last_score = *std::move(score);
    } else if (!absl::IsNotFound(score.status())) {
      return score.status();
    }
    return found;
  }
  return absl::NotFoundError(absl::StrCat("customer ", key.Encode(), " is in no store open here"));
}

FeatureStore* PartitionStores::Get(int32_t partition) const {
  auto it = stores_.find(partition);
  return it == stores_.end() ? nullptr : it->second.get();
}

absl::Status PartitionStores::Apply(int32_t partition, std::span<const v1::Event> events,
                                    const OffsetMap& offsets, const StreamTimeMap& stream_times,
                                    FeatureStore::ApplyStats* stats) {
  FeatureStore* store = Get(partition);
  if (store == nullptr) {
    return absl::InternalError(absl::StrCat("no store open for partition ", partition));
  }
  return store->ApplyBatch(events, offsets, stats, &stream_times);
}

}  // namespace recur
