// Fuzzes the record decoder (streams/decoder.h) with the record's metadata and
// its value: any bytes a producer can put on an input topic. The decoder must
// return a verdict, never crash; an accepted event must pass ValidateEvent and
// be accepted again when re-encoded (what the store keeps decodes the same way).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "featurestore/validate.h"
#include "google/protobuf/stubs/logging.h"
#include "streams/decoder.h"

// Protobuf logs every invalid UTF-8 string it parses; quiet, it fuzzes faster.
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  google::protobuf::SetLogHandler(nullptr);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  FuzzedDataProvider in(data, size);
  const recur::TopicNames topics;
  const std::string kTopics[] = {topics.purchases, topics.sessions, topics.carts,
                                 topics.marketing, topics.profiles, "other.topic"};
  recur::RawRecord r;
  r.topic = kTopics[in.ConsumeIntegralInRange<size_t>(0, 5)];
  r.partition = in.ConsumeIntegral<int32_t>();
  r.offset = in.ConsumeIntegral<int64_t>();
  r.log_append_time = in.ConsumeBool();
  // librdkafka gives -1 when there is no timestamp; a producer may set any other.
  r.timestamp_ms = in.ConsumeBool() ? -1 : in.ConsumeIntegralInRange<int64_t>(0, INT64_MAX);
  // The stream time is the largest event time applied: 0 or a validated time.
  const int64_t stream_time =
      in.ConsumeBool()
          ? 0
          : in.ConsumeIntegralInRange<int64_t>(recur::kMinEventTimeMs, recur::kMaxEventTimeMs);
  const int key_mode = in.ConsumeIntegralInRange<int>(0, 2);  // none, given, from the body
  const std::string given_key = in.ConsumeRandomLengthString(64);
  const std::string value = in.ConsumeRemainingBytesAsString();

  std::string key = given_key;
  if (key_mode == 2) {  // the key a well-behaved producer sets, so the checks after it run
    recur::v1::Event e;
    if (e.ParsePartialFromString(value)) key = e.shop_id() + "/" + e.customer_id();
  }
  if (key_mode != 0) r.key = key;
  r.value = value;

  const recur::Decoder decoder(recur::DecoderOptions{}, topics);
  recur::Decoded d = decoder.Decode(r, stream_time);
  if (!d.ok()) {
    if (d.reason.empty()) std::abort();  // every rejection names its reason
    return 0;
  }
  if (!recur::ValidateEvent(*d.event).ok()) std::abort();
  const std::string again = d.event->SerializeAsString();
  r.value = again;
  recur::Decoded d2 = decoder.Decode(r, stream_time);
  if (!d2.ok() || d2.event->SerializeAsString() != again) std::abort();
  return 0;
}
