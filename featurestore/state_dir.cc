#include "featurestore/state_dir.h"

#include <zlib.h>

#include <filesystem>
#include <set>

#include "absl/strings/str_cat.h"
#include "featurestore/partition_manifest.h"

namespace recur {

int32_t PartitionFor(std::string_view key, int32_t partitions) {
  uLong crc = crc32(0L, Z_NULL, 0);
  crc = crc32(crc, reinterpret_cast<const Bytef*>(key.data()), static_cast<uInt>(key.size()));
  return static_cast<int32_t>(static_cast<uint32_t>(crc) % static_cast<uint32_t>(partitions));
}

std::string StateDir::PartitionPath(const std::string& dir, int32_t partition) {
  return (std::filesystem::path(dir) / absl::StrCat("partition-", partition)).string();
}

absl::StatusOr<int32_t> StateDir::CountPartitions(const std::string& path) {
  // A recorded store that is gone would shrink the count: refused, never guessed.
  if (absl::Status s = CheckNoMissingPartitions(path); !s.ok()) return s;
  int32_t n = 0;
  while (std::filesystem::exists(PartitionPath(path, n))) ++n;
  if (n == 0)
    return absl::NotFoundError(absl::StrCat("state dir ", path, ": no partition-0 store there"));
  return n;
}

absl::StatusOr<std::unique_ptr<StateDir>> StateDir::OpenReadOnly(const std::string& path,
                                                                 FeatureStore::Options store) {
  auto parts = CountPartitions(path);
  if (!parts.ok()) return parts.status();
  Options o;
  o.path = path;
  o.partitions = *parts;
  o.store = std::move(store);
  o.store.read_only = true;
  return Open(o);
}

absl::StatusOr<std::unique_ptr<StateDir>> StateDir::Open(const Options& options) {
  if (options.partitions < 1) return absl::InvalidArgumentError("partitions: must be at least 1");
  std::error_code ec;
  if (!options.store.read_only) std::filesystem::create_directories(options.path, ec);
  if (ec)
    return absl::UnavailableError(absl::StrCat("state dir ", options.path, ": ", ec.message()));
  if (!options.store.read_only) {
    if (absl::Status s = CheckNoMissingPartitions(options.path); !s.ok()) return s;
  }
  auto dir = std::unique_ptr<StateDir>(new StateDir());
  std::set<int32_t> numbers;
  for (int32_t p = 0; p < options.partitions; ++p) {
    FeatureStore::Options o = options.store;
    o.path = PartitionPath(options.path, p);
    auto store = FeatureStore::Open(o);
    if (!store.ok()) return store.status();
    dir->stores_.push_back(std::move(*store));
    numbers.insert(p);
  }
  if (!options.store.read_only) {
    if (absl::Status s = RecordPartitions(options.path, numbers); !s.ok()) return s;
  }
  return dir;
}

}  // namespace recur
