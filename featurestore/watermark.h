// EventTimeWatermark: a store's event-time watermark that one outlier can not
// move — the k-th largest event time applied to the store (k =
// FeatureStore::Options::watermark_events), kept as the kKept largest event
// times applied so far and stored with the offsets in every flush.
//
//   recur::EventTimeWatermark w;
//   for (const auto& e : applied) w.Add(e.event_time_ms());
//   int64_t t = w.Kth(recur::kDefaultWatermarkEvents);  // 0: fewer events so far
//
// Why the k-th largest (docs/DESIGN.md "The watermark resists an outlier"): it
// is a function of the set of events applied, not of their order or batching,
// so a replay, a restart after kill -9 or another interleaving of the input
// topics gives the same watermark; it never goes back (adding a time can only
// raise the k-th largest); and a single event far ahead — or up to k-1 of them —
// leaves it with the rest of the stream, while k events past a day boundary
// move it there.
// Thread-safety: a value type (the store guards its copy with its mutex).
#ifndef RECUR_FEATURESTORE_WATERMARK_H_
#define RECUR_FEATURESTORE_WATERMARK_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace recur {

// The pipeline's k: a day boundary is crossed once 4 events are past it.
inline constexpr int32_t kDefaultWatermarkEvents = 4;

class EventTimeWatermark {
 public:
  // The largest k a store can answer for (the times it keeps).
  static constexpr int32_t kKept = 32;

  // A store written before the watermark was kept: its max event time stands
  // for all kKept times, so the watermark is what it was (the max) until newer
  // events arrive.
  static EventTimeWatermark Seeded(int64_t max_event_time_ms);
  // kKept or fewer fixed64 times, largest first; nullopt when malformed.
  static std::optional<EventTimeWatermark> Decode(std::string_view bytes);
  std::string Encode() const;

  // One applied event (a duplicate is not applied, so not added).
  void Add(int64_t event_time_ms);
  // The k-th largest time added (1 <= k <= kKept); 0 while fewer than k were added.
  int64_t Kth(int32_t k) const;

  bool operator==(const EventTimeWatermark& other) const = default;

 private:
  std::vector<int64_t> times_;  // the kKept largest, largest first
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_WATERMARK_H_
