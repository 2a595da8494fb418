// Importer: applies a numbered sequence of events (the lines of a JSON-lines file,
// already decoded by the caller) to the per-partition stores of a StateDir, in
// write batches, exactly once. Each store records, beside its Kafka offsets, the
// position reached in the source (a pseudo topic partition named after it), so an
// interrupted import re-run over the same source skips what every store already
// holds: nothing is counted twice. Bad lines are rejected with a reason, counted
// and reported through a callback; they never stop the import.
//
//   recur::Importer::Options o;
//   o.source = "file:/abs/events.jsonl";
//   auto imp = recur::Importer::Start(dir.get(), o);     // StatusOr<unique_ptr<...>>
//   if (!imp.ok()) return imp.status();
//   for (int64_t n = 0; std::getline(in, line); ++n)
//     RETURN_IF_ERROR((*imp)->Add(n, recur::ParseEventJson(line)));
//   RETURN_IF_ERROR((*imp)->Finish());
//   if ((*imp)->summary().rejected > 0) ...           // bad input data
//
// Lifecycle: the StateDir must outlive the Importer. Events added since the last
// write batch are lost (and re-imported next time) unless Finish() is called.
// Thread-safety: none; one thread adds.
#ifndef RECUR_FEATURESTORE_IMPORTER_H_
#define RECUR_FEATURESTORE_IMPORTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "featurestore/state_dir.h"
#include "proto/recur.pb.h"

namespace recur {

class Importer {
 public:
  struct Options {
    // Names the source in every store's offsets (as partition 0 of a pseudo topic),
    // e.g. "file:" + absolute path: the same name resumes, another starts anew.
    std::string source;
    size_t batch_size = 10'000;  // events per write batch (over all partitions)
    // Called for every rejected line: its 0-based position, the reason (a key of
    // Summary::rejected_by_reason) and the detailed status. In order, except
    // that lines beyond the stores' daily cap (FeatureStore::Options::
    // max_events_per_day, "rate_limited") are reported when their batch is written.
    std::function<void(int64_t position, std::string_view reason, const absl::Status& why)>
        on_reject;
  };

  struct Summary {
    int64_t applied = 0;     // events that changed a customer's state
    int64_t duplicates = 0;  // events whose id the store had seen (counted once)
    int64_t rejected = 0;    // undecodable, invalid, older than the horizon or rate_limited
    int64_t skipped = 0;     // already imported by an earlier run over this source
    std::map<std::string, int64_t> rejected_by_reason;  // "undecodable", "too_late", ...
  };

  // Reads every store's resume position for `options.source`.
  static absl::StatusOr<std::unique_ptr<Importer>> Start(StateDir* dir, Options options);
  Importer(const Importer&) = delete;
  Importer& operator=(const Importer&) = delete;

  // `position` is the 0-based line number in the source, increasing between calls;
  // an error status of `event` rejects the line as "undecodable". Returns only
  // store errors (a rejected line is OK).
  absl::Status Add(int64_t position, const absl::StatusOr<v1::Event>& event);
  // Writes the pending events and the position reached to every store.
  absl::Status Finish() { return Flush(); }

  const Summary& summary() const { return summary_; }

 private:
  Importer(StateDir* dir, Options options);
  absl::Status Flush();
  void Reject(int64_t position, const std::string& reason, const absl::Status& why);

  StateDir* dir_;
  Options options_;
  TopicPartition source_;
  std::vector<std::vector<v1::Event>> pending_;          // per partition
  std::vector<std::vector<int64_t>> pending_positions_;  // their lines, parallel to pending_
  std::vector<int64_t> resume_;    // per partition: positions below are stored
  std::vector<int64_t> max_time_;  // per partition: the horizon reference
  size_t pending_count_ = 0;
  int64_t position_ = 0;  // one past the last position added
  Summary summary_;
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_IMPORTER_H_
