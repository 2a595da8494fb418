// The retention recorded in a store ("m:retention_days", rocks_internal.h) and
// the rules of retention.h.
#include "featurestore/retention.h"

#include <algorithm>
#include <filesystem>
#include <limits>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/time.h"
#include "featurestore/feature_store.h"
#include "featurestore/rocks_internal.h"

namespace recur {
namespace internal {
namespace {

absl::Status Mismatch(const std::string& path, int32_t recorded, int32_t requested) {
  return absl::FailedPreconditionError(absl::StrCat(
      "state store ", path, " keeps ", recorded,
      " days of history (its retention, set with --retention-days when it was created); it "
      "cannot be opened with --retention-days ",
      requested,
      ": a store's retention is fixed — omit --retention-days to use the store's, or replay or "
      "re-import the events into a new state dir with --retention-days ",
      requested));
}

}  // namespace

absl::StatusOr<int32_t> OpenRetention(rocksdb::DB* db, const std::string& path, int32_t requested,
                                      bool read_only) {
  if (requested != 0 && requested < kMinRetentionDays) {
    return absl::InvalidArgumentError(absl::StrCat("retention_days: must be at least ",
                                                   kMinRetentionDays,
                                                   " (the catalog looks back 365 days)"));
  }
  std::string value;
  rocksdb::Status s = db->Get(rocksdb::ReadOptions(), kRetentionKey, &value);
  int64_t recorded = kDefaultRetentionDays;
  if (s.ok() && (!ParseFixed64(value, &recorded) || recorded < kMinRetentionDays ||
                 recorded > std::numeric_limits<int32_t>::max())) {
    return absl::DataLossError(absl::StrCat("state store ", path, ": malformed retention"));
  }
  if (!s.ok() && !s.IsNotFound()) return FromRocks(s, path, "read retention");
  if (s.IsNotFound() && !read_only) {
    // Nothing was ever written (no max event time): a new store takes the
    // requested retention; an older recur's store kept the default.
    std::string unused;
    rocksdb::Status m = db->Get(rocksdb::ReadOptions(), kMaxTimeKey, &unused);
    if (!m.ok() && !m.IsNotFound()) return FromRocks(m, path, "read max event time");
    if (m.IsNotFound() && requested != 0) recorded = requested;
    m = db->Put(rocksdb::WriteOptions(), kRetentionKey, Fixed64(recorded));
    if (!m.ok()) return FromRocks(m, path, "record the retention");
  }
  const auto days = static_cast<int32_t>(recorded);
  if (requested == 0 || requested == days) return days;
  if (!read_only) return Mismatch(path, days, requested);
  if (requested < days) return requested;  // a view: the older days are ignored
  return absl::FailedPreconditionError(absl::StrCat(
      "state store ", path, " keeps ", days,
      " days of history (its retention, set with --retention-days when it was created); it "
      "cannot be read as keeping ",
      requested, " (the older days were pruned): use --retention-days ", days,
      " or less, or re-import the events into a new state dir with --retention-days ", requested));
}

}  // namespace internal

absl::StatusOr<int32_t> StateDirRetention(const std::string& path, int32_t requested) {
  int32_t found = 0;
  std::string found_at;
  // Every partition store there, also past a missing one (`run --rebuild-missing`
  // recreates it with the others' retention).
  std::vector<std::string> stores;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(path, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("partition-", 0) == 0 && entry.is_directory(ec)) stores.push_back(entry.path());
  }
  std::sort(stores.begin(), stores.end());
  for (const std::string& store_path : stores) {
    FeatureStore::Options o;
    o.path = store_path;
    o.read_only = true;
    auto store = FeatureStore::Open(o);
    if (absl::IsNotFound(store.status())) continue;  // created, never written
    if (!store.ok()) return store.status();
    const int32_t days = (*store)->retention_days();
    if (found != 0 && days != found) {
      return absl::FailedPreconditionError(
          absl::StrCat("state dir ", path, ": its stores keep different retentions (", found_at,
                       ": ", found, " days, ", o.path, ": ", days, " days)"));
    }
    found = days;
    found_at = o.path;
  }
  if (found == 0) return requested != 0 ? requested : kDefaultRetentionDays;
  if (requested != 0 && requested != found) return internal::Mismatch(found_at, found, requested);
  return found;
}

}  // namespace recur
