#include "ops/jsonl.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"

namespace recur {

absl::StatusOr<v1::Event> ParseEventJson(std::string_view line) {
  v1::Event event;
  google::protobuf::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), &event, opts);
  if (!st.ok())
    return absl::InvalidArgumentError(
        absl::StrCat("not an Event in JSON: ", st.message().as_string()));
  return event;
}

std::string EventToJson(const v1::Event& event) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(event, &out, opts);
  return out;
}

}  // namespace recur
