#include "trainer/labels.h"

#include <algorithm>

#include "featurestore/calendar.h"
#include "featurestore/types.h"

namespace recur {

int LabelDays(const LabelOptions& o) {
  return o.target == Target::kRepurchase30d ? o.repurchase_days : o.decline_days;
}

int LookbackDays(const LabelOptions& o) {
  return o.target == Target::kActivityDecline90d ? o.decline_days : 0;
}

std::vector<int64_t> MonthEndCutoffs(int32_t first_day, int32_t last_day, int label_days,
                                     int lookback_days) {
  std::vector<int64_t> out;
  for (int32_t month = MonthStart(first_day, 0); month <= last_day; month = MonthStart(month, -1)) {
    const int32_t end = MonthStart(month, -1) - 1;  // last day of this month
    if (end - std::max(lookback_days, 1) + 1 < first_day || end + label_days > last_day) continue;
    out.push_back((static_cast<int64_t>(end) + 1) * kMillisPerDay - 1);
  }
  return out;
}

std::optional<float> Label(const CustomerState& state, int64_t cutoff_ms, const LabelOptions& o,
                           int32_t horizon_first_day) {
  const int32_t t = DayOf(cutoff_ms);
  // Purchases of [first, last], never of days before the horizon.
  auto purchases = [&](int32_t first, int32_t last) {
    return state.PurchasesBetween(std::max(first, horizon_first_day), last);
  };
  // The population rule of the trainer and the scorer alike (customer_state.h).
  if (!state.InPopulation(cutoff_ms, horizon_first_day)) return std::nullopt;
  if (o.target == Target::kRepurchase30d) {
    return purchases(t + 1, t + o.repurchase_days).orders > 0 ? 1.0f : 0.0f;
  }
  const int64_t before = purchases(t - o.decline_days + 1, t).revenue_micros;
  if (before <= 0) return std::nullopt;
  const int64_t after = purchases(t + 1, t + o.decline_days).revenue_micros;
  return static_cast<double>(after) < o.decline_ratio * static_cast<double>(before) ? 1.0f : 0.0f;
}

}  // namespace recur
