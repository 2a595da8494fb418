#include "streams/batch_builder.h"

#include <algorithm>
#include <utility>

#include "base/time.h"

namespace recur {

BatchBuilder::BatchBuilder(DecoderOptions decoder, OffsetMap stop_offsets, TopicNames topics)
    : decoder_(decoder, std::move(topics)), stop_offsets_(std::move(stop_offsets)) {}

int64_t BatchBuilder::StopOf(const TopicPartition& tp) const {
  auto it = stop_offsets_.find(tp);
  return it == stop_offsets_.end() ? 0 : it->second;  // not in the map: not read at all
}

BatchBuilder::Added BatchBuilder::Add(const RawRecord& r) {
  Added added;
  const TopicPartition tp{std::string(r.topic), r.partition};
  if (bounded() && r.offset >= StopOf(tp)) {  // fetched beyond the stop offset: never applied
    added.stopped = ReachStop(tp);
    return added;
  }
  added.counted = true;
  ++batch_.count;
  batch_.offsets[tp] = r.offset + 1;
  if (bounded() && r.offset + 1 >= StopOf(tp)) added.stopped = ReachStop(tp);

  // Lateness is judged against this source partition's own stream time: the
  // topics feeding one store are read unevenly during a catch-up.
  int64_t& stream_time = stream_times_[tp];
  Decoded d = decoder_.Decode(r, stream_time);
  if (d.ok()) {
    added.late = IsLate(d.event->event_time_ms(), stream_time);
    stream_time = std::max(stream_time, d.event->event_time_ms());
    batch_.events[tp.partition].push_back(std::move(*d.event));
  } else {
    added.dead_reason = d.reason;
    batch_.dead.push_back({tp.topic, tp.partition, r.offset,
                           r.key ? std::optional<std::string>(std::string(*r.key)) : std::nullopt,
                           std::string(r.value), d.reason});
  }
  batch_.stream_times[tp] = stream_time;
  return added;
}

bool BatchBuilder::AtEnd(const TopicPartition& tp, int64_t end_offset) {
  return bounded() && end_offset >= StopOf(tp) && ReachStop(tp);
}

bool BatchBuilder::ReachStop(const TopicPartition& tp) {
  if (!stopped_.insert(tp).second) return false;
  auto it = stop_offsets_.find(tp);
  if (it != stop_offsets_.end()) {
    int64_t& next = batch_.offsets[tp];
    next = std::max(next, it->second);
    batch_.stream_times[tp] = stream_times_[tp];
  }
  return true;
}

void BatchBuilder::Reset() {
  batch_ = Batch();
  stream_times_.clear();
  stopped_.clear();
}

}  // namespace recur
