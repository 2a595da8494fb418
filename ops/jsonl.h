// The JSON-lines form of events: Protobuf's JSON mapping of recur.v1.Event, one
// event per line, snake_case field names on output (both spellings on input).
//
//   auto e = recur::ParseEventJson(R"({"event_id":"e1","shop_id":"s",...})");
//   std::string line = recur::EventToJson(*e);
#ifndef RECUR_OPS_JSONL_H_
#define RECUR_OPS_JSONL_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "proto/recur.pb.h"

namespace recur {

// InvalidArgument with the parser's message for malformed JSON or unknown fields.
absl::StatusOr<v1::Event> ParseEventJson(std::string_view line);
std::string EventToJson(const v1::Event& event);

}  // namespace recur

#endif  // RECUR_OPS_JSONL_H_
