// InputPositions: the assignment, the partitions read to their end and the
// positions, including a run of records interrupted by an end or a revocation.
#include "streams/input_positions.h"

#include <gtest/gtest.h>

#include "streams/fake_source.h"
#include "tests/testing/events.h"

namespace recur {
namespace {

using testing::kPurchases0;
using testing::kPurchases1;
using testing::kSessions0;

TEST(InputPositionsTest, RecordsOfUnassignedPartitionsAreDropped) {
  InputPositions in;
  in.Assign({{kPurchases0, 10}});
  EXPECT_TRUE(in.Record(kPurchases0));
  EXPECT_FALSE(in.Record(kPurchases1));
  EXPECT_TRUE(in.Record(kPurchases0));  // a new run, looked up again
  in.Clear();
  EXPECT_FALSE(in.Record(kPurchases0));  // the run ended with the revocation
  EXPECT_TRUE(in.positions().empty());
}

// Cooperative rebalancing: an assignment adds to what is assigned, and an
// incremental revocation removes just its partitions.
TEST(InputPositionsTest, AssignAddsAndRemoveTakesJustThosePartitions) {
  InputPositions in;
  in.Assign({{kPurchases0, 10}});
  in.Assign({{kPurchases1, 3}});
  EXPECT_TRUE(in.Record(kPurchases0));
  EXPECT_TRUE(in.Record(kPurchases1));
  in.Consumed(3);
  in.Remove({kPurchases1});
  EXPECT_FALSE(in.Record(kPurchases1));  // the run ended with the revocation
  EXPECT_TRUE(in.Record(kPurchases0));
  EXPECT_EQ(in.positions(), (std::map<TopicPartition, int64_t>{{kPurchases0, 10}}));
}

TEST(InputPositionsTest, ConsumedMovesThePositionOfTheRun) {
  InputPositions in;
  in.Assign({{kPurchases0, 10}, {kSessions0, kOffsetBeginning}});
  EXPECT_EQ(in.positions().at(kSessions0), kOffsetBeginning);
  ASSERT_TRUE(in.Record(kPurchases0));
  in.Consumed(10);
  ASSERT_TRUE(in.Record(kPurchases0));
  in.Consumed(11);
  ASSERT_TRUE(in.Record(kSessions0));
  in.Consumed(0);
  EXPECT_EQ(in.positions().at(kPurchases0), 12);
  EXPECT_EQ(in.positions().at(kSessions0), 1);
}

TEST(InputPositionsTest, ARecordAfterTheEndClearsIt) {
  BatchBuilder builder(DecoderOptions{}, {});
  InputPositions in;
  EXPECT_FALSE(in.AllAtEnd(builder));  // nothing assigned
  in.Assign({{kPurchases0, 0}, {kSessions0, 0}});
  ASSERT_TRUE(in.Record(kPurchases0));  // a run of kPurchases0 ...
  EXPECT_TRUE(in.AtEnd(kPurchases0));   // ... ended by its end
  EXPECT_FALSE(in.AllAtEnd(builder));
  EXPECT_TRUE(in.AtEnd(kSessions0));
  EXPECT_TRUE(in.AllAtEnd(builder));
  // The same partition again: not answered from the old run, so no longer at its end.
  ASSERT_TRUE(in.Record(kPurchases0));
  EXPECT_FALSE(in.AllAtEnd(builder));
  EXPECT_FALSE(in.AtEnd(kPurchases1));  // not assigned: ignored
  in.ForgetEnds();
  EXPECT_TRUE(in.AtEnd(kPurchases0));
  EXPECT_FALSE(in.AllAtEnd(builder));
}

TEST(InputPositionsTest, CaughtUpAsksTheSourceForPartitionsNotAtTheirEnd) {
  BatchBuilder builder(DecoderOptions{}, {});
  FakeRecordSource source;
  InputPositions in;
  in.Assign({{kPurchases0, 0}, {kSessions0, 0}, {kPurchases1, 0}});
  EXPECT_TRUE(in.AtEnd(kPurchases0));
  EXPECT_FALSE(in.CaughtUp(0, builder, source));  // kSessions0's end is not known
  EXPECT_TRUE(in.AtEnd(kSessions0));
  EXPECT_TRUE(in.CaughtUp(0, builder, source));
  EXPECT_FALSE(in.CaughtUp(1, builder, source));
  EXPECT_FALSE(in.CaughtUp(2, builder, source));  // nothing of it assigned
}

}  // namespace
}  // namespace recur
