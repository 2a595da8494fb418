// ScoreLedger: the score side of one partition store — which customers wait for
// a score, each customer's last delivered score, and the scorer's meta entries
// (the re-scored day, the segment quantiles). It lives in the partition's RocksDB
// store because it must move with the state: pending marks are written by
// FeatureStore::ApplyBatch in the same WriteBatch as the state and offsets they
// belong to (Options::mark_pending), so a crash can repeat a score but never
// lose one (docs/DESIGN.md "Scores").
//
//   ScoreLedger& ledger = store->ledger();
//   auto pending = ledger.ReadPending();                 // score these first after a crash
//   ledger.Commit({{key, score_bytes}}, {key}, {});      // delivered: last score, mark cleared
//
// Thread-safety: as the FeatureStore that owns it; it lives as long as the store.
#ifndef RECUR_FEATURESTORE_SCORE_LEDGER_H_
#define RECUR_FEATURESTORE_SCORE_LEDGER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "featurestore/customer_state.h"
#include "featurestore/types.h"

namespace recur {

class ScoreLedger {
 public:
  virtual ~ScoreLedger() = default;

  // Customers marked pending (touched, score not yet delivered), in key order.
  virtual absl::StatusOr<std::vector<CustomerKey>> ReadPending() = 0;

  // Records delivered scores: `published` (customer, the score's bytes) become
  // each customer's last score, the pending marks of `done` are cleared and
  // `meta` entries (name -> bytes) are stored (write-through: in one WriteBatch
  // now; write-back: with the next flush). `scored_at` is the store's
  // applied_batches() when the scores were computed: a customer touched again by
  // a later batch keeps its mark, since the score for that touch is still owed.
  virtual absl::Status Commit(const std::vector<std::pair<CustomerKey, std::string>>& published,
                              const std::vector<CustomerKey>& done,
                              const std::vector<std::pair<std::string, std::string>>& meta,
                              uint64_t scored_at = UINT64_MAX) = 0;

  // The bytes of a customer's last delivered score (NotFound if none).
  virtual absl::StatusOr<std::string> GetLastScore(const CustomerKey& key) = 0;
  // A meta entry written by Commit (NotFound if none).
  virtual absl::StatusOr<std::string> GetMeta(const std::string& name) = 0;

  // Every customer in key order with its state and last score (nullptr if
  // none), on one consistent view.
  virtual absl::Status ForEachCustomerWithScore(
      const std::function<absl::Status(const CustomerKey&, const CustomerState&,
                                       const std::string* last_score)>& fn) = 0;

  // One page of a scan that other work may interleave with: up to `max`
  // customers whose wire key ("shop/customer") sorts after `after` ("": from
  // the first), in key order, each with its current state (the cached one when
  // the store caches it) and last score (nullptr if none). `fn` runs under the
  // store's lock, one customer at a time: it must not call back into the
  // store. It does not flush, so a customer never flushed yet (only in the
  // write-back cache) is not visited: flush before the first page to include
  // every customer that exists then. Returns the wire key of the last customer
  // visited, or "" when the scan reached the end.
  virtual absl::StatusOr<std::string> ScanPage(
      const std::string& after, size_t max,
      const std::function<absl::Status(const CustomerKey&, const CustomerState&,
                                       const std::string* last_score)>& fn) = 0;
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_SCORE_LEDGER_H_
