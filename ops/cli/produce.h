// Publishing events to the input topics, shared by `recur produce` (JSON-lines
// files) and `recur simulate --brokers` (the simulator's stream).
//
//   int rc = recur::cli::ProduceEvents(props, [&](const recur::cli::EventSink& send,
//                                                int64_t* rejected) {
//     return recur::Simulate(options, send);
//   });
#ifndef RECUR_OPS_CLI_PRODUCE_H_
#define RECUR_OPS_CLI_PRODUCE_H_

#include <cstdint>
#include <functional>

#include "absl/status/status.h"
#include "proto/recur.pb.h"
#include "streams/kafka.h"

namespace recur::cli {

using EventSink = std::function<absl::Status(const v1::Event&)>;

// Creates an idempotent producer from `props`, calls `feed` with a sink that sends
// each event to its kind's topic keyed shop_id/customer_id, flushes and prints
// "produced N events (M delivered), R rejected" on stderr, R being what `feed`
// counted in *rejected. Returns the exit code: kExitFailure (with the message) when
// `feed` or the flush fails, kExitBadInput when R > 0, else kExitOk.
int ProduceEvents(
    const KafkaProperties& props,
    const std::function<absl::Status(const EventSink& send, int64_t* rejected)>& feed);

}  // namespace recur::cli

#endif  // RECUR_OPS_CLI_PRODUCE_H_
