// KeyOrder: the order of items by a string key, cheap on scattered keys.
#ifndef RECUR_FEATURESTORE_KEY_ORDER_H_
#define RECUR_FEATURESTORE_KEY_ORDER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace recur::internal {

// The indexes 0..n-1 ordered by key(i), in std::string's order (bytes
// compared unsigned). Keys live in separate allocations all over the heap, so
// comparing them directly costs two cache misses per comparison. Instead each
// key is read once for the 8 bytes after the prefix all keys share, packed
// big-endian so integer order is byte order; only keys equal in those bytes
// are compared in full.
template <typename KeyFn>
std::vector<uint32_t> KeyOrder(size_t n, KeyFn key) {
  std::vector<uint32_t> order(n);
  if (n == 0) return order;
  const std::string& first = key(0);
  size_t common = first.size();
  for (size_t i = 1; i < n && common > 0; ++i) {
    const std::string& k = key(i);
    common = std::min(common, k.size());
    common = static_cast<size_t>(
        std::mismatch(first.begin(), first.begin() + static_cast<std::ptrdiff_t>(common), k.begin())
            .first -
        first.begin());
  }
  std::vector<std::pair<uint64_t, uint32_t>> packed(n);
  for (size_t i = 0; i < n; ++i) {
    const std::string& k = key(i);
    uint64_t p = 0;
    for (size_t b = 0; b < 8; ++b) {
      const size_t at = common + b;
      p = (p << 8) | (at < k.size() ? static_cast<uint8_t>(k[at]) : 0);
    }
    packed[i] = {p, static_cast<uint32_t>(i)};
  }
  std::sort(packed.begin(), packed.end(), [&key](const auto& a, const auto& b) {
    if (a.first != b.first) return a.first < b.first;
    return key(a.second) < key(b.second);  // a shorter key pads with zero bytes
  });
  for (size_t i = 0; i < n; ++i) order[i] = packed[i].second;
  return order;
}

}  // namespace recur::internal

#endif  // RECUR_FEATURESTORE_KEY_ORDER_H_
