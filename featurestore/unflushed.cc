#include "featurestore/unflushed.h"

#include <utility>

#include "featurestore/rocks_internal.h"
#include "rocksdb/write_batch.h"

namespace recur::internal {

void AddToBatch(const Unflushed& u, const std::unordered_map<std::string, uint64_t>& on_disk,
                rocksdb::WriteBatch* batch) {
  // (in key order: the maps and sets are ordered)
  for (const auto& [wire, tick] : u.pending_new) {
    if (!on_disk.count(wire)) batch->Put("p" + wire, rocksdb::Slice());
  }
  for (const std::string& wire : u.pending_done) batch->Delete("p" + wire);
  for (const auto& [wire, bytes] : u.scores) batch->Put("s" + wire, bytes);
  for (const auto& [name, bytes] : u.meta) batch->Put("m:x:" + name, bytes);
  for (const auto& [tp, offset] : u.offsets) batch->Put(OffsetKey(tp), Fixed64(offset));
  for (const auto& [tp, t] : u.stream_times) batch->Put(OffsetKey(tp, 'w'), Fixed64(t));
}

void MergeBack(Unflushed cut, Unflushed* live) {
  live->offsets.merge(cut.offsets);  // merge() keeps the live value on a clash
  live->stream_times.merge(cut.stream_times);
  live->scores.merge(cut.scores);
  live->meta.merge(cut.meta);
  for (auto& [wire, tick] : cut.pending_new) {
    // Delivered since: the mark never reached the disk; deleting it is harmless.
    if (!live->pending_done.count(wire)) live->pending_new.emplace(wire, tick);
  }
  for (const std::string& wire : cut.pending_done) {
    // Touched again since: a score is owed, the mark on disk stays.
    if (!live->pending_new.count(wire)) live->pending_done.insert(wire);
  }
}

}  // namespace recur::internal
