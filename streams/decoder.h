// Decoding and checking of one consumed record, with no broker involved: either
// a valid recur.v1.Event ready for the store, or a dead-letter verdict with a
// short reason (the DLQ header) and a message. Pure logic, unit-tested alone.
//
//   recur::Decoder d(recur::DecoderOptions{}, recur::TopicNames{});
//   recur::Decoded r = d.Decode(record, /*partition_max_event_time_ms=*/max_t);
//   if (!r.ok()) dlq.Send(record, r.reason, r.message);
#ifndef RECUR_STREAMS_DECODER_H_
#define RECUR_STREAMS_DECODER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "featurestore/feature_store.h"
#include "proto/recur.pb.h"
#include "streams/topics.h"

namespace recur {

// What the pipeline knows of a consumed record. Views point into the message.
struct RawRecord {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::optional<std::string_view> key;  // nullopt: the record has no key
  std::string_view value;
  int64_t timestamp_ms = -1;  // broker/producer timestamp, -1 if none
};

struct DecoderOptions {
  size_t max_message_bytes = 1 << 20;
  int32_t retention_days = kDefaultRetentionDays;
  int64_t max_future_ms = 86'400'000;  // event time may lead the record timestamp by this much
};

struct Decoded {
  std::optional<v1::Event> event;  // set when the record is good
  std::string reason;              // DLQ reason otherwise
  std::string message;
  bool ok() const { return event.has_value(); }
};

// DLQ reasons: oversized, missing_key, undecodable, unknown_kind, wrong_topic,
// key_mismatch, future, too_late, and ValidateEvent's: missing_id, invalid_id,
// invalid_time, missing_kind, invalid_amount, invalid_quantity, invalid_field.
//
// `wrong_topic`: an event on another kind's input topic (the dedupe window
// relies on one kind per topic). A topic that is none of the five inputs is not
// judged.
class Decoder {
 public:
  explicit Decoder(DecoderOptions options, TopicNames topics = {})
      : options_(options), topics_(std::move(topics)) {}
  // `max_event_time_ms`: the largest event time of the record's partition so far
  // (store + this batch), for the retention-horizon check.
  Decoded Decode(const RawRecord& record, int64_t max_event_time_ms) const;

 private:
  bool OnAnotherKindsTopic(const RawRecord& record, const v1::Event& event) const;

  DecoderOptions options_;
  TopicNames topics_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_DECODER_H_
