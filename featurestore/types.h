// Strong types shared by every component: who a customer is, where an event came
// from (topic, partition, offset) and when it happened (UTC milliseconds).
//
//   recur::CustomerKey key{"shop-1", "c-42"};
//   std::string wire = key.Encode();            // "shop-1/c-42", the Kafka key
//   auto back = recur::CustomerKey::Decode(wire);
#ifndef RECUR_FEATURESTORE_TYPES_H_
#define RECUR_FEATURESTORE_TYPES_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>

#include "base/time.h"  // kMillisPerDay, DayOf: the time rules live there

namespace recur {

// 64-bit FNV-1a: stable across machines and builds (dedupe ids, schema hash,
// model versions).
inline constexpr uint64_t Fnv1a64(std::string_view bytes) {
  uint64_t h = 1469598103934665603ull;
  for (char c : bytes) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// Mixes `v` into the digest `h` (splitmix64's finaliser over h ^ v): stable
// across machines and builds, every bit of v reaching every bit of the result.
inline constexpr uint64_t HashMix(uint64_t h, uint64_t v) {
  uint64_t z = h ^ (v + 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// (shop, customer): the unit of state. Encodes as the Kafka key "shop/customer";
// shop ids therefore never contain '/'.
struct CustomerKey {
  std::string shop_id;
  std::string customer_id;

  std::string Encode() const { return shop_id + "/" + customer_id; }
  // Splits at the first '/'; nullopt when there is none or either side is empty.
  static std::optional<CustomerKey> Decode(std::string_view wire) {
    auto slash = wire.find('/');
    if (slash == std::string_view::npos || slash == 0 || slash + 1 == wire.size()) {
      return std::nullopt;
    }
    return CustomerKey{std::string(wire.substr(0, slash)), std::string(wire.substr(slash + 1))};
  }
  friend bool operator==(const CustomerKey& a, const CustomerKey& b) {
    return a.shop_id == b.shop_id && a.customer_id == b.customer_id;
  }
  friend bool operator<(const CustomerKey& a, const CustomerKey& b) {
    return std::tie(a.shop_id, a.customer_id) < std::tie(b.shop_id, b.customer_id);
  }
};

// A Kafka source partition of one input topic.
struct TopicPartition {
  std::string topic;
  int32_t partition = 0;
  friend bool operator<(const TopicPartition& a, const TopicPartition& b) {
    return std::tie(a.topic, a.partition) < std::tie(b.topic, b.partition);
  }
  friend bool operator==(const TopicPartition& a, const TopicPartition& b) {
    return a.topic == b.topic && a.partition == b.partition;
  }
};

// The next offset to consume per source partition (Kafka's "committed" meaning).
using OffsetMap = std::map<TopicPartition, int64_t>;

// The largest event time (UTC ms) seen per source partition: its stream time,
// against which lateness and "future" are judged. A type of its own, not an
// alias of OffsetMap, so offsets and times can never be passed for each other.
struct StreamTimeMap : std::map<TopicPartition, int64_t> {
  using std::map<TopicPartition, int64_t>::map;
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_TYPES_H_
