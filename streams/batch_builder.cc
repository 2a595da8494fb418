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

BatchBuilder::Slot& BatchBuilder::SlotFor(const RawRecord& r) {
  if (!slot_.topic.empty() && slot_.partition == r.partition && slot_.topic == r.topic) {
    return slot_;
  }
  const TopicPartition tp{std::string(r.topic), r.partition};
  slot_.topic = tp.topic;
  slot_.partition = tp.partition;
  slot_.next_offset = &batch_.offsets[tp];
  slot_.stream_time = &stream_times_[tp];
  slot_.batch_stream_time = &batch_.stream_times[tp];
  slot_.events = nullptr;  // on the first good event: a batch of dead letters has no events
  slot_.event_offsets = nullptr;
  return slot_;
}

BatchBuilder::Added BatchBuilder::Add(const RawRecord& r) {
  Added added;
  if (bounded()) {
    const TopicPartition tp{std::string(r.topic), r.partition};
    if (r.offset >= StopOf(tp)) {  // fetched beyond the stop offset: never applied
      added.stopped = ReachStop(tp);
      return added;
    }
    if (r.offset + 1 >= StopOf(tp)) added.stopped = ReachStop(tp);
  }
  Slot& slot = SlotFor(r);
  added.counted = true;
  ++batch_.count;
  // ReachStop (above) may have stored the stop offset already: never lower it.
  *slot.next_offset = std::max(*slot.next_offset, r.offset + 1);

  // Lateness is judged against this source partition's own stream time: the
  // topics feeding one store are read unevenly during a catch-up.
  int64_t& stream_time = *slot.stream_time;
  Decoded d = decoder_.Decode(r, stream_time);
  if (d.ok()) {
    added.late = IsLate(d.event->event_time_ms(), stream_time);
    stream_time = std::max(stream_time, d.event->event_time_ms());
    if (slot.events == nullptr) {
      slot.events = &batch_.events[r.partition];
      slot.event_offsets = &batch_.event_offsets[r.partition];
    }
    slot.events->push_back(std::move(*d.event));
    slot.event_offsets->push_back(r.offset);
    batch_.oldest_record_ms = OldestKnownMs(batch_.oldest_record_ms, r.timestamp_ms);
  } else {
    added.dead_reason = d.reason;
    batch_.dead.push_back({std::string(r.topic), r.partition, r.offset,
                           r.key ? std::optional<std::string>(std::string(*r.key)) : std::nullopt,
                           std::string(r.value), d.reason});
  }
  *slot.batch_stream_time = stream_time;
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
  slot_ = Slot();
  stream_times_.clear();
  stopped_.clear();
}

}  // namespace recur
