#include "scorer/policy.h"

#include <algorithm>
#include <cmath>

#include "featurestore/types.h"
#include "scorer/targets.h"

namespace recur {
namespace {

int64_t DayStartMs(int32_t day) { return static_cast<int64_t>(day) * kMillisPerDay; }

bool SameSegments(const v1::CustomerScore& a, const v1::CustomerScore& b) {
  if (a.segments_size() != b.segments_size()) return false;
  for (int i = 0; i < a.segments_size(); ++i) {
    if (a.segments(i) != b.segments(i)) return false;
  }
  return true;
}

}  // namespace

int64_t EventScoreAsOf(int64_t last_event_ms, int64_t watermark_ms, int32_t rescored_day) {
  const int64_t latest = last_event_ms > 0 ? last_event_ms : watermark_ms;
  return std::max(latest, DayStartMs(rescored_day));
}

int64_t RescoreAsOf(int64_t last_event_ms, int32_t day) {
  return std::max(DayStartMs(day), last_event_ms);
}

bool RescoreDue(int64_t watermark_ms, int32_t rescored_day) {
  return watermark_ms > 0 && DayOf(watermark_ms) > rescored_day;
}

bool ShouldPublish(const v1::CustomerScore* last, const v1::CustomerScore& next, double epsilon) {
  if (last == nullptr) return true;
  for (const TargetInfo& t : kTargets) {
    // Written as "within" so that a NaN on either side counts as a change.
    if (!(std::abs(Probability(*last, t.target) - Probability(next, t.target)) <= epsilon)) {
      return true;
    }
  }
  if (!SameSegments(*last, next)) return true;
  for (const TargetInfo& t : kTargets) {
    if (ModelVersion(*last, t.target) != ModelVersion(next, t.target)) return true;
  }
  return false;
}

}  // namespace recur
