#include "streams/missing_stores.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "featurestore/partition_manifest.h"
#include "spdlog/spdlog.h"
#include "streams/admin.h"

namespace recur {

absl::Status CheckMissingStores(const PipelineOptions& options, const RebuildOptions& rebuild) {
  auto missing = MissingPartitions(options.state_dir);
  if (!missing.ok()) return missing.status();
  if (missing->empty()) return absl::OkStatus();
  if (!rebuild.rebuild_missing) return MissingPartitionsError(options.state_dir, *missing);

  // A rebuild starts each of the store's topic-partitions at its beginning:
  // what retention or kafka-delete-records removed there is not in it.
  auto admin = KafkaAdmin::Create(options.kafka, "recur-rebuild-check");
  if (!admin.ok()) return admin.status();
  const absl::Duration timeout = absl::Seconds(30);
  auto counts = (*admin)->PartitionCounts(timeout);
  if (!counts.ok()) return counts.status();
  std::vector<std::string> lost;
  for (int32_t p : *missing) {
    for (const std::string& topic : options.topics.inputs()) {
      auto n = counts->find(topic);
      if (n == counts->end() || p >= n->second) continue;  // nothing to read there
      auto marks = (*admin)->QueryWatermarks(topic, p, timeout, "rebuild check");
      if (!marks.ok()) return marks.status();
      if (marks->low > 0) {
        lost.push_back(absl::StrCat(topic, " partition ", p, ": first available offset ",
                                    marks->low, " (offsets 0..", marks->low - 1, " deleted)"));
      }
    }
  }
  const std::string numbers = absl::StrJoin(*missing, ", ");
  if (!lost.empty()) {
    const std::string what = absl::StrJoin(lost, "; ");
    if (!rebuild.accept_loss) {
      return absl::FailedPreconditionError(absl::StrCat(
          "state dir ", options.state_dir, ": can not rebuild partition ", numbers,
          " completely: the input topics no longer hold their first records: ", what,
          ". Its customers' features would lack those events. Restore the store from a "
          "snapshot, or add --accept-loss to rebuild from what the topics still hold"));
    }
    spdlog::warn("rebuilding partition {} without the deleted records (--accept-loss): {}", numbers,
                 what);
  }
  std::set<int32_t> forget(missing->begin(), missing->end());
  if (absl::Status s = ForgetPartitions(options.state_dir, forget); !s.ok()) return s;
  spdlog::warn(
      "state dir {}: partition {} missing; rebuilding from the input topics "
      "(--rebuild-missing)",
      options.state_dir, numbers);
  return absl::OkStatus();
}

}  // namespace recur
