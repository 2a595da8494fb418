// How a caller recognises what went wrong with a feature store without reading
// the message text: FeatureStore::Open (and every other store call) returns an
// absl::Status whose code carries the retry policy, and, where the code alone
// is ambiguous, a payload naming the cause.
//
//   auto store = recur::FeatureStore::Open(o);
//   if (!store.ok() && recur::IsStoreLocked(store.status())) {
//     // another process holds the store's RocksDB LOCK: wait, or tell the user
//   }
#ifndef RECUR_FEATURESTORE_STORE_ERRORS_H_
#define RECUR_FEATURESTORE_STORE_ERRORS_H_

#include "absl/status/status.h"

namespace recur {

// Payload type URL on the FailedPrecondition returned when another process
// holds a store's LOCK (other FailedPreconditions, e.g. "not a recur store",
// do not carry it).
inline constexpr char kStoreLockedPayload[] = "recur/store-locked";

// True when `status` says the store is locked by another process.
inline bool IsStoreLocked(const absl::Status& status) {
  return status.code() == absl::StatusCode::kFailedPrecondition &&
         status.GetPayload(kStoreLockedPayload).has_value();
}

}  // namespace recur

#endif  // RECUR_FEATURESTORE_STORE_ERRORS_H_
