// A store and its changelog (featurestore/changelog.h): what a flush appends,
// and what Open reads back. docs/DESIGN.md "Scale-out" has the argument.
#include <chrono>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/progress.h"
#include "base/sync_point.h"
#include "featurestore/changelog.h"
#include "featurestore/rocks_internal.h"
#include "rocksdb/write_batch.h"
#include "spdlog/spdlog.h"

namespace recur::internal {
namespace {

constexpr size_t kRestoreBufferBytes = size_t{256} << 20;

// A flush's WriteBatch as changelog records (pointing into the batch).
class RecordCollector : public rocksdb::WriteBatch::Handler {
 public:
  explicit RecordCollector(std::vector<ChangelogRecord>* out) : out_(out) {}
  rocksdb::Status PutCF(uint32_t, const rocksdb::Slice& key, const rocksdb::Slice& value) override {
    out_->push_back({key.ToStringView(), value.ToStringView(), false});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t, const rocksdb::Slice& key) override {
    out_->push_back({key.ToStringView(), {}, true});
    return rocksdb::Status::OK();
  }

 private:
  std::vector<ChangelogRecord>* out_;
};

absl::Status Unsyncable(const Changelog& log, const std::string& path, const std::string& why) {
  return absl::FailedPreconditionError(absl::StrCat("state store ", path, " and changelog ",
                                                    std::string(log.name()), " disagree: ", why));
}

}  // namespace

absl::StatusOr<int64_t> AppendToChangelog(Changelog* log, const rocksdb::WriteBatch& batch) {
  std::vector<ChangelogRecord> records;
  records.reserve(batch.Count());
  RecordCollector collect(&records);
  if (rocksdb::Status s = batch.Iterate(&collect); !s.ok()) {
    return absl::InternalError(
        absl::StrCat("changelog: reading the flush's batch: ", s.ToString()));
  }
  return log->Append(records);
}

absl::StatusOr<CatchUp> CatchUpWithChangelog(rocksdb::DB* db, const std::string& path,
                                             Changelog* log, bool tailing) {
  std::string value;
  int64_t from = 0;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), kChangelogEndKey, &value);
  if (s.ok()) {
    if (!ParseFixed64(value, &from) || from < 0) {
      return absl::DataLossError(absl::StrCat("state store ", path, ": malformed changelog end"));
    }
  } else if (!s.IsNotFound()) {
    return FromRocks(s, path, "read the changelog end");
  } else {
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    it->SeekToFirst();
    if (!it->status().ok()) return FromRocks(it->status(), path, "read");
    if (it->Valid()) return CatchUp{false, 0};  // keys never logged: BootstrapChangelog
  }
  // Large batches without the WAL: a crash leaves a prefix of them (RocksDB
  // flushes memtables in order), each with the end of what it holds, and the
  // next Open goes on from there. The memtables are flushed before any write
  // with the WAL follows.
  // A standby tailing the log takes a few flushes at a time: each write with
  // the WAL (a crash keeps whole ones), no bulk load, no memtable flush.
  const bool small = tailing && s.ok();
  const auto level = small ? spdlog::level::debug : spdlog::level::info;
  rocksdb::WriteOptions wo;
  wo.disableWAL = !small;
  // Bulk load: larger memtables (a key the log holds several times is
  // written once per memtable) and no compaction until the end.
  const std::string buffer = std::to_string(db->GetOptions().write_buffer_size);
  bool bulk = false;
  rocksdb::WriteBatch batch;
  int64_t records = 0, bytes = 0;
  bool wrote = false;
  const auto start = std::chrono::steady_clock::now();
  auto last_line = start;
  auto write = [&](int64_t end) -> absl::Status {
    if (!bulk && !small) {
      bulk = db->SetOptions({{"write_buffer_size", std::to_string(kRestoreBufferBytes)},
                             {"disable_auto_compactions", "true"}})
                 .ok();
    }
    batch.Put(kChangelogEndKey, Fixed64(end));
    // Tests kill a standby here, in the middle of tailing (standby_test.sh).
    if (small) RECUR_SYNC_POINT("Changelog::BeforeTailWrite");
    rocksdb::Status w = db->Write(wo, &batch);
    batch.Clear();
    wrote = true;
    return w.ok() ? absl::OkStatus() : FromRocks(w, path, "restore from the changelog");
  };
  auto end =
      log->ReadFrom(from, [&](std::span<const ChangelogRecord> part, int64_t next) -> absl::Status {
        for (const ChangelogRecord& r : part) {
          if (r.key.empty()) return Unsyncable(*log, path, "a record without a key");
          rocksdb::Status b = r.tombstone ? batch.Delete(r.key) : batch.Put(r.key, r.value);
          if (!b.ok()) return FromRocks(b, path, "restore from the changelog");
          bytes += static_cast<int64_t>(r.key.size() + r.value.size());
        }
        records += static_cast<int64_t>(part.size());
        if (batch.GetDataSize() >= (size_t{16} << 20)) {
          if (absl::Status w = write(next); !w.ok()) return w;
        }
        const auto now = std::chrono::steady_clock::now();
        if (now - last_line >= std::chrono::seconds(5)) {
          last_line = now;
          spdlog::log(level, "{}: restoring from {}: {} records, {:.1f} MB so far", path,
                      log->name(), FormatCount(records), bytes / 1e6);
        }
        return absl::OkStatus();
      });
  if (!end.ok()) return end.status();
  if (*end < from) return Unsyncable(*log, path, "the changelog ends before the store's end");
  // A store that was never logged and read nothing (an empty log: markers of
  // aborted appends at most) stays unlogged: Open sends its first keys.
  const bool moved = records > 0 || (s.ok() && *end != from);
  if (moved) {
    if (absl::Status w = write(*end); !w.ok()) return w;
  }
  if (wrote && !small) {
    rocksdb::FlushOptions fo;
    fo.wait = true;
    if (rocksdb::Status f = db->Flush(fo); !f.ok()) return FromRocks(f, path, "flush the restore");
  }
  if (bulk) {
    rocksdb::Status o =
        db->SetOptions({{"write_buffer_size", buffer}, {"disable_auto_compactions", "false"}});
    if (!o.ok()) return FromRocks(o, path, "end the restore's bulk load");
  }
  if (records > 0) {
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    spdlog::log(level, "{}: restored {} records ({:.1f} MB) from {} offsets {}..{} in {:.1f} s",
                path, FormatCount(records), bytes / 1e6, log->name(), from, *end, secs);
  }
  return CatchUp{s.ok() || records > 0, records, !s.ok() && from == 0 && records == 0,
                 moved ? *end : from};
}

absl::Status BootstrapChangelog(rocksdb::DB* db, const std::string& path, Changelog* log,
                                bool log_empty) {
  // The log must hold nothing: a store never logged beside a log that holds
  // records are two histories, and neither may overwrite the other.
  int64_t held = 0;
  if (!log_empty) {
    auto end = log->ReadFrom(0, [&held](std::span<const ChangelogRecord> part, int64_t) {
      held += static_cast<int64_t>(part.size());
      return absl::OkStatus();
    });
    if (!end.ok()) return end.status();
  }
  if (held > 0) {
    return Unsyncable(*log, path,
                      absl::StrCat("the store was never logged but the changelog holds ", held,
                                   " records; move the store away to restore it from the "
                                   "changelog, or give this deployment its own changelog topic"));
  }
  rocksdb::WriteBatch batch;
  std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key() == rocksdb::Slice(kChangelogEndKey)) continue;
    batch.Put(it->key(), it->value());
  }
  if (!it->status().ok()) return FromRocks(it->status(), path, "read for the changelog");
  auto logged = AppendToChangelog(log, batch);
  if (!logged.ok()) return logged.status();
  spdlog::info("{}: sent its {} keys to {}", path, FormatCount(batch.Count()), log->name());
  rocksdb::Status w = db->Put(rocksdb::WriteOptions(), kChangelogEndKey, Fixed64(*logged));
  return w.ok() ? absl::OkStatus() : FromRocks(w, path, "record the changelog end");
}

}  // namespace recur::internal
