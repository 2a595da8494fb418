#include "featurestore/rocks_internal.h"

#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/str_cat.h"
#include "featurestore/store_errors.h"
#include "rocksdb/env.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/table.h"
#include "spdlog/spdlog.h"

namespace recur::internal {
namespace {

class SpdlogRocksLogger : public rocksdb::Logger {
 public:
  SpdlogRocksLogger() : rocksdb::Logger(rocksdb::InfoLogLevel::INFO_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    // Warnings stay at debug: RocksDB warns on routine events (e.g. an SST
    // without a unique id, at every open of an older store); what fails
    // reaches the caller as a Status and recur's own message.
    const spdlog::level::level_enum to =
        level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? spdlog::level::err : spdlog::level::debug;
    if (!spdlog::should_log(to)) return;  // most lines: no formatting at all
    char buf[1024];
    std::vsnprintf(buf, sizeof buf, format, ap);
    spdlog::log(to, "rocksdb: {}", buf);
  }
};

}  // namespace

std::shared_ptr<rocksdb::Logger> RocksLogger() {
  static const std::shared_ptr<rocksdb::Logger> logger = std::make_shared<SpdlogRocksLogger>();
  return logger;
}

rocksdb::Options StoreRocksOptions() {
  rocksdb::Options ro;
  ro.paranoid_checks = true;
  ro.wal_recovery_mode = rocksdb::WALRecoveryMode::kPointInTimeRecovery;
  ro.manual_wal_flush = false;
  ro.write_buffer_size = 64 << 20;
  // A batch touches mostly customers not yet in the memtable: a whole-key bloom
  // filter answers those lookups without walking the skiplist.
  ro.memtable_whole_key_filtering = true;
  ro.memtable_prefix_bloom_size_ratio = 0.05;
  ro.max_background_jobs = 2;
  ro.info_log = RocksLogger();
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  ro.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  return ro;
}

absl::Status FromRocks(const rocksdb::Status& s, const std::string& path, const char* during) {
  if (s.ok()) return absl::OkStatus();
  const std::string what = absl::StrCat("state store ", path, ": ", during, ": ", s.ToString());
  if (s.IsIOError() && s.ToString().find("lock") != std::string::npos) {
    absl::Status locked = absl::FailedPreconditionError(absl::StrCat(
        what, " — another process holds the store's LOCK; stop it or use another state directory"));
    // Callers branch on this payload (IsStoreLocked), never on the text.
    locked.SetPayload(kStoreLockedPayload, absl::Cord(path));
    return locked;
  }
  if (s.IsNoSpace() || s.ToString().find("No space left") != std::string::npos) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "state store ", path, ": ", during, ": no space left on device (", s.ToString(),
        ") — free space on the filesystem of the state dir and restart: recur resumes from the "
        "last flush, nothing is lost or counted twice"));
  }
  if (s.IsCorruption()) {
    return absl::DataLossError(absl::StrCat(
        what, " — the store is corrupt; restore a snapshot or rebuild it with `recur replay`"));
  }
  if (s.IsIOError() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(
        absl::StrCat(what, " — check the disk (space, permissions) and retry"));
  }
  if (s.IsInvalidArgument() || s.IsNotSupported()) return absl::InvalidArgumentError(what);
  return absl::InternalError(what);
}

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
absl::Status CheckFormat(rocksdb::DB* db, const std::string& path, bool read_only) {
  std::string format;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), kFormatKey, &format);
  if (s.IsNotFound()) {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (it->Valid()) {
      return absl::FailedPreconditionError(
          absl::StrCat("state store ", path, ": not a recur store (no format marker)"));
    }
    if (read_only) return absl::NotFoundError(absl::StrCat("state store ", path, ": empty"));
    s = db->Put(rocksdb::WriteOptions(), kFormatKey, kFormat);
    if (!s.ok()) return FromRocks(s, path, "initialise");
  } else if (!s.ok()) {
    return FromRocks(s, path, "read format");
  } else if (format != kFormat) {
    return absl::FailedPreconditionError(
        absl::StrCat("state store ", path, ": format '", format, "' is not ", kFormat));
  }
  return absl::OkStatus();
}

absl::StatusOr<EventTimes> ReadEventTimes(rocksdb::DB* db, const std::string& path) {
  EventTimes out;
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), kMaxTimeKey, &value);
  if (s.ok() && !ParseFixed64(value, &out.max_event_time_ms)) {
    return absl::DataLossError(absl::StrCat("state store ", path, ": malformed max event time"));
  }
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, path, "read max event time");
  s = db->Get(rocksdb::ReadOptions(), kWatermarkKey, &value);
  if (s.IsNotFound()) {
    out.watermark = EventTimeWatermark::Seeded(out.max_event_time_ms);
  } else if (!s.ok()) {
    return FromRocks(s, path, "read watermark");
  } else {
    auto w = EventTimeWatermark::Decode(value);
    if (!w) return absl::DataLossError(absl::StrCat("state store ", path, ": malformed watermark"));
    out.watermark = std::move(*w);
  }
  return out;
}

std::string OffsetKey(const TopicPartition& tp, char prefix) {
  std::string k = std::string(1, prefix) + tp.topic;
  k.push_back('\0');
  for (int i = 3; i >= 0; --i)
    k.push_back(static_cast<char>(static_cast<uint32_t>(tp.partition) >> (8 * i)));
  return k;
}

absl::StatusOr<OffsetMap> ReadPositionsOf(rocksdb::DB* db, const char* prefix,
                                          const std::string& path) {
  OffsetMap out;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string k = it->key().ToString();
    size_t nul = k.find('\0');
    int64_t offset;
    if (nul == std::string::npos || k.size() != nul + 5 ||
        !ParseFixed64(it->value().ToString(), &offset)) {
      return absl::DataLossError(absl::StrCat("state store ", path, ": malformed offset entry"));
    }
    uint32_t p = 0;
    for (int i = 0; i < 4; ++i) p = (p << 8) | static_cast<uint8_t>(k[nul + 1 + i]);
    out[TopicPartition{k.substr(1, nul - 1), static_cast<int32_t>(p)}] = offset;
  }
  if (!it->status().ok()) return FromRocks(it->status(), path, "read offsets");
  return out;
}

absl::StatusOr<std::unordered_set<std::string>> ReadPendingKeys(rocksdb::DB* db,
                                                                const std::string& path) {
  std::unordered_set<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->Seek("p"); it->Valid() && it->key().starts_with("p"); it->Next()) {
    if (!CustomerKey::Decode(it->key().ToStringView().substr(1)))
      return absl::DataLossError(absl::StrCat("state store ", path, ": malformed pending key"));
    out.insert(it->key().ToString().substr(1));
  }
  if (!it->status().ok()) return FromRocks(it->status(), path, "scan pending");
  return out;
}

absl::Status ScanCustomers(
    rocksdb::DB* db, const std::string& path, bool scores,
    const std::function<absl::Status(const CustomerKey&, const CustomerState&, const std::string*)>&
        fn) {
  const rocksdb::Snapshot* snap = db->GetSnapshot();
  rocksdb::ReadOptions ro;
  ro.snapshot = snap;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
  std::unique_ptr<rocksdb::Iterator> sit(scores ? db->NewIterator(ro) : nullptr);
  if (sit) sit->Seek("s");
  absl::Status result;
  std::string last;
  StoredCustomer stored;
  it->Seek("c");
  while (it->Valid() && it->key().starts_with("c")) {
    const std::string wire = it->key().ToString().substr(1);
    auto key = CustomerKey::Decode(wire);
    CustomerState state;
    if (!key) {
      result = absl::DataLossError(absl::StrCat("state store ", path, ": malformed customer key"));
      break;
    }
    result = ReadStoredAt(it.get(), path, &stored);
    if (result.ok()) result = stored.Decode(path, &state);
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
  if (result.ok() && !it->status().ok()) result = FromRocks(it->status(), path, "scan");
  if (result.ok() && sit && !sit->status().ok())
    result = FromRocks(sit->status(), path, "scan scores");
  it.reset();
  sit.reset();
  db->ReleaseSnapshot(snap);
  return result;
}

absl::StatusOr<std::string> ScanRecords(
    rocksdb::DB* db, const std::string& path, const std::string& after, size_t max,
    const std::function<absl::Status(const CustomerKey&, const std::string&,
                                     const StoredCustomer&)>& fn) {
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  // Past `after`'s head and its parts ("\0" ...): the next customer's key is
  // larger than `after` "\x01" or shares no prefix with it.
  it->Seek(after.empty() ? std::string("c") : "c" + after + '\x01');
  std::string last;
  StoredCustomer stored;
  for (size_t n = 0; n < max && it->Valid() && it->key().starts_with("c"); ++n) {
    const std::string wire = it->key().ToString().substr(1);
    auto key = CustomerKey::Decode(wire);
    if (!key)
      return absl::DataLossError(absl::StrCat("state store ", path, ": malformed customer key"));
    if (absl::Status r = ReadStoredAt(it.get(), path, &stored); !r.ok()) return r;
    if (absl::Status s = fn(*key, wire, stored); !s.ok()) return s;
    last = wire;
  }
  if (!it->status().ok()) return FromRocks(it->status(), path, "scan");
  if (!it->Valid() || !it->key().starts_with("c")) return std::string();
  return last;
}

absl::StatusOr<OpenedStore> OpenStoreDb(const std::string& path, bool read_only,
                                        int32_t retention_days, size_t write_buffer_bytes,
                                        rocksdb::Env* env, Changelog* changelog) {
  rocksdb::Options ro = StoreRocksOptions();
  ro.create_if_missing = !read_only;
  if (!read_only && env == nullptr) {
    // RocksDB logs "Error when reading <dir> dir NotFound" (an error line of
    // recur's log) for a directory it is about to create; made here, a new
    // store opens without it. A failure is RocksDB's to report.
    std::error_code ec;
    std::filesystem::create_directories(path, ec);
  }
  ro.write_buffer_size = write_buffer_bytes;
  if (env != nullptr) ro.env = env;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      read_only ? rocksdb::DB::OpenForReadOnly(ro, path, &raw) : rocksdb::DB::Open(ro, path, &raw);
  OpenedStore out;
  out.db.reset(raw);
  if (!s.ok()) return FromRocks(s, path, "open");
  CatchUp caught_up;
  if (changelog != nullptr && !read_only) {
    auto c = CatchUpWithChangelog(out.db.get(), path, changelog);
    if (!c.ok()) return c.status();
    caught_up = *c;
    out.restored_records = caught_up.records;
  }
  if (absl::Status f = CheckFormat(out.db.get(), path, read_only); !f.ok()) return f;
  auto retention = OpenRetention(out.db.get(), path, retention_days, read_only);
  if (!retention.ok()) return retention.status();
  if (!caught_up.logged) {
    absl::Status b = BootstrapChangelog(out.db.get(), path, changelog, caught_up.log_empty);
    if (!b.ok()) return b;
  }
  out.retention_days = *retention;
  auto times = ReadEventTimes(out.db.get(), path);
  if (!times.ok()) return times.status();
  out.times = std::move(*times);
  // The pending marks on disk (few: customers whose scores were owed at the
  // last flush), so a flush writes and deletes only what changed.
  auto keys = ReadPendingKeys(out.db.get(), path);
  if (!keys.ok()) return keys.status();
  out.pending = std::move(*keys);
  return out;
}

absl::StatusOr<std::vector<CustomerKey>> DecodeWireKeys(const std::set<std::string>& wires,
                                                        const std::string& path) {
  std::vector<CustomerKey> out;
  out.reserve(wires.size());
  for (const std::string& w : wires) {
    auto key = CustomerKey::Decode(w);
    if (!key) return absl::DataLossError(absl::StrCat("state store ", path, ": malformed key ", w));
    out.push_back(std::move(*key));
  }
  return out;
}

absl::StatusOr<std::string> GetEntry(rocksdb::DB* db, const std::string& path,
                                     const std::string& key) {
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), key, &value);
  if (s.IsNotFound())
    return absl::NotFoundError(absl::StrCat("no entry ", key.substr(0, 1), " for ", key.substr(1)));
  if (!s.ok()) return FromRocks(s, path, "read");
  return value;
}

void AppendDayPartKey(std::string_view head_key, int32_t day, std::string* out) {
  const uint32_t biased = static_cast<uint32_t>(day) ^ 0x80000000u;
  out->append(head_key);
  out->push_back('\0');
  for (int shift = 24; shift >= 0; shift -= 8) out->push_back(static_cast<char>(biased >> shift));
}

std::string DayPartKey(std::string_view head_key, int32_t day) {
  std::string key;
  AppendDayPartKey(head_key, day, &key);
  return key;
}

absl::Status StoredCustomer::Decode(const std::string& path, CustomerState* out) const {
  std::vector<CustomerState::DayPart> views(parts.size());
  for (size_t i = 0; i < parts.size(); ++i) views[i] = {parts[i].first, parts[i].second};
  absl::Status d = CustomerState::DecodeParts(head, views, out);
  if (!d.ok()) return absl::DataLossError(absl::StrCat("state store ", path, ": ", d.message()));
  return absl::OkStatus();
}

namespace {

// Appends the parts of the customer whose head key is `head_key` from `it` on.
void ReadParts(rocksdb::Iterator* it, std::string_view head_key, StoredCustomer* out) {
  out->parts.clear();
  for (; it->Valid(); it->Next()) {
    const std::string_view k = it->key().ToStringView();
    if (k.size() != head_key.size() + 5 || !k.starts_with(head_key) || !IsDayPartKey(k)) break;
    uint32_t biased = 0;
    for (size_t i = k.size() - 4; i < k.size(); ++i)
      biased = (biased << 8) | static_cast<uint8_t>(k[i]);
    out->parts.emplace_back(static_cast<int32_t>(biased ^ 0x80000000u), it->value().ToString());
  }
}

}  // namespace

absl::Status ReadStoredAt(rocksdb::Iterator* it, const std::string& path, StoredCustomer* out) {
  const std::string head_key = it->key().ToString();
  if (IsDayPartKey(head_key)) {
    return absl::DataLossError(
        absl::StrCat("state store ", path, ": a day part without its customer's head"));
  }
  out->head = it->value().ToString();
  it->Next();
  ReadParts(it, head_key, out);
  return absl::OkStatus();
}

absl::Status CustomerReader::Load(const std::string& key, CustomerState* out) {
  *out = CustomerState();
  // A key holding a NUL names no customer (ids hold none) and could name a part.
  if (key.find('\0') != std::string::npos) return absl::OkStatus();
  // The head first, through the bloom filters: most keys a batch misses are
  // new customers.
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), key, &stored_.head);
  if (s.IsNotFound()) return absl::OkStatus();
  if (!s.ok()) return FromRocks(s, path_, "read customer");
  stored_.parts.clear();
  if (CustomerState::IsHead(stored_.head)) {
    if (!it_) it_.reset(db_->NewIterator(rocksdb::ReadOptions()));
    it_->Seek(DayPartKey(key, std::numeric_limits<int32_t>::min()));
    ReadParts(it_.get(), key, &stored_);
    if (!it_->status().ok()) return FromRocks(it_->status(), path_, "read customer");
  }
  return stored_.Decode(path_, out);
}

}  // namespace recur::internal
