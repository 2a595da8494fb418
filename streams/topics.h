// The topic names of docs/DESIGN.md ("Topics and wire format"): one input topic
// per event kind, the scores and the dead letters. Shared by the producer (which
// topic an event goes to) and the decoder (whether an event came from its kind's
// topic), so it needs neither librdkafka nor a broker.
//
//   recur::TopicNames topics;                       // the default names
//   producer->Send(topics.ForEvent(event), key, bytes, {});
#ifndef RECUR_STREAMS_TOPICS_H_
#define RECUR_STREAMS_TOPICS_H_

#include <string>
#include <vector>

#include "proto/recur.pb.h"

namespace recur {

struct TopicNames {
  std::string purchases = "shop.purchases";
  std::string sessions = "shop.sessions";
  std::string carts = "shop.carts";
  std::string marketing = "shop.marketing";
  std::string profiles = "shop.profiles";
  std::string scores = "recur.scores";
  std::string dlq = "recur.dlq";

  std::vector<std::string> inputs() const {
    return {purchases, sessions, carts, marketing, profiles};
  }
  // The input topic of an event's kind; empty for an event without a kind.
  const std::string& ForEvent(const v1::Event& e) const {
    static const std::string kNone;
    switch (e.kind_case()) {
      case v1::Event::kPurchase:
        return purchases;
      case v1::Event::kSession:
        return sessions;
      case v1::Event::kCart:
        return carts;
      case v1::Event::kMarketing:
        return marketing;
      case v1::Event::kProfile:
        return profiles;
      default:
        return kNone;
    }
  }
};

}  // namespace recur

#endif  // RECUR_STREAMS_TOPICS_H_
