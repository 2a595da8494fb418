// Validation of decoded events: proto3 has no required fields and no ranges, so
// every field the feature math relies on is checked here, once, for the store and
// for the pipeline (which dead-letters what fails, with the short reason).
//
//   std::string reason;
//   absl::Status s = recur::ValidateEvent(event, &reason);
//   // s.message() == "purchase.lines[0].quantity: 0 is not in [1, 10000]"
//   // reason == "invalid_quantity"
#ifndef RECUR_FEATURESTORE_VALIDATE_H_
#define RECUR_FEATURESTORE_VALIDATE_H_

#include <cstdint>
#include <span>
#include <string>

#include "absl/status/status.h"
#include "proto/recur.pb.h"

namespace recur {

inline constexpr size_t kMaxIdBytes = 128;
inline constexpr uint32_t kMaxQuantity = 10'000;
inline constexpr double kMaxAmount = 1e9;
// Plausible event times: 2000-01-01 .. 2100-01-01 UTC.
inline constexpr int64_t kMinEventTimeMs = 946'684'800'000;
inline constexpr int64_t kMaxEventTimeMs = 4'102'444'800'000;

// OK, or InvalidArgument whose message starts with the offending field's path.
// `reason`, when given, receives a short DLQ reason: missing_id, invalid_id,
// invalid_time, missing_kind, invalid_amount, invalid_quantity, invalid_field.
absl::Status ValidateEvent(const v1::Event& event, std::string* reason = nullptr);

// Every event of a batch (FeatureStore::ApplyBatch): OK, or InvalidArgument
// "event[i] (id): field: problem" for the first that fails ValidateEvent or, when
// retention_days > 0, lies before the retention horizon of the largest event
// time so far (max_event_time_ms, then the batch's own).
absl::Status ValidateBatch(std::span<const v1::Event> events, int64_t max_event_time_ms,
                           int32_t retention_days);

}  // namespace recur

#endif  // RECUR_FEATURESTORE_VALIDATE_H_
