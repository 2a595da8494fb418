// The simulator: a deterministic (by seed) synthetic event stream of several shops,
// whose generating process makes activity decline and repurchase depend on the
// catalog's features, with noise, so both targets are learnable but not trivial.
// The process is documented in ops/README.md ("The simulator").
//
//   recur::SimulatorOptions o;  o.shops = 3; o.customers_per_shop = 1000; o.days = 365;
//   absl::Status s = recur::Simulate(o, [&](const recur::v1::Event& e) {
//     return sink.Write(e);   // events arrive in (emission) time order
//   });
#ifndef RECUR_OPS_SIMULATOR_H_
#define RECUR_OPS_SIMULATOR_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "proto/recur.pb.h"

namespace recur {

struct SimulatorOptions {
  int shops = 3;
  int customers_per_shop = 1000;
  int days = 365;
  uint64_t seed = 42;
  int64_t start_ms = 1'735'689'600'000;  // 2025-01-01T00:00:00Z
  double duplicate_rate = 0.0;           // share of events emitted a second time (same event_id)
  double late_rate = 0.0;                // share of events emitted 1..3 days after their event time
  // A shift for drift tests: session minutes x minutes_factor on days from
  // shift_from_ms on. Only those values change: every random draw stays.
  double minutes_factor = 1.0;
  int64_t shift_from_ms = 0;
};

// Calls `sink` for every event, day by day; stops at the first non-OK status.
absl::Status Simulate(const SimulatorOptions& options,
                      const std::function<absl::Status(const v1::Event&)>& sink);

}  // namespace recur

#endif  // RECUR_OPS_SIMULATOR_H_
