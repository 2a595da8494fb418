#include "featurestore/standby_copy.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "featurestore/rocks_internal.h"

namespace recur {

absl::StatusOr<std::unique_ptr<StandbyCopy>> StandbyCopy::Open(const std::string& path,
                                                               Changelog* log) {
  rocksdb::Options ro = internal::StoreRocksOptions();
  ro.create_if_missing = true;
  std::error_code ec;
  std::filesystem::create_directories(path, ec);  // (RocksDB logs an error line otherwise)
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::Open(ro, path, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return internal::FromRocks(s, path, "open a standby copy");
  return std::unique_ptr<StandbyCopy>(new StandbyCopy(path, log, std::move(db)));
}

absl::Status StandbyCopy::Destroy(const std::string& path) {
  std::error_code missing;
  if (!std::filesystem::exists(path, missing)) return absl::OkStatus();
  rocksdb::Status s = rocksdb::DestroyDB(path, internal::StoreRocksOptions());
  if (!s.ok()) return internal::FromRocks(s, path, "delete a standby copy");
  std::error_code ec;
  std::filesystem::remove(path, ec);  // only when empty: never a file RocksDB did not own
  return absl::OkStatus();
}

absl::StatusOr<bool> StandbyCopy::IsLogged(const std::string& path) {
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(internal::StoreRocksOptions(), path, &raw);
  std::unique_ptr<rocksdb::DB> db(raw);
  if (!s.ok()) return internal::FromRocks(s, path, "read a store's changelog position");
  std::string value;
  s = db->Get(rocksdb::ReadOptions(), internal::kChangelogEndKey, &value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return internal::FromRocks(s, path, "read a store's changelog position");
  return true;
}

absl::StatusOr<int64_t> StandbyCopy::CatchUp() {
  auto c = internal::CatchUpWithChangelog(db_.get(), path_, log_, /*tailing=*/true);
  if (!c.ok()) return c.status();
  if (!c->logged && !c->log_empty) {
    return absl::FailedPreconditionError(
        absl::StrCat("state store ", path_, " was never logged to ", std::string(log_->name()),
                     ": not kept as a standby copy (move it away to let one be restored)"));
  }
  end_ = c->end;
  return c->records;
}

}  // namespace recur
