// Snapshot of a live state directory through RocksDB secondary instances.
//
// Why a catch-up is verified by a second one: TryCatchUpWithPrimary first tails
// the primary's MANIFEST, then lists and replays its WAL files. If the primary
// flushes a memtable in between (MANIFEST edit written after the secondary read
// it) and deletes that memtable's WAL before the listing, the secondary replays
// the newer WAL without the flushed data: a view with a hole in it, which RocksDB
// reports as success (a purged WAL is tolerated on purpose). The flush's edit is
// in the MANIFEST before its WAL is deleted, so the *next* catch-up reads it and
// adds a new table file. Hence: catch up, pin the view with an iterator, catch up
// again; if the set of live table files did not change, no flush landed inside
// the first catch-up and the pinned view is a whole prefix of the primary's
// batches. Otherwise the second catch-up becomes the base and the check repeats.
// Table files the primary deletes meanwhile stay readable: the secondary keeps
// every table file open (max_open_files = -1).
#include "featurestore/snapshot.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <system_error>
#include <thread>

#include "absl/strings/str_cat.h"
#include "base/fs.h"
#include "featurestore/feature_store.h"
#include "featurestore/rocks_internal.h"
#include "featurestore/state_dir.h"
#include "rocksdb/db.h"
#include "rocksdb/metadata.h"
#include "rocksdb/write_batch.h"

namespace recur {
namespace {

namespace fs = std::filesystem;
using internal::FromRocks;

constexpr size_t kCopyBatchBytes = 4 << 20;

bool Stopped(const SnapshotOptions& o) { return o.stop != nullptr && o.stop->load(); }

// What a view holds: compared between the source view and the finished copy.
struct Digest {
  int64_t keys = 0;
  int64_t customers = 0;
  int64_t bytes = 0;
  uint64_t hash = 1469598103934665603ull;

  void Add(const rocksdb::Slice& k, const rocksdb::Slice& v) {
    ++keys;
    if (k.starts_with("c") && !internal::IsDayPartKey(k.ToStringView())) ++customers;
    bytes += static_cast<int64_t>(k.size() + v.size());
    // Order-dependent mix of per-field FNV-1a hashes; lengths keep (k, v) splits apart.
    for (uint64_t x : {static_cast<uint64_t>(k.size()), Fnv1a64(k.ToStringView()),
                       static_cast<uint64_t>(v.size()), Fnv1a64(v.ToStringView())}) {
      hash = (hash ^ x) * 1099511628211ull;
    }
  }
  bool operator==(const Digest& o) const {
    return keys == o.keys && customers == o.customers && bytes == o.bytes && hash == o.hash;
  }
};

std::vector<std::string> LiveTableFiles(rocksdb::DB* db) {
  std::vector<rocksdb::LiveFileMetaData> files;
  db->GetLiveFilesMetaData(&files);
  std::vector<std::string> names;
  names.reserve(files.size());
  for (const auto& f : files) names.push_back(f.name);
  std::sort(names.begin(), names.end());
  return names;
}

// Writes every key of `it` (a pinned view) into a new store at `dst`. The copy's
// WAL is off: the store is flushed to table files and verified before anyone can
// open it, and a crash before the final rename leaves only the temporary dir.
absl::Status CopyView(rocksdb::Iterator* it, const std::string& src, const std::string& dst,
                      const SnapshotOptions& o, Digest* digest) {
  rocksdb::Options options = internal::StoreRocksOptions();
  options.create_if_missing = true;
  options.error_if_exists = true;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(options, dst, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return FromRocks(s, dst, "create the copy");
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  rocksdb::WriteBatch batch;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    digest->Add(it->key(), it->value());
    s = batch.Put(it->key(), it->value());
    if (s.ok() && batch.GetDataSize() >= kCopyBatchBytes) {
      if (Stopped(o)) return absl::CancelledError("snapshot: interrupted");
      s = db->Write(wo, &batch);
      batch.Clear();
    }
    if (!s.ok()) return FromRocks(s, dst, "write the copy");
  }
  if (!it->status().ok()) return FromRocks(it->status(), src, "read the secondary view");
  if (batch.Count() > 0) s = db->Write(wo, &batch);
  if (s.ok()) s = db->Flush(rocksdb::FlushOptions());
  if (s.ok()) s = db->Close();
  return FromRocks(s, dst, "finish the copy");
}

// Reopens the finished copy and checks it holds exactly the view's keys and
// values; then reads its offsets the way the pipeline and the trainer do.
absl::Status VerifyCopy(const std::string& dst, const Digest& expected, PartitionSnapshot* out) {
  {
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::OpenForReadOnly(internal::StoreRocksOptions(), dst, &raw);
    std::unique_ptr<rocksdb::DB> db(raw);
    if (!s.ok()) return FromRocks(s, dst, "reopen the copy");
    rocksdb::ReadOptions ro;
    ro.fill_cache = false;
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(ro));
    Digest got;
    for (it->SeekToFirst(); it->Valid(); it->Next()) got.Add(it->key(), it->value());
    if (!it->status().ok()) return FromRocks(it->status(), dst, "read the copy");
    if (!(got == expected)) {
      return absl::DataLossError(absl::StrCat("snapshot: the copy at ", dst, " holds ", got.keys,
                                              " keys (", got.bytes, " bytes), the source view ",
                                              expected.keys, " (", expected.bytes,
                                              " bytes) or their contents differ"));
    }
  }
  FeatureStore::Options fo;
  fo.path = dst;
  fo.read_only = true;
  auto store = FeatureStore::Open(fo);
  if (!store.ok()) return store.status();
  auto offsets = (*store)->ReadOffsets();
  if (!offsets.ok()) return offsets.status();
  out->offsets = std::move(*offsets);
  out->max_event_time_ms = (*store)->max_event_time_ms();
  out->keys = expected.keys;
  out->customers = expected.customers;
  out->bytes = expected.bytes;
  return absl::OkStatus();
}

absl::StatusOr<PartitionSnapshot> SnapshotPartition(int32_t partition, const std::string& src,
                                                    const std::string& dst,
                                                    const std::string& secondary,
                                                    const SnapshotOptions& o) {
  if (!fs::exists(fs::path(src) / "CURRENT")) {
    return absl::FailedPreconditionError(
        absl::StrCat("state store ", src, ": not a RocksDB store (no CURRENT file)"));
  }
  PartitionSnapshot result;
  result.partition = partition;
  rocksdb::Options options = internal::StoreRocksOptions();
  options.create_if_missing = false;
  options.max_open_files = -1;  // keep every table file open: the primary may delete them
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;

  std::unique_ptr<rocksdb::DB> db;
  std::vector<std::string> base_files;
  bool have_base = false;
  rocksdb::Status last;
  int failures = 0;
  auto back_off = [&](const rocksdb::Status& s) {
    last = s;
    db.reset();
    have_base = false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * std::min(++failures, 10)));
  };
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(o.catch_up_timeout_ms);
  while (result.catch_ups == 0 || std::chrono::steady_clock::now() < deadline) {
    if (Stopped(o)) return absl::CancelledError("snapshot: interrupted");
    if (db == nullptr) {
      rocksdb::DB* raw = nullptr;
      rocksdb::Status s = rocksdb::DB::OpenAsSecondary(options, src, secondary, &raw);
      db.reset(raw);
      if (!s.ok()) {
        ++result.catch_ups;  // an open replays the MANIFEST: count it as a catch-up
        back_off(s);
        continue;
      }
    }
    if (!have_base) {
      rocksdb::Status s = db->TryCatchUpWithPrimary();
      ++result.catch_ups;
      if (!s.ok()) {
        back_off(s);
        continue;
      }
      std::string format;
      s = db->Get(rocksdb::ReadOptions(), internal::kFormatKey, &format);
      if (s.IsNotFound() || (s.ok() && format != internal::kFormat)) {
        return absl::FailedPreconditionError(
            absl::StrCat("state store ", src, ": not a recur store (format marker '", format,
                         "', want ", internal::kFormat, ")"));
      }
      if (!s.ok()) {
        back_off(s);
        continue;
      }
      base_files = LiveTableFiles(db.get());
      have_base = true;
    }
    // Pin the base view, then certify it with a second catch-up (see the top of the file).
    std::unique_ptr<rocksdb::Iterator> view(db->NewIterator(ro));
    rocksdb::Status s = db->TryCatchUpWithPrimary();
    ++result.catch_ups;
    if (!s.ok()) {
      view.reset();
      back_off(s);
      continue;
    }
    std::vector<std::string> files = LiveTableFiles(db.get());
    if (files != base_files) {
      base_files = std::move(files);  // the primary flushed or compacted: the new view is the base
      continue;
    }
    Digest digest;
    absl::Status copied = CopyView(view.get(), src, dst, o, &digest);
    view.reset();
    db.reset();
    if (!copied.ok()) return copied;
    absl::Status verified = VerifyCopy(dst, digest, &result);
    if (!verified.ok()) return verified;
    return result;
  }
  absl::Status why = last.ok()
                         ? absl::UnavailableError("the primary kept flushing during every catch-up")
                         : FromRocks(last, src, "open as a secondary instance / catch up");
  return absl::UnavailableError(absl::StrCat("snapshot of ", src, ": no consistent view after ",
                                             result.catch_ups, " catch-ups with the primary in ",
                                             o.catch_up_timeout_ms, " ms: ", why.message()));
}

// Is `inner` equal to or below `outer` (both made absolute, symlinks resolved where they exist)?
}  // namespace

absl::StatusOr<SnapshotResult> Snapshot(const std::string& state_dir, const std::string& out,
                                        const SnapshotOptions& options) {
  std::error_code ec;
  if (state_dir.empty()) return absl::InvalidArgumentError("snapshot: the state dir is empty");
  if (out.empty()) return absl::InvalidArgumentError("snapshot: the output path is empty");
  if (!fs::is_directory(state_dir, ec)) {
    return absl::NotFoundError(
        absl::StrCat("state dir ", state_dir, " does not exist (or is not a directory)"));
  }
  auto parts = StateDir::CountPartitions(state_dir);
  if (!parts.ok()) return parts.status();
  fs::path target = fs::path(out).lexically_normal();
  if (!target.has_filename()) target = target.parent_path();
  if (fs::exists(fs::symlink_status(target, ec))) {
    return absl::AlreadyExistsError(absl::StrCat(
        "snapshot: ", out,
        " already exists; a snapshot never overwrites: choose a new path or remove it"));
  }
  if (IsWithin(target.string(), state_dir)) {
    return absl::InvalidArgumentError(absl::StrCat("snapshot: ", out, " lies inside the state dir ",
                                                   state_dir, "; put snapshots outside it"));
  }
  auto tmp_dir = TempDirBeside(target.string());
  if (!tmp_dir.ok())
    return absl::Status(tmp_dir.status().code(),
                        absl::StrCat("snapshot: ", tmp_dir.status().message()));
  const fs::path tmp = *tmp_dir;
  struct RemoveUnlessKept {
    fs::path dir;
    bool keep = false;
    ~RemoveUnlessKept() {
      std::error_code ignored;
      if (!keep) fs::remove_all(dir, ignored);
    }
  } cleanup{tmp};

  SnapshotResult result;
  result.out = target.string();
  for (int32_t p = 0; p < *parts; ++p) {
    const std::string name = absl::StrCat("partition-", p);
    auto snap = SnapshotPartition(p, StateDir::PartitionPath(state_dir, p), (tmp / name).string(),
                                  (tmp / (".secondary-" + name)).string(), options);
    if (!snap.ok()) return snap.status();
    fs::remove_all(tmp / (".secondary-" + name), ec);
    if (options.on_partition) options.on_partition(*snap);
    result.partitions.push_back(std::move(*snap));
  }
  if (Stopped(options)) return absl::CancelledError("snapshot: interrupted");
  absl::Status s = PublishDir(tmp.string(), target.string());
  if (absl::IsAlreadyExists(s)) {
    return absl::AlreadyExistsError(
        absl::StrCat("snapshot: ", out, " appeared while the snapshot was taken; not replaced"));
  }
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("snapshot: ", s.message()));
  cleanup.keep = true;
  return result;
}

}  // namespace recur
