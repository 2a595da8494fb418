// Internal to FeatureStore: what a write-back store has applied or committed
// but not yet made durable, apart from the customers themselves — positions,
// pending marks, last scores, scorer meta. A flush moves the live Unflushed
// into its cut (FeatureStore::Flush takes a cut, then encodes and writes it
// while batches go on); a failed write merges the cut back under the newer
// live entries.
#ifndef RECUR_FEATURESTORE_UNFLUSHED_H_
#define RECUR_FEATURESTORE_UNFLUSHED_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <unordered_map>

#include "featurestore/types.h"

namespace rocksdb {
class WriteBatch;
}  // namespace rocksdb

namespace recur::internal {

struct Unflushed {
  OffsetMap offsets;
  StreamTimeMap stream_times;
  // Touched, score owed: wire key -> the tick of its last touch.
  std::map<std::string, uint64_t> pending_new;
  std::set<std::string> pending_done;  // delivered; the mark is (or will be) on disk
  std::map<std::string, std::string> scores;
  std::map<std::string, std::string> meta;

  bool empty() const {
    return offsets.empty() && stream_times.empty() && pending_new.empty() && pending_done.empty() &&
           scores.empty() && meta.empty();
  }
};

// Adds to `batch` the entries of `u`: a mark put for each pending_new not in
// `on_disk`, a delete for each pending_done, the scores, meta, offsets and
// stream times (keys: rocks_internal.h).
void AddToBatch(const Unflushed& u, const std::unordered_map<std::string, uint64_t>& on_disk,
                rocksdb::WriteBatch* batch);

// A failed flush's cut goes back under the live entries, which are newer:
// an entry of `cut` is kept only where `live` has none, and a mark delivered
// (or touched) since the cut keeps its newer side.
void MergeBack(Unflushed cut, Unflushed* live);

}  // namespace recur::internal

#endif  // RECUR_FEATURESTORE_UNFLUSHED_H_
