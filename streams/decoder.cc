#include "streams/decoder.h"

#include <google/protobuf/io/coded_stream.h>

#include <limits>

#include "absl/strings/str_cat.h"
#include "base/time.h"
#include "featurestore/validate.h"

namespace recur {
namespace {

Decoded Reject(std::string reason, std::string message) {
  Decoded d;
  d.reason = std::move(reason);
  d.message = std::move(message);
  return d;
}

// a + b for b >= 0, saturating: a record's timestamp is whatever its producer set,
// up to INT64_MAX, and a bound past the end of time still bounds nothing.
int64_t PlusBound(int64_t a, int64_t b) {
  return a > std::numeric_limits<int64_t>::max() - b ? std::numeric_limits<int64_t>::max() : a + b;
}

}  // namespace

std::optional<std::string> Decoder::Future(const RawRecord& r, int64_t t,
                                           int64_t stream_time_ms) const {
  const int64_t lead = options_.max_future_ms;
  const bool has_ts = r.timestamp_ms >= 0;
  auto ahead = [&](int64_t by_ms, const char* of, int64_t ref) {
    return absl::StrCat("event_time_ms ", t, " is more than ", by_ms / 3'600'000, " h ahead of ",
                        of, " ", ref);
  };
  if (r.log_append_time && has_ts) {  // the broker's clock
    if (t > PlusBound(r.timestamp_ms, lead))
      return ahead(lead, "the broker's LogAppendTime", r.timestamp_ms);
    return std::nullopt;
  }
  if (stream_time_ms <= 0) {
    // A partition's first events: no stream time to judge against. Only an
    // event so far ahead that accepting it would make the rest too_late is refused.
    const int64_t horizon = int64_t{options_.retention_days} * kMillisPerDay;
    if (has_ts && t > PlusBound(r.timestamp_ms, horizon)) {
      return ahead(horizon, "the record's CreateTime (beyond the retention horizon)",
                   r.timestamp_ms);
    }
    return std::nullopt;
  }
  if (t <= PlusBound(stream_time_ms, lead)) return std::nullopt;
  // Ahead of the stream, but its own CreateTime vouches for it: the partition
  // was quiet. So a producer's clock only ever adds an acceptance.
  if (has_ts && t <= PlusBound(r.timestamp_ms, lead)) return std::nullopt;
  return ahead(lead, "its partition's stream time (and of the record's CreateTime)",
               stream_time_ms);
}

bool Decoder::OnAnotherKindsTopic(const RawRecord& r, const v1::Event& e) const {
  const std::string& own = topics_.ForEvent(e);
  if (own.empty() || r.topic == own) return false;
  for (const std::string& input : topics_.inputs()) {
    if (r.topic == input) return true;  // an input topic, of another kind
  }
  return false;  // not an input topic: not judged
}

Decoded Decoder::Decode(const RawRecord& r, int64_t stream_time_ms) const {
  if (r.value.size() > options_.max_message_bytes) {
    return Reject("oversized", absl::StrCat("value of ", r.value.size(), " bytes exceeds ",
                                            options_.max_message_bytes));
  }
  if (!r.key.has_value() || r.key->empty())
    return Reject("missing_key", "record has no key (want shop_id/customer_id)");

  v1::Event event;
  google::protobuf::io::CodedInputStream in(reinterpret_cast<const uint8_t*>(r.value.data()),
                                            static_cast<int>(r.value.size()));
  in.SetTotalBytesLimit(static_cast<int>(options_.max_message_bytes));
  in.SetRecursionLimit(16);
  if (!event.ParseFromCodedStream(&in) || !in.ConsumedEntireMessage()) {
    return Reject("undecodable", "value is not a recur.v1.Event in Protobuf binary form");
  }
  if (event.kind_case() == v1::Event::KIND_NOT_SET &&
      event.GetReflection()->GetUnknownFields(event).field_count() > 0) {
    return Reject("unknown_kind", "event kind unknown to this recur version (unknown oneof field)");
  }
  std::string reason;
  absl::Status valid = ValidateEvent(event, &reason);
  if (!valid.ok()) return Reject(reason, std::string(valid.message()));
  if (OnAnotherKindsTopic(r, event)) {
    return Reject(
        "wrong_topic",
        absl::StrCat("a ", v1::Event::descriptor()->FindFieldByNumber(event.kind_case())->name(),
                     " event on ", std::string(r.topic), " (want ", topics_.ForEvent(event), ")"));
  }
  const std::string expected_key = absl::StrCat(event.shop_id(), "/", event.customer_id());
  if (*r.key != expected_key) {
    return Reject("key_mismatch",
                  absl::StrCat("key does not match the body's shop_id/customer_id (",
                               expected_key.size(), " vs ", r.key->size(), " bytes)"));
  }
  if (auto why = Future(r, event.event_time_ms(), stream_time_ms)) return Reject("future", *why);
  if (!WithinHorizon(event.event_time_ms(), stream_time_ms, options_.retention_days)) {
    return Reject("too_late",
                  absl::StrCat("event_time_ms ", event.event_time_ms(), " is older than the ",
                               options_.retention_days, "-day retention horizon"));
  }
  Decoded d;
  d.event = std::move(event);
  return d;
}

}  // namespace recur
