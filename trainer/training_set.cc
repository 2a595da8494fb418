#include "trainer/training_set.h"

#include <algorithm>
#include <limits>

#include "scorer/model.h"

namespace recur {

DataRange RangeOf(StateDir& dir) {
  DataRange r{std::numeric_limits<int32_t>::min(), 0};
  for (int32_t p = 0; p < dir.partitions(); ++p) {
    FeatureStore* s = dir.store(p);
    if (s->max_event_time_ms() <= 0) continue;
    r.first_day = std::max(r.first_day, s->horizon_first_day());
    r.last_day = std::max(r.last_day, DayOf(s->max_event_time_ms()));
  }
  return r;
}

absl::StatusOr<TrainingSet> BuildTrainingSet(StateDir& dir, const std::vector<int64_t>& cutoffs,
                                             const LabelOptions& labels, const Progress& progress) {
  TrainingSet set;
  const DataRange range = RangeOf(dir);
  int64_t done = 0;
  for (int32_t p = 0; p < dir.partitions(); ++p) {
    FeatureStore* store = dir.store(p);
    absl::Status s = store->ForEachCustomer([&](const CustomerKey& key, const CustomerState& state) {
      for (int64_t t : cutoffs) {
        std::optional<float> y = Label(state, t, labels);
        if (!y) continue;
        Features f = state.ComputeFeatures(t, range.first_day);
        const size_t at = set.x.size();
        set.x.resize(at + kNumFeatures);
        FeatureRow(f, &set.x[at]);  // the scorer's assembly: one schema for both
        set.y.push_back(*y);
        set.cutoff_ms.push_back(t);
        set.shop_id.push_back(key.shop_id);
        set.top_category.push_back(f.top_category_6m);
      }
      if (progress && (++done % 10'000 == 0)) progress(done, 0);
      return absl::OkStatus();
    });
    if (!s.ok()) return s;
  }
  return set;
}

}  // namespace recur
