// KeyOrder: the same order as sorting the strings, whatever they share.
#include "featurestore/key_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace recur::internal {
namespace {

std::vector<std::string> Ordered(const std::vector<std::string>& keys) {
  std::vector<std::string> out;
  for (uint32_t i : KeyOrder(keys.size(), [&](size_t i) -> const std::string& { return keys[i]; }))
    out.push_back(keys[i]);
  return out;
}

TEST(KeyOrderTest, OrdersByBytesPastASharedPrefix) {
  const std::vector<std::string> keys = {"cshop-2/c-9", "cshop-1/c-10", "cshop-1/c-1",
                                         "cshop-1/c-100000002", "cshop-1/c-100000001"};
  EXPECT_EQ(Ordered(keys),
            (std::vector<std::string>{"cshop-1/c-1", "cshop-1/c-10", "cshop-1/c-100000001",
                                      "cshop-1/c-100000002", "cshop-2/c-9"}));
  EXPECT_TRUE(Ordered({}).empty());
  EXPECT_EQ(Ordered({"x"}), (std::vector<std::string>{"x"}));
}

TEST(KeyOrderTest, AShorterKeyAndZeroBytesSortAsStringsDo) {
  const std::string z(1, '\0');
  const std::vector<std::string> keys = {"ab" + z, "ab",     "ab" + z + "c",
                                         "a",      "ab\xff", "ab" + z + z};
  std::vector<std::string> want = keys;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Ordered(keys), want);
}

// Property: random keys over a small alphabet (with zero and 0xff bytes),
// sharing long prefixes, with repeats, against std::sort.
TEST(KeyOrderTest, AgreesWithSortingTheStrings) {
  std::mt19937_64 rng(5);
  const std::string alphabet = std::string("ab\xff", 3) + std::string(1, '\0');
  for (int round = 0; round < 300; ++round) {
    const std::string prefix(rng() % 12, 'p');
    std::vector<std::string> keys(rng() % 40);
    for (std::string& k : keys) {
      k = prefix;
      for (size_t n = rng() % 14; n > 0; --n) k.push_back(alphabet[rng() % alphabet.size()]);
    }
    std::vector<std::string> want = keys;
    std::sort(want.begin(), want.end());
    ASSERT_EQ(Ordered(keys), want) << "round " << round;
  }
}

}  // namespace
}  // namespace recur::internal
