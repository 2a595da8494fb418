// RocksDB implementation of FeatureStore.
//
// Key space (one column family):
//   "c" shop "/" customer   -> CustomerState encoding
//   "o" topic "\0" BE32(partition) -> fixed64 next offset
//   "w" topic "\0" BE32(partition) -> fixed64 stream time (max event time) of that source
//   "p" shop "/" customer   -> "" (pending: touched, score not yet delivered)
//   "s" shop "/" customer   -> the last delivered recur.v1.CustomerScore bytes
//   "m:max_event_time"      -> fixed64 largest event time applied
//   "m:x:" name             -> meta entries of the scorer (ScoreLedger::Commit)
//   "m:format"              -> "recur-store-1"
// RocksDB is the source of truth (offsets live here), so the WAL stays on,
// paranoid checks stay on and recovery is point-in-time (docs/DESIGN.md, pitfalls).
#include "featurestore/feature_store.h"

#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "absl/base/thread_annotations.h"
#include "absl/strings/str_cat.h"
#include "featurestore/rocks_internal.h"
#include "featurestore/validate.h"
#include "rocksdb/db.h"
#include "rocksdb/utilities/checkpoint.h"
#include "rocksdb/write_batch.h"

namespace recur {
namespace {

using internal::FromRocks;
using internal::kFormat;
using internal::kFormatKey;
constexpr char kMaxTimeKey[] = "m:max_event_time";

std::string Fixed64(int64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(static_cast<uint64_t>(v) >> (8 * i));
  return s;
}
bool ParseFixed64(const std::string& s, int64_t* v) {
  if (s.size() != 8) return false;
  uint64_t x = 0;
  for (int i = 0; i < 8; ++i) x |= static_cast<uint64_t>(static_cast<uint8_t>(s[i])) << (8 * i);
  *v = static_cast<int64_t>(x);
  return true;
}
std::string OffsetKey(const TopicPartition& tp, char prefix = 'o') {
  std::string k = std::string(1, prefix) + tp.topic;
  k.push_back('\0');
  for (int i = 3; i >= 0; --i)
    k.push_back(static_cast<char>(static_cast<uint32_t>(tp.partition) >> (8 * i)));
  return k;
}

class RocksFeatureStore final : public FeatureStore, public ScoreLedger {
 public:
  RocksFeatureStore(Options options, std::unique_ptr<rocksdb::DB> db, int64_t max_time)
      : options_(std::move(options)), db_(std::move(db)), max_event_time_ms_(max_time) {
    write_options_.sync = options_.sync;
  }

  absl::Status ApplyBatch(std::span<const v1::Event> events, const OffsetMap& offsets,
                          ApplyStats* stats, const StreamTimeMap* stream_times) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.read_only) return absl::FailedPreconditionError("ApplyBatch on a read-only store");
    // Pass 1: validate everything before touching any state, so a batch is all or nothing.
    int64_t running_max = max_event_time_ms_;
    for (size_t i = 0; i < events.size(); ++i) {
      const v1::Event& e = events[i];
      absl::Status s = ValidateEvent(e);
      if (s.ok() && !options_.expire_outside_horizon &&
          !WithinHorizon(e.event_time_ms(), running_max, options_.retention_days)) {
        s = absl::InvalidArgumentError(absl::StrCat(
            "event_time_ms: ", e.event_time_ms(), " is older than the retention horizon (",
            options_.retention_days, " days before ", running_max, ")"));
      }
      if (!s.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("event[", i, "] (", e.event_id(), "): ", s.message()));
      }
      running_max = std::max(running_max, e.event_time_ms());
    }

    // Pass 2: apply to the cached states, in order.
    ApplyStats local;
    ApplyStats& st = stats != nullptr ? *stats : local;
    st = ApplyStats{};
    std::vector<std::pair<const std::string*, CustomerState*>> dirty;
    dirty.reserve(events.size());
    int64_t max_time = max_event_time_ms_;
    std::string key;
    for (const v1::Event& e : events) {
      if (!WithinHorizon(e.event_time_ms(), max_time, options_.retention_days)) ++st.expired;
      max_time = std::max(max_time, e.event_time_ms());
      key.assign("c").append(e.shop_id()).append("/").append(e.customer_id());
      auto [it, inserted] = cache_.try_emplace(key);
      if (inserted) {
        absl::Status s = Load(key, &it->second);
        if (!s.ok()) {
          cache_.erase(it);
          RollBack(dirty);
          return s;
        }
      }
      if (it->second.Apply(e)) {
        ++st.applied;
        dirty.emplace_back(&it->first, &it->second);
      } else {
        ++st.duplicates;
      }
    }

    // Pass 3: one WriteBatch with every changed customer, the offsets and the max time.
    std::sort(dirty.begin(), dirty.end(),
              [](const auto& a, const auto& b) { return *a.first < *b.first; });
    dirty.erase(std::unique(dirty.begin(), dirty.end(),
                            [](const auto& a, const auto& b) { return a.first == b.first; }),
                dirty.end());
    const int32_t horizon = HorizonFirstDay(max_time);
    rocksdb::WriteBatch batch;
    std::string value;
    for (auto& [k, state] : dirty) {
      state->Prune(horizon);
      state->Encode(&value);
      batch.Put(*k, value);
      auto ck = CustomerKey::Decode(std::string_view(*k).substr(1));
      if (ck) st.touched.push_back(std::move(*ck));
      if (options_.mark_pending) batch.Put(rocksdb::Slice("p" + k->substr(1)), rocksdb::Slice());
    }
    for (const auto& [tp, offset] : offsets) batch.Put(OffsetKey(tp), Fixed64(offset));
    if (stream_times != nullptr) {
      for (const auto& [tp, t] : *stream_times) batch.Put(OffsetKey(tp, 'w'), Fixed64(t));
    }
    batch.Put(kMaxTimeKey, Fixed64(max_time));
    rocksdb::Status ws = db_->Write(write_options_, &batch);
    if (!ws.ok()) {
      RollBack(dirty);
      return FromRocks(ws, options_.path, "write batch");
    }
    max_event_time_ms_ = max_time;
    if (cache_.size() > options_.cache_entries) cache_.clear();  // write-through: safe to drop
    return absl::OkStatus();
  }

  absl::StatusOr<OffsetMap> ReadOffsets() override { return ReadPositions("o"); }
  absl::StatusOr<StreamTimeMap> ReadStreamTimes() override {
    auto times = ReadPositions("w");
    if (!times.ok()) return times.status();
    return StreamTimeMap(times->begin(), times->end());
  }

  absl::StatusOr<OffsetMap> ReadPositions(const char* prefix) {
    std::lock_guard<std::mutex> lock(mu_);
    OffsetMap out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string k = it->key().ToString();
      size_t nul = k.find('\0');
      int64_t offset;
      if (nul == std::string::npos || k.size() != nul + 5 ||
          !ParseFixed64(it->value().ToString(), &offset)) {
        return absl::DataLossError(
            absl::StrCat("state store ", options_.path, ": malformed offset entry"));
      }
      uint32_t p = 0;
      for (int i = 0; i < 4; ++i) p = (p << 8) | static_cast<uint8_t>(k[nul + 1 + i]);
      out[TopicPartition{k.substr(1, nul - 1), static_cast<int32_t>(p)}] = offset;
    }
    if (!it->status().ok()) return FromRocks(it->status(), options_.path, "read offsets");
    return out;
  }

  absl::StatusOr<Features> ComputeFeatures(const CustomerKey& key, int64_t as_of_ms) override {
    std::lock_guard<std::mutex> lock(mu_);
    const int32_t horizon = HorizonFirstDay(max_event_time_ms_);
    if (max_event_time_ms_ > 0 && DayOf(as_of_ms) < horizon) {
      return absl::InvalidArgumentError(
          absl::StrCat("as_of_ms: ", as_of_ms, " is before the retention horizon"));
    }
    const CustomerState* state = nullptr;
    CustomerState loaded;
    std::string k = "c" + key.Encode();
    if (auto it = cache_.find(k); it != cache_.end()) {
      state = &it->second;
    } else {
      absl::Status s = Load(k, &loaded);
      if (!s.ok()) return s;
      state = &loaded;
    }
    if (state->empty())
      return absl::NotFoundError(absl::StrCat("no state for customer ", key.Encode()));
    return state->ComputeFeatures(as_of_ms, horizon);
  }

  absl::StatusOr<CustomerState> GetState(const CustomerKey& key) override {
    std::lock_guard<std::mutex> lock(mu_);
    CustomerState s;
    absl::Status st = Load("c" + key.Encode(), &s);
    if (!st.ok()) return st;
    if (s.empty()) return absl::NotFoundError(absl::StrCat("no state for customer ", key.Encode()));
    return s;
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

  absl::StatusOr<std::vector<CustomerKey>> ReadPending() override {
    std::vector<CustomerKey> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("p"); it->Valid() && it->key().starts_with("p"); it->Next()) {
      auto key = CustomerKey::Decode(it->key().ToStringView().substr(1));
      if (!key)
        return absl::DataLossError(
            absl::StrCat("state store ", options_.path, ": malformed pending key"));
      out.push_back(std::move(*key));
    }
    if (!it->status().ok()) return FromRocks(it->status(), options_.path, "scan pending");
    return out;
  }

  absl::Status Commit(const std::vector<std::pair<CustomerKey, std::string>>& published,
                      const std::vector<CustomerKey>& done,
                      const std::vector<std::pair<std::string, std::string>>& meta) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (options_.read_only)
      return absl::FailedPreconditionError("ScoreLedger::Commit on a read-only store");
    rocksdb::WriteBatch batch;
    for (const auto& [key, bytes] : published) batch.Put("s" + key.Encode(), bytes);
    for (const auto& key : done) batch.Delete("p" + key.Encode());
    for (const auto& [name, bytes] : meta) batch.Put("m:x:" + name, bytes);
    return FromRocks(db_->Write(write_options_, &batch), options_.path, "commit scores");
  }

  absl::StatusOr<std::string> GetLastScore(const CustomerKey& key) override {
    return GetRaw("s" + key.Encode());
  }
  absl::StatusOr<std::string> GetMeta(const std::string& name) override {
    return GetRaw("m:x:" + name);
  }

  absl::Status Checkpoint(const std::string& dir) override {
    std::lock_guard<std::mutex> lock(mu_);
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
    std::unique_ptr<rocksdb::Checkpoint> cp(raw);
    if (s.ok()) s = cp->CreateCheckpoint(dir);
    return FromRocks(s, options_.path, "checkpoint");
  }

  int64_t max_event_time_ms() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return max_event_time_ms_;
  }
  int32_t horizon_first_day() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return HorizonFirstDay(max_event_time_ms_);
  }

  int64_t EstimateCustomers() const override {
    uint64_t n = 0;
    return db_->GetIntProperty(rocksdb::DB::Properties::kEstimateNumKeys, &n)
               ? static_cast<int64_t>(n)
               : 0;
  }

 private:
  int32_t HorizonFirstDay(int64_t max_time) const {
    return recur::HorizonFirstDay(max_time, options_.retention_days);
  }

  absl::StatusOr<std::string> GetRaw(const std::string& key) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
    if (s.IsNotFound())
      return absl::NotFoundError(
          absl::StrCat("no entry ", key.substr(0, 1), " for ", key.substr(1)));
    if (!s.ok()) return FromRocks(s, options_.path, "read");
    return value;
  }

  // Every customer in key order on one snapshot; with `scores`, its "s" entry
  // is merged in (both key spaces are ordered the same way).
  absl::Status Scan(bool scores,
                    const std::function<absl::Status(const CustomerKey&, const CustomerState&,
                                                     const std::string*)>& fn) {
    const rocksdb::Snapshot* snap = db_->GetSnapshot();
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro));
    std::unique_ptr<rocksdb::Iterator> sit(scores ? db_->NewIterator(ro) : nullptr);
    if (sit) sit->Seek("s");
    absl::Status result;
    std::string last;
    for (it->Seek("c"); it->Valid() && it->key().starts_with("c"); it->Next()) {
      const std::string_view wire = it->key().ToStringView().substr(1);
      auto key = CustomerKey::Decode(wire);
      CustomerState state;
      if (!key) {
        result = absl::DataLossError(
            absl::StrCat("state store ", options_.path, ": malformed customer key"));
        break;
      }
      result = CustomerState::Decode(it->value().ToStringView(), &state);
      if (!result.ok()) break;
      const std::string* score = nullptr;
      if (sit) {
        while (sit->Valid() && sit->key().starts_with("s") &&
               sit->key().ToStringView().substr(1) < wire)
          sit->Next();
        if (sit->Valid() && sit->key().starts_with("s") &&
            sit->key().ToStringView().substr(1) == wire) {
          last.assign(sit->value().data(), sit->value().size());
          score = &last;
        }
      }
      result = fn(*key, state, score);
      if (!result.ok()) break;
    }
    if (result.ok() && !it->status().ok()) result = FromRocks(it->status(), options_.path, "scan");
    if (result.ok() && sit && !sit->status().ok())
      result = FromRocks(sit->status(), options_.path, "scan scores");
    it.reset();
    sit.reset();
    db_->ReleaseSnapshot(snap);
    return result;
  }

  // Reads one customer from RocksDB; an absent customer is an empty state.
  absl::Status Load(const std::string& key, CustomerState* out) {
    std::string value;
    rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &value);
    if (s.IsNotFound()) {
      *out = CustomerState();
      return absl::OkStatus();
    }
    if (!s.ok()) return FromRocks(s, options_.path, "read customer");
    absl::Status d = CustomerState::Decode(value, out);
    if (!d.ok())
      return absl::DataLossError(absl::StrCat("state store ", options_.path, ": ", d.message()));
    return absl::OkStatus();
  }

  // After a failed write the cached states are ahead of the disk: forget them.
  void RollBack(const std::vector<std::pair<const std::string*, CustomerState*>>& dirty) {
    std::vector<std::string> keys;
    for (const auto& d : dirty) keys.push_back(*d.first);
    for (const auto& k : keys) cache_.erase(k);
  }

  const Options options_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> db_;
  // Serialises writers and guards what they share; RocksDB reads (iterators,
  // Get) need no lock.
  mutable std::mutex mu_;
  int64_t max_event_time_ms_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<std::string, CustomerState> cache_ ABSL_GUARDED_BY(mu_);
};

}  // namespace

absl::StatusOr<std::unique_ptr<FeatureStore>> FeatureStore::Open(const Options& options) {
  if (options.path.empty()) return absl::InvalidArgumentError("state store: path is empty");
  if (options.retention_days < 366) {
    return absl::InvalidArgumentError(
        "retention_days: must be at least 366 (the catalog looks back 365 days)");
  }
  rocksdb::Options ro = internal::StoreRocksOptions();
  ro.create_if_missing = !options.read_only;
  ro.write_buffer_size = options.write_buffer_bytes;

  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = options.read_only ? rocksdb::DB::OpenForReadOnly(ro, options.path, &raw)
                                        : rocksdb::DB::Open(ro, options.path, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return FromRocks(s, options.path, "open");

  std::string format;
  s = db->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) {
      return absl::FailedPreconditionError(
          absl::StrCat("state store ", options.path, ": not a recur store (no format marker)"));
    }
    if (options.read_only)
      return absl::NotFoundError(absl::StrCat("state store ", options.path, ": empty"));
    s = db->Put(rocksdb::WriteOptions(), kFormatKey, kFormat);
    if (!s.ok()) return FromRocks(s, options.path, "initialise");
  } else if (!s.ok()) {
    return FromRocks(s, options.path, "read format");
  } else if (format != kFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat("state store ", options.path, ": format '", format, "' is not ", kFormat));
  }
  int64_t max_time = 0;
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), kMaxTimeKey, &value);
  if (s.ok() && !ParseFixed64(value, &max_time)) {
    return absl::DataLossError(
        absl::StrCat("state store ", options.path, ": malformed max event time"));
  }
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, options.path, "read max event time");
  return std::unique_ptr<FeatureStore>(new RocksFeatureStore(options, std::move(db), max_time));
}

}  // namespace recur
