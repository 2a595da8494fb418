#include "trainer/training_set.h"

#include <algorithm>
#include <limits>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "absl/strings/str_cat.h"
#include "base/time.h"

namespace recur {

DataRange RangeOf(StateDir& dir) {
  DataRange r{std::numeric_limits<int32_t>::min(), 0};
  for (int32_t p = 0; p < dir.partitions(); ++p) {
    FeatureStore* s = dir.store(p);
    if (s->max_event_time_ms() <= 0) continue;
    r.first_day = std::max(r.first_day, s->horizon_first_day());
    r.last_day = std::max(r.last_day, DayOf(s->max_event_time_ms()));
    r.retention_days = r.retention_days == 0 ? s->retention_days()
                                             : std::min(r.retention_days, s->retention_days());
  }
  return r;
}

std::string HistoryNote(const DataRange& range) {
  return absl::StrCat("history from ", FormatDay(range.first_day), ": the stores keep ",
                      range.retention_days,
                      " days (their retention horizon, set with --retention-days of recur import, "
                      "run or replay when they were created)");
}

namespace {

// The progress total. RocksDB's key estimate counts a record rewritten since
// the last compaction once per version (2.7x the customers on a freshly built
// 1M-customer store), so as each partition is finished its estimate is replaced
// by its count and the remaining estimates are scaled by the ratio seen so far.
class CustomerTotal {
 public:
  explicit CustomerTotal(StateDir& dir) {
    for (int32_t p = 0; p < dir.partitions(); ++p) {
      estimates_.push_back(std::max<int64_t>(0, dir.store(p)->EstimateCustomers()));
      remaining_ += estimates_.back();
    }
  }
  int64_t total() const {
    const double ratio =
        estimated_ > 0 ? static_cast<double>(counted_) / static_cast<double>(estimated_) : 1.0;
    return counted_ + static_cast<int64_t>(ratio * static_cast<double>(remaining_));
  }
  void PartitionDone(int32_t p, int64_t count) {
    counted_ += count;
    estimated_ += estimates_[p];
    remaining_ -= estimates_[p];
  }

 private:
  std::vector<int64_t> estimates_;
  int64_t counted_ = 0, estimated_ = 0, remaining_ = 0;
};

}  // namespace

TrainingSet ExtractRows(TrainingSet* set, const std::function<bool(size_t)>& keep_out) {
  TrainingSet out;
  size_t w = 0;
  const size_t n = set->rows();
  for (size_t r = 0; r < n; ++r) {
    const float* row = &set->x[r * kNumFeatures];
    if (keep_out(r)) {
      out.x.insert(out.x.end(), row, row + kNumFeatures);
      out.y.push_back(set->y[r]);
      out.cutoff_ms.push_back(set->cutoff_ms[r]);
      out.shop_id.push_back(std::move(set->shop_id[r]));
      out.customer_id.push_back(std::move(set->customer_id[r]));
      out.top_category.push_back(std::move(set->top_category[r]));
      continue;
    }
    if (w != r) {  // w < r: moving rows forward never overwrites one not yet read
      std::copy(row, row + kNumFeatures, &set->x[w * kNumFeatures]);
      set->y[w] = set->y[r];
      set->cutoff_ms[w] = set->cutoff_ms[r];
      set->shop_id[w] = std::move(set->shop_id[r]);
      set->customer_id[w] = std::move(set->customer_id[r]);
      set->top_category[w] = std::move(set->top_category[r]);
    }
    ++w;
  }
  set->x.resize(w * kNumFeatures);
  set->y.resize(w);
  set->cutoff_ms.resize(w);
  set->shop_id.resize(w);
  set->customer_id.resize(w);
  set->top_category.resize(w);
  return out;
}

void EncodeCategories(TrainingSet* set, const CategoryVocab& vocab) {
  for (size_t r = 0; r < set->rows(); ++r)
    set->x[r * kNumFeatures + kTopCategory6m] = vocab.Code(set->top_category[r]);
}

absl::StatusOr<TrainingSet> BuildTrainingSet(StateDir& dir, const std::vector<int64_t>& cutoffs,
                                             const LabelOptions& labels, const Progress& progress) {
  TrainingSet set;
  const DataRange range = RangeOf(dir);
  int64_t done = 0;
  CustomerTotal total(dir);
  for (int32_t p = 0; p < dir.partitions(); ++p) {
    const int64_t before = done;
    FeatureStore* store = dir.store(p);
    absl::Status s =
        store->ForEachCustomer([&](const CustomerKey& key, const CustomerState& state) {
          for (int64_t t : cutoffs) {
            std::optional<float> y = Label(state, t, labels, range.first_day);
            if (!y) continue;
            Features f = state.ComputeFeatures(t, range.first_day);
            const size_t at = set.x.size();
            set.x.resize(at + kNumFeatures);
            FeatureRow(f, &set.x[at]);  // the scorer's assembly: one schema for both
            set.y.push_back(*y);
            set.cutoff_ms.push_back(t);
            set.shop_id.push_back(key.shop_id);
            set.customer_id.push_back(key.customer_id);
            set.top_category.push_back(f.top_category_6m);
          }
          if (progress && (++done % 1'000 == 0)) progress(done, total.total());
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    total.PartitionDone(p, done - before);
  }
  set.customers_read = done;
  return set;
}

}  // namespace recur

namespace recur {

absl::StatusOr<TrainingSet> BuildLabelledSet(StateDir& dir, const std::vector<LabelRow>& labels,
                                             std::vector<int>* missing_lines,
                                             const Progress& progress) {
  // Label rows by customer ("shop/customer"), each customer's by (as_of, line).
  std::unordered_map<std::string, std::vector<const LabelRow*>> by_key;
  for (const auto& l : labels) by_key[l.key.Encode()].push_back(&l);
  for (auto& [key, v] : by_key) {
    std::sort(v.begin(), v.end(), [](const LabelRow* a, const LabelRow* b) {
      return std::tie(a->as_of_ms, a->line) < std::tie(b->as_of_ms, b->line);
    });
  }
  TrainingSet set;
  const DataRange range = RangeOf(dir);
  std::unordered_set<std::string> found;
  int64_t done = 0;
  CustomerTotal total(dir);
  for (int32_t p = 0; p < dir.partitions(); ++p) {
    const int64_t before = done;
    absl::Status s =
        dir.store(p)->ForEachCustomer([&](const CustomerKey& key, const CustomerState& state) {
          if (progress && (++done % 1'000 == 0)) progress(done, total.total());
          auto it = by_key.find(key.Encode());
          if (it == by_key.end()) return absl::OkStatus();
          found.insert(it->first);
          for (const LabelRow* l : it->second) {
            Features f = state.ComputeFeatures(l->as_of_ms, range.first_day);
            const size_t at = set.x.size();
            set.x.resize(at + kNumFeatures);
            FeatureRow(f, &set.x[at]);
            set.y.push_back(l->label);
            set.cutoff_ms.push_back(l->as_of_ms);
            set.shop_id.push_back(key.shop_id);
            set.customer_id.push_back(key.customer_id);
            set.top_category.push_back(f.top_category_6m);
          }
          return absl::OkStatus();
        });
    if (!s.ok()) return s;
    total.PartitionDone(p, done - before);
  }
  set.customers_read = done;
  if (missing_lines != nullptr) {
    missing_lines->clear();
    for (const auto& l : labels) {
      if (!found.count(l.key.Encode())) missing_lines->push_back(l.line);
    }
  }
  return set;
}

}  // namespace recur
