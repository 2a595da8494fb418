#include "trainer/folds.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace recur {
namespace {

// SplitMix64: small, fast and fully specified (std::shuffle and the standard
// distributions are not the same on every standard library).
uint64_t Next(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

void Shuffle(std::vector<size_t>& v, uint64_t& state) {
  for (size_t i = v.size(); i > 1; --i) {
    // Multiply-shift to [0, i): bias below 2^-32 for any realistic row count.
    const size_t j = static_cast<size_t>((static_cast<unsigned __int128>(Next(state)) * i) >> 64);
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace

absl::StatusOr<std::vector<int>> StratifiedFolds(const std::vector<float>& labels, int k,
                                                 uint64_t seed) {
  if (k < 2)
    return absl::FailedPreconditionError(absl::StrCat("k-fold: k must be at least 2, got ", k));
  std::vector<size_t> pos, neg;
  for (size_t i = 0; i < labels.size(); ++i) (labels[i] > 0.5f ? pos : neg).push_back(i);
  if (pos.size() < static_cast<size_t>(k) || neg.size() < static_cast<size_t>(k)) {
    return absl::FailedPreconditionError(
        absl::StrCat("k-fold with k=", k, " needs at least ", k, " rows of each label; got ",
                     pos.size(), " with label 1 and ", neg.size(), " with label 0"));
  }
  uint64_t state = seed;
  Shuffle(pos, state);
  Shuffle(neg, state);
  std::vector<int> fold(labels.size());
  // Positives dealt round-robin; negatives continue where positives stopped, so
  // fold sizes differ by at most one row overall as well.
  size_t next = 0;
  for (size_t i : pos) fold[i] = static_cast<int>(next++ % k);
  for (size_t i : neg) fold[i] = static_cast<int>(next++ % k);
  return fold;
}

}  // namespace recur
