// IdSet: the event ids of one (kind, day) block of a customer's dedupe memory.
#ifndef RECUR_FEATURESTORE_ID_SET_H_
#define RECUR_FEATURESTORE_ID_SET_H_

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace recur {

// A normal customer has one to a few events of a kind a day: up to kInline ids
// stay inside the object, sorted, with no allocation (a hash set allocates on
// its first id, and most blocks never hold a second). Beyond kInline the ids
// move into a hash set, so a customer with 200,000 events a day (a bot) still
// costs O(1) per event. Which form holds the ids is invisible: SortedIds gives
// the same bytes either way.
class IdSet {
 public:
  static constexpr size_t kInline = 3;

  IdSet() = default;
  IdSet(IdSet&&) noexcept = default;
  IdSet& operator=(IdSet&&) noexcept = default;
  IdSet(const IdSet& o)
      : small_(o.small_), n_(o.n_), big_(o.big_ ? std::make_unique<Big>(*o.big_) : nullptr) {}
  IdSet& operator=(const IdSet& o) {
    if (this != &o) *this = IdSet(o);
    return *this;
  }

  bool contains(uint64_t id) const {
    if (big_) return big_->contains(id);
    return std::binary_search(small_.begin(), small_.begin() + n_, id);
  }
  // Adds id (nothing when it is there already).
  void insert(uint64_t id) {
    if (big_) {
      big_->insert(id);
      return;
    }
    auto* end = small_.begin() + n_;
    auto* at = std::lower_bound(small_.begin(), end, id);
    if (at != end && *at == id) return;
    if (n_ < kInline) {
      std::copy_backward(at, end, end + 1);
      *at = id;
      ++n_;
      return;
    }
    reserve(kInline + 1);
    big_->insert(id);
  }
  // Prepares for n ids (moves them into the hash set when n > kInline).
  void reserve(size_t n) {
    if (n <= kInline) return;
    if (!big_) {
      big_ = std::make_unique<Big>(small_.begin(), small_.begin() + n_);
      n_ = 0;
    }
    big_->reserve(n);
  }
  size_t size() const { return big_ ? big_->size() : n_; }
  // The ids in ascending order, into *out (replaced).
  void SortedIds(std::vector<uint64_t>* out) const {
    if (!big_) {
      out->assign(small_.begin(), small_.begin() + n_);
      return;
    }
    out->assign(big_->begin(), big_->end());
    std::sort(out->begin(), out->end());
  }
  // Memory outside the object: one slot and one control byte per id of the
  // hash set's capacity, at least a group.
  size_t HeapBytes() const {
    return big_ ? big_->capacity() * (sizeof(uint64_t) + 1) + 16 + sizeof(Big) : 0;
  }

 private:
  using Big = absl::flat_hash_set<uint64_t>;
  std::array<uint64_t, kInline> small_{};  // the first n_ sorted, while big_ is null
  uint32_t n_ = 0;
  std::unique_ptr<Big> big_;
};

}  // namespace recur

#endif  // RECUR_FEATURESTORE_ID_SET_H_
