#include "featurestore/verify.h"

#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"
#include "featurestore/feature_store.h"
#include "featurestore/rocks_internal.h"
#include "rocksdb/db.h"
#include "rocksdb/metadata.h"

namespace recur {

absl::StatusOr<StoreVerification> VerifyStore(const std::string& path) {
  StoreVerification out;
  {
    // The raw database first: a corrupt table must be named even when the
    // recur-level checks below would trip over it with a vaguer message.
    rocksdb::DB* raw = nullptr;
    rocksdb::Status s = rocksdb::DB::OpenForReadOnly(internal::StoreRocksOptions(), path, &raw);
    std::unique_ptr<rocksdb::DB> db(raw);
    if (!s.ok()) return internal::FromRocks(s, path, "open");
    std::vector<rocksdb::LiveFileMetaData> files;
    db->GetLiveFilesMetaData(&files);
    for (const auto& f : files) {
      ++out.table_files;
      out.table_bytes += static_cast<int64_t>(f.size);
    }
    s = db->VerifyChecksum();
    if (!s.ok()) return internal::FromRocks(s, path, "verify checksums");
  }
  FeatureStore::Options o;
  o.path = path;
  o.read_only = true;
  auto store = FeatureStore::Open(o);  // format marker, max event time, pending marks
  if (!store.ok()) return store.status();
  auto offsets = (*store)->ReadOffsets();
  if (!offsets.ok()) return offsets.status();
  out.offsets = static_cast<int64_t>(offsets->size());
  if (auto times = (*store)->ReadStreamTimes(); !times.ok()) return times.status();
  if (auto pending = (*store)->ledger().ReadPending(); !pending.ok()) return pending.status();
  absl::Status s = (*store)->ForEachCustomer([&](const CustomerKey&, const CustomerState&) {
    ++out.customers;
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

}  // namespace recur
