// IdSet: inline while small, a hash set beyond; the same answers either way.
#include "featurestore/id_set.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

namespace recur {
namespace {

std::vector<uint64_t> Sorted(const IdSet& s) {
  std::vector<uint64_t> out;
  s.SortedIds(&out);
  return out;
}

TEST(IdSetTest, KeepsAFewIdsInlineSortedAndIgnoresRepeats) {
  IdSet s;
  EXPECT_EQ(s.size(), 0u);
  EXPECT_FALSE(s.contains(7));
  s.insert(30);
  s.insert(10);
  s.insert(30);  // again: nothing changes
  s.insert(20);
  EXPECT_EQ(s.size(), 3u);
  EXPECT_TRUE(s.contains(10));
  EXPECT_TRUE(s.contains(20));
  EXPECT_TRUE(s.contains(30));
  EXPECT_FALSE(s.contains(15));
  EXPECT_EQ(Sorted(s), (std::vector<uint64_t>{10, 20, 30}));
  EXPECT_EQ(s.HeapBytes(), 0u);  // nothing allocated
}

TEST(IdSetTest, MovesIntoAHashSetBeyondTheInlineIdsAndKeepsThemAll) {
  IdSet s;
  for (uint64_t id : {5, 3, 9}) s.insert(id);
  s.insert(1);  // the fourth: spills
  EXPECT_GT(s.HeapBytes(), 0u);
  s.insert(9);  // a repeat after the spill
  EXPECT_EQ(s.size(), 4u);
  for (uint64_t id : {1, 3, 5, 9}) EXPECT_TRUE(s.contains(id)) << id;
  EXPECT_FALSE(s.contains(4));
  EXPECT_EQ(Sorted(s), (std::vector<uint64_t>{1, 3, 5, 9}));
}

TEST(IdSetTest, ReserveBeyondTheInlineIdsKeepsThoseAlreadyThere) {
  IdSet s;
  s.insert(2);
  s.insert(1);
  s.reserve(100);
  EXPECT_EQ(s.size(), 2u);
  EXPECT_EQ(Sorted(s), (std::vector<uint64_t>{1, 2}));
  IdSet small;
  small.reserve(IdSet::kInline);  // fits: stays inline
  EXPECT_EQ(small.HeapBytes(), 0u);
}

TEST(IdSetTest, CopiesAreIndependent) {
  IdSet a;
  for (uint64_t id = 1; id <= 10; ++id) a.insert(id);
  IdSet b = a;
  b.insert(11);
  EXPECT_EQ(a.size(), 10u);
  EXPECT_EQ(b.size(), 11u);
  IdSet c;
  c.insert(1);
  c = a;
  EXPECT_EQ(Sorted(c), Sorted(a));
  IdSet d = std::move(b);
  EXPECT_EQ(d.size(), 11u);
}

// Property: against std::set, random ids (many repeats) in random orders, up
// to sizes on both sides of the inline capacity.
TEST(IdSetTest, AgreesWithAnOrderedSet) {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 200; ++round) {
    const size_t n = rng() % 12;
    const uint64_t range = 1 + rng() % 16;
    IdSet s;
    std::set<uint64_t> want;
    for (size_t i = 0; i < n; ++i) {
      const uint64_t id = rng() % range;
      EXPECT_EQ(s.contains(id), want.count(id) == 1);
      s.insert(id);
      want.insert(id);
    }
    ASSERT_EQ(s.size(), want.size());
    EXPECT_EQ(Sorted(s), std::vector<uint64_t>(want.begin(), want.end())) << "round " << round;
    for (uint64_t id = 0; id < range; ++id) EXPECT_EQ(s.contains(id), want.count(id) == 1);
  }
}

}  // namespace
}  // namespace recur
