#include "base/histogram.h"

#include <gtest/gtest.h>

namespace recur {
namespace {

TEST(HistogramTest, CountsEachValueInTheFirstBucketWhoseBoundIsAtLeastIt) {
  Histogram h({1, 5, 10});
  for (double v : {0.5, 1.0, 1.5, 5.0, 7.0, 11.0, 100.0}) h.Observe(v);
  // le=1: 0.5, 1.0; le=5: +1.5, 5.0; le=10: +7.0; +Inf: +11, 100.
  EXPECT_EQ(h.Cumulative(), (std::vector<int64_t>{2, 4, 5, 7}));
  EXPECT_EQ(h.count(), 7);
  EXPECT_DOUBLE_EQ(h.sum(), 0.5 + 1 + 1.5 + 5 + 7 + 11 + 100);
}

TEST(HistogramTest, RepeatedObservationsCountAsManyAsGiven) {
  Histogram h({1, 5});
  h.Observe(2.0, 3);  // three scores delivered together
  h.Observe(0.5);
  EXPECT_EQ(h.Cumulative(), (std::vector<int64_t>{1, 4, 4}));
  EXPECT_EQ(h.count(), 4);
  EXPECT_DOUBLE_EQ(h.sum(), 6.5);
}

TEST(HistogramTest, AnEmptyHistogramHasZeroBucketsAndACopyKeepsItsCounts) {
  Histogram h(Histogram::LatencyBounds());
  EXPECT_EQ(h.Cumulative(), std::vector<int64_t>(h.bounds().size() + 1, 0));
  h.Observe(0.003);
  Histogram copy = h;
  h.Observe(0.003);
  EXPECT_EQ(copy.count(), 1);
  EXPECT_EQ(h.count(), 2);
  // 0.003 s is above 2.5 ms and at most 5 ms: the third bucket.
  EXPECT_EQ(copy.Cumulative()[1], 0);
  EXPECT_EQ(copy.Cumulative()[2], 1);
}

TEST(HistogramTest, BoundsAreSortedWhateverTheOrderGiven) {
  Histogram h({10, 1});
  h.Observe(2);
  EXPECT_EQ(h.bounds(), (std::vector<double>{1, 10}));
  EXPECT_EQ(h.Cumulative(), (std::vector<int64_t>{0, 1, 1}));
}

}  // namespace
}  // namespace recur
