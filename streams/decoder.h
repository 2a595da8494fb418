// Decoding and checking of one consumed record, with no broker involved: either
// a valid recur.v1.Event ready for the store, or a dead-letter verdict with a
// short reason (the DLQ header) and a message. Pure logic, unit-tested alone.
//
//   recur::Decoder d(recur::DecoderOptions{}, recur::TopicNames{});
//   recur::Decoded r = d.Decode(record, /*stream_time_ms=*/stream_time);
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
  int64_t timestamp_ms = -1;  // the record's timestamp, -1 if none
  // True: timestamp_ms is the broker's LogAppendTime (the topic has
  // message.timestamp.type=LogAppendTime); false: the producer's CreateTime.
  bool log_append_time = false;
};

struct DecoderOptions {
  size_t max_message_bytes = 1 << 20;
  int32_t retention_days = kDefaultRetentionDays;
  // How far an event time may lead the time it is judged against (`future`):
  // the broker's LogAppendTime, else the source partition's stream time.
  int64_t max_future_ms = 86'400'000;
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
// `future` is judged against a time a producer's clock can not move, so that a
// producer whose clock is behind loses nothing (docs/DESIGN.md, "`future` is
// judged against times a producer cannot move"):
// - a LogAppendTime record: its broker timestamp + max_future_ms;
// - otherwise the source partition's stream time (the largest event time
//   applied from it) + max_future_ms. An event beyond that is still accepted
//   when it is within max_future_ms of its own CreateTime: after a quiet spell
//   (a weekly campaign, a night without carts) the stream time lags the real
//   time, and only the record's timestamp tells that the event is current. So
//   a producer's clock only ever adds an acceptance; the one case left is a
//   clock behind by more than max_future_ms on a partition quiet for longer.
// - a partition's first events (no stream time yet) are accepted, unless one
//   leads its CreateTime by more than the retention horizon: were it accepted,
//   every later event of the partition would be behind the horizon (`too_late`).
// `wrong_topic`: an event on another kind's input topic (the dedupe window
// relies on one kind per topic). A topic that is none of the five inputs is not
// judged.
class Decoder {
 public:
  explicit Decoder(DecoderOptions options, TopicNames topics = {})
      : options_(options), topics_(std::move(topics)) {}
  // `stream_time_ms`: the largest event time of the record's source partition
  // so far (store + this batch), 0 if none; for `future` and `too_late`.
  Decoded Decode(const RawRecord& record, int64_t stream_time_ms) const;

 private:
  // Why a valid event is `future` (see the class comment); nullopt if it is not.
  std::optional<std::string> Future(const RawRecord& record, int64_t event_time_ms,
                                    int64_t stream_time_ms) const;
  bool OnAnotherKindsTopic(const RawRecord& record, const v1::Event& event) const;

  DecoderOptions options_;
  TopicNames topics_;
};

}  // namespace recur

#endif  // RECUR_STREAMS_DECODER_H_
