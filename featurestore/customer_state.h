// CustomerState: everything recur remembers about one (shop, customer), as UTC day
// buckets over the retention horizon, and the one place where the feature catalog
// is computed from it. The streaming path (FeatureStore) and the trainer both call
// ComputeFeatures() on this type, so online and offline features can not drift.
//
//   recur::CustomerState s;
//   s.Apply(event);
//   recur::Features f = s.ComputeFeatures(as_of_ms, horizon_first_day);
//
// Amounts are kept as integer micro-units of the shop's currency, so sums are exact
// and independent of the order events arrive in (byte-identical state on replay).
// Not thread-safe; a value type.
#ifndef RECUR_FEATURESTORE_CUSTOMER_STATE_H_
#define RECUR_FEATURESTORE_CUSTOMER_STATE_H_

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "featurestore/catalog.h"
#include "featurestore/id_set.h"
#include "proto/recur.pb.h"

namespace recur {

// An event id is remembered while its event day is within this many days of the
// customer's latest event of the same kind (one kind = one topic, read in order),
// so dedupe does not depend on how the topics' reads interleave.
inline constexpr int32_t kDedupeDays = 7;
inline constexpr int kNumEventKinds = 5;  // purchase, session, cart, marketing, profile
// An event's kind as 0 .. kNumEventKinds - 1 (a valid event has one).
inline int EventKindIndex(const v1::Event& e) {
  return std::clamp(static_cast<int>(e.kind_case()) - static_cast<int>(v1::Event::kPurchase), 0,
                    kNumEventKinds - 1);
}
// The default cap on events applied per customer, kind and UTC day (see
// CustomerState::Apply): far beyond any person (one session every 9 s around the
// clock), well below a bot's.
inline constexpr uint32_t kDefaultMaxEventsPerDay = 10'000;

// What Apply did with an event.
enum class ApplyOutcome {
  kApplied,
  kDuplicate,    // its id is still remembered for its kind: counted once
  kRateLimited,  // the cap of its customer, kind and day is reached: not applied
};

// Converts a currency amount to integer micro-units (round half away from zero).
int64_t ToMicros(double amount);
// Stable 64-bit FNV-1a hash of an event id (the dedupe key).
uint64_t HashEventId(std::string_view event_id);

struct CategoryItems {
  std::string name;
  uint32_t items = 0;
};

// Aggregates of one UTC day. Counts are event counts unless named otherwise.
struct DayBucket {
  int32_t day = 0;
  uint32_t orders = 0;
  uint32_t purchase_lines = 0;
  uint32_t promo_lines = 0;
  int64_t revenue_micros = 0;
  int64_t profit_micros = 0;
  uint32_t sessions = 0;
  uint32_t pages = 0;
  uint32_t categories_viewed = 0;
  uint32_t service_errors = 0;
  int64_t minutes_milli = 0;  // site minutes x 1000
  uint32_t unpaid_cart_items = 0;
  uint32_t marketing_sent = 0;
  uint32_t marketing_opened = 0;
  uint32_t marketing_clicked = 0;
  std::vector<CategoryItems> category_items;  // purchased items per category, sorted by name
};

// Purchase aggregates of day buckets dropped by Prune: what the lifetime
// features keep of a customer's history beyond the retention horizon.
struct PrunedPurchases {
  int64_t orders = 0;
  int64_t revenue_micros = 0;
  int64_t items = 0;
  int32_t first_day = 0;  // first and last day with an order (0 when orders == 0)
  int32_t last_day = 0;
  friend bool operator==(const PrunedPurchases&, const PrunedPurchases&) = default;
};

struct ProfileEntry {
  int64_t time_ms = 0;
  uint64_t id_hash = 0;  // tie-break for equal times, so the result is order-independent
  int32_t tier = 0;      // recur.v1.ServiceTier
  bool consent = false;
  int64_t registration_ms = 0;
};

// The event ids of one kind seen on one UTC day (the dedupe memory): a few
// inline, a hash set beyond (featurestore/id_set.h), so a customer with
// 200,000 events a day (a bot) costs O(1) per event; the encoding sorts the
// ids, so the bytes do not depend on arrival order.
struct SeenDay {
  int32_t kind = 0;  // 0..kNumEventKinds-1
  int32_t day = 0;   // the events' own UTC day
  IdSet ids;
};

class CustomerState {
 public:
  // Applies a validated event. Returns false (and changes nothing) when its id
  // is still remembered for its kind (see kDedupeDays): a duplicate.
  bool Apply(const v1::Event& event) { return Apply(event, 0) == ApplyOutcome::kApplied; }
  // The same with a cap: when `max_per_day` (> 0) ids of the event's kind and
  // UTC day are remembered already, the event is kRateLimited and changes
  // nothing. Ids are remembered within kDedupeDays of the kind's latest day, so
  // the cap holds over that window; it depends only on the order of the kind's
  // own events (one topic, read in order), never on how batches or topics
  // interleave. A duplicate is a duplicate even beyond the cap.
  ApplyOutcome Apply(const v1::Event& event, uint32_t max_per_day);

  // Drops day buckets before `horizon_first_day` and profile entries superseded
  // before it. The dropped days' purchases are added to pruned_purchases(), so
  // the lifetime features survive.
  void Prune(int32_t horizon_first_day);

  // The feature catalog as of `as_of_ms`. Windowed features use only buckets on
  // or after `horizon_first_day`; lifetime features (orders/revenue/items
  // lifetime, days since first/last purchase, mean days between orders) use
  // every purchase on or before T, pruned or not, so they do not depend on when
  // the store pruned. Resolution is one UTC day: an event counts as of T when
  // its day is on or before T's day (docs/DESIGN.md, "Feature catalog"). T's
  // day must not be before a pruned day: every caller's T is inside the horizon.
  Features ComputeFeatures(int64_t as_of_ms, int32_t horizon_first_day) const;

  // The population rule, one for the trainer and the scorer (docs/DESIGN.md,
  // "Lifetime aggregates and the population"): the customer is in the
  // population at T when it has a purchase on or before T's day (pruned ones
  // included), a profile on or before it, or any activity on a day in
  // [horizon_first_day, T]. Like the features, it does not depend on when the
  // store pruned.
  bool InPopulation(int64_t as_of_ms, int32_t horizon_first_day) const;

  // Orders and revenue over the days [first_day, last_day] (labels, baselines).
  struct PurchaseTotals {
    int64_t orders = 0;
    int64_t revenue_micros = 0;
  };
  PurchaseTotals PurchasesBetween(int32_t first_day, int32_t last_day) const;

  // The whole state in one value (the record of encoding v4 and before; the
  // equality of states, tests).
  void Encode(std::string* out) const;
  // Returns DataLoss when `bytes` is not a valid encoding.
  static absl::Status Decode(std::string_view bytes, CustomerState* out);

  // The per-day layout a store keeps (encoding v5, docs/DESIGN.md "State
  // layout"): a head and one part per older UTC day, so a change writes the
  // head and the days it changed, not the whole history. The head holds the
  // profiles, the kinds' latest days, the last event time, the pruned
  // purchases and the days from TailStart() on (the last kDedupeDays days up
  // to the latest event of any kind: where events and ids change); a part holds one
  // earlier day's bucket and dedupe ids.
  void EncodeHead(std::string* out) const;
  // The part of `day`; false (and `out` empty) when the day holds nothing.
  bool EncodeDay(int32_t day, std::string* out) const;
  // The first day the head holds (only grows: the kinds' latest days do).
  int32_t TailStart() const;
  struct DayPart {
    int32_t day = 0;
    std::string_view bytes;
  };
  // Whether `bytes` is a head (parts follow), not a whole record.
  static bool IsHead(std::string_view bytes);
  // Decodes a head and its parts (in increasing day order, each before the
  // head's TailStart()), or a whole record of encoding v1..v4 with no parts:
  // then none of its days is a part yet, so the next write stores them as
  // parts. DataLoss when invalid.
  static absl::Status DecodeParts(std::string_view head, std::span<const DayPart> parts,
                                  CustomerState* out);
  // The parts to write since the last call (or decode): the days before
  // TailStart() that changed (events, forgotten ids, pruning) or that the head
  // held at the last call and no longer does; in order. `*tail` gets what
  // RestoreChangedParts needs.
  void TakeChangedParts(std::vector<int32_t>* days, int32_t* tail);
  // Gives back what TakeChangedParts took, when its write failed.
  void RestoreChangedParts(const std::vector<int32_t>& days, int32_t tail) {
    for (int32_t d : days) MarkChanged(d);
    parts_.below = tail;
  }

  const std::vector<DayBucket>& days() const { return days_; }
  const std::vector<ProfileEntry>& profiles() const { return profiles_; }
  const PrunedPurchases& pruned_purchases() const { return pruned_; }
  // The latest event time applied (0 if none): the as-of time of the customer's
  // event-driven score, independent of how events were batched.
  int64_t last_event_ms() const { return last_event_ms_; }
  bool empty() const {
    return days_.empty() && profiles_.empty() && seen_.empty() && pruned_.orders == 0;
  }
  // Whether Prune(horizon_first_day) would change anything: O(1), so a store can
  // prune on every touch without paying for it.
  bool NeedsPrune(int32_t horizon_first_day) const;
  // Asks the CPU for the memory Apply and Encode read (a hint, no effect on
  // the state): a loop over scattered customers calls it a few ahead.
  void Prefetch() const {
    __builtin_prefetch(days_.data());
    if (days_.size() > 1) __builtin_prefetch(&days_.back());
    __builtin_prefetch(seen_.data());
    __builtin_prefetch(profiles_.data());
  }
  // Approximate heap and object bytes of this state (the store's cache budget).
  size_t ApproxBytes() const;

  friend bool operator==(const CustomerState& a, const CustomerState& b);

 private:
  struct Codec;  // customer_state_codec.cc
  friend struct Codec;
  DayBucket& BucketFor(int32_t day);
  // Appends the days in [first, end) with a bucket or ids, in order, once each.
  void DaysIn(int32_t first, int32_t end, std::vector<int32_t>* out) const;
  // Notes a change of `day`'s part; a day the head holds needs none.
  void MarkChanged(int32_t day) {
    if (day >= TailStart()) return;
    if (parts_.changed.empty() || parts_.changed.back() < day) {
      parts_.changed.push_back(day);
      return;
    }
    auto it = std::lower_bound(parts_.changed.begin(), parts_.changed.end(), day);
    if (*it != day) parts_.changed.insert(it, day);
  }

  std::vector<ProfileEntry> profiles_;  // sorted by (time_ms, id_hash)
  std::vector<SeenDay> seen_;           // sorted by (kind, day): order-independent
  std::array<int32_t, kNumEventKinds> kind_max_day_ = {0, 0, 0, 0, 0};  // latest event day per kind
  std::vector<DayBucket> days_;  // sorted by day, one per day with activity
  int64_t last_event_ms_ = 0;    // largest event time applied
  PrunedPurchases pruned_;       // purchases of the days Prune dropped
  // Not part of the state (not encoded, not compared): what the store's
  // flush needs of its own copy. A copy starts afresh and never reads the
  // source's: readers copy states under a shared lock while the flush takes
  // these (TakeChangedParts) under the same shared lock.
  struct PartTracking {
    std::vector<int32_t> changed;  // parts changed since TakeChangedParts, in order
    // The head's first day as of then: days before it are parts on disk (the
    // lowest int: none is).
    int32_t below = std::numeric_limits<int32_t>::min();
    PartTracking() = default;
    PartTracking(const PartTracking&) {}
    PartTracking& operator=(const PartTracking&) {
      *this = PartTracking();
      return *this;
    }
    PartTracking(PartTracking&&) = default;
    PartTracking& operator=(PartTracking&&) = default;
  };
  PartTracking parts_;
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_CUSTOMER_STATE_H_
