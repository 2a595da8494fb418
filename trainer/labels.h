// Training targets (docs/DESIGN.md, "Labels") and the cutoffs they are taken at,
// computed from the same day buckets the pipeline keeps, so a training row at
// cutoff T only ever sees features of days <= T and labels of days > T.
//
//   auto cutoffs = recur::MonthEndCutoffs(first_day, last_day, /*label_days=*/30);
//   std::optional<float> y = recur::Label(state, cutoffs[0], recur::LabelOptions{});
#ifndef RECUR_TRAINER_LABELS_H_
#define RECUR_TRAINER_LABELS_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "featurestore/customer_state.h"
#include "scorer/targets.h"

namespace recur {

struct LabelOptions {
  Target target = Target::kRepurchase30d;
  int repurchase_days = 30;  // repurchase: >= 1 order in (T, T + days]
  int decline_days = 90;     // decline: revenue (T, T + days] < ratio x revenue (T - days, T]
  double decline_ratio = 0.8;
};

// Target, ParseTarget and TargetName: scorer/targets.h.
// Days after the cutoff that the label needs to see.
int LabelDays(const LabelOptions& o);
// Days up to and including the cutoff's that the label reads (decline: the
// revenue of (T - days, T]; repurchase: none).
int LookbackDays(const LabelOptions& o);

// The end (last millisecond) of every UTC month's last day T with
// T - lookback_days + 1 >= first_day and T + label_days <= last_day: only
// cutoffs whose label windows, before and after, are complete.
std::vector<int64_t> MonthEndCutoffs(int32_t first_day, int32_t last_day, int label_days,
                                     int lookback_days = 0);

// The label of one customer at cutoff T, or nullopt when the customer is not
// part of the population at T (CustomerState::InPopulation, the scorer's rule
// too); for decline also when it has no revenue in (T - days, T]. Days before
// `horizon_first_day` are
// ignored, whether the store has pruned them yet or not (pruning happens when
// a customer is written, so it depends on batching): the label depends only
// on the events and the horizon.
std::optional<float> Label(const CustomerState& state, int64_t cutoff_ms, const LabelOptions& o,
                           int32_t horizon_first_day = std::numeric_limits<int32_t>::min());

}  // namespace recur

#endif  // RECUR_TRAINER_LABELS_H_
