#include "streams/committer.h"

#include <chrono>
#include <map>

#include "absl/strings/str_cat.h"
#include "base/parallel.h"

namespace recur {

absl::Status Committer::SendDeadLetters(const Batch& batch) {
  for (const DeadLetter& d : batch.dead) {
    Headers h = {{"recur.error.reason", d.reason},
                 {"recur.error.topic", d.topic},
                 {"recur.error.partition", std::to_string(d.partition)},
                 {"recur.error.offset", std::to_string(d.offset)}};
    absl::Status s = dlq_->Send(
        dlq_topic_, d.key ? std::optional<std::string_view>(*d.key) : std::nullopt, d.value, h);
    if (!s.ok()) return s;
  }
  absl::Status s = dlq_->Flush(absl::Seconds(30));
  if (!s.ok()) return absl::Status(s.code(), absl::StrCat("dead-letter delivery: ", s.message()));
  return absl::OkStatus();
}

absl::Status Committer::Commit(const Batch& batch, Progress* progress, Report* report) {
  *report = Report();
  if (!progress->dead_sent && !batch.dead.empty()) {
    if (absl::Status s = SendDeadLetters(batch); !s.ok()) return s;
    progress->dead_sent = true;
  }
  std::map<int32_t, OffsetMap> by_partition;
  std::map<int32_t, StreamTimeMap> times_by_partition;
  for (const auto& [tp, offset] : batch.offsets) {
    by_partition[tp.partition][tp] = offset;
    auto t = batch.stream_times.find(tp);
    times_by_partition[tp.partition][tp] = t == batch.stream_times.end() ? 0 : t->second;
  }
  // Partition stores are independent: apply them in parallel (one task per
  // partition number, at most one thread per core), each its own WriteBatch.
  struct Job {
    int32_t partition;
    std::span<const v1::Event> events;
    const OffsetMap* offsets;
    const StreamTimeMap* times;
    FeatureStore::ApplyStats stats;
    absl::Status status;
  };
  std::vector<Job> jobs;
  for (const auto& [partition, offsets] : by_partition) {
    if (progress->applied.count(partition)) continue;  // landed in an earlier attempt
    if (!stores_->IsOpen(partition)) {
      return absl::InternalError(absl::StrCat("no store open for partition ", partition));
    }
    auto ev = batch.events.find(partition);
    jobs.push_back({partition,
                    ev == batch.events.end() ? std::span<const v1::Event>() : std::span(ev->second),
                    &offsets,
                    &times_by_partition[partition],
                    {},
                    {}});
  }
  const auto apply_start = std::chrono::steady_clock::now();
  ParallelFor(jobs.size(), [&](size_t i) {
    Job& j = jobs[i];
    j.status = stores_->Apply(j.partition, j.events, *j.offsets, *j.times, &j.stats);
  });
  report->apply_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::steady_clock::now() - apply_start)
                         .count();
  absl::Status first_error;
  for (Job& j : jobs) {
    if (!j.status.ok()) {
      if (first_error.ok()) first_error = j.status;
      continue;
    }
    progress->applied.insert(j.partition);  // a retry skips what already landed
    report->applied.push_back({j.partition, std::move(j.stats)});
  }
  return first_error;
}

}  // namespace recur
