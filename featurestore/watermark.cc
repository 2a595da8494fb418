#include "featurestore/watermark.h"

#include <algorithm>
#include <functional>

namespace recur {

EventTimeWatermark EventTimeWatermark::Seeded(int64_t max_event_time_ms) {
  EventTimeWatermark w;
  if (max_event_time_ms > 0) w.times_.assign(kKept, max_event_time_ms);
  return w;
}

std::optional<EventTimeWatermark> EventTimeWatermark::Decode(std::string_view bytes) {
  if (bytes.size() % 8 != 0 || bytes.size() / 8 > static_cast<size_t>(kKept)) return std::nullopt;
  EventTimeWatermark w;
  for (size_t at = 0; at < bytes.size(); at += 8) {
    uint64_t x = 0;
    for (int i = 0; i < 8; ++i)
      x |= static_cast<uint64_t>(static_cast<uint8_t>(bytes[at + i])) << (8 * i);
    w.times_.push_back(static_cast<int64_t>(x));
  }
  if (!std::is_sorted(w.times_.begin(), w.times_.end(), std::greater<>())) return std::nullopt;
  return w;
}

std::string EventTimeWatermark::Encode() const {
  std::string out;
  out.reserve(times_.size() * 8);
  for (int64_t t : times_) {
    for (int i = 0; i < 8; ++i)
      out.push_back(static_cast<char>(static_cast<uint64_t>(t) >> (8 * i)));
  }
  return out;
}

void EventTimeWatermark::Add(int64_t t) {
  // Most events of a stream in time order are the new largest: the insert is
  // a shift of at most kKept times.
  if (times_.size() == static_cast<size_t>(kKept) && t <= times_.back()) return;
  times_.insert(std::upper_bound(times_.begin(), times_.end(), t, std::greater<>()), t);
  if (times_.size() > static_cast<size_t>(kKept)) times_.pop_back();
}

int64_t EventTimeWatermark::Kth(int32_t k) const {
  if (k < 1 || static_cast<size_t>(k) > times_.size()) return 0;
  return times_[static_cast<size_t>(k) - 1];
}

}  // namespace recur
