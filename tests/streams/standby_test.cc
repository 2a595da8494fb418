// Which partitions an instance keeps warm (streams/standby.h, ChooseStandbys):
// the members in member-id order form a ring, and each member's partitions go
// to the `replicas` members after it; never to the owner, fewer in a small group;
// only a stable group's view moves the copies (StandbysFromView).
#include "streams/standby.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <string>

namespace recur {
namespace {

using Assignment = std::map<std::string, std::set<int32_t>>;

TEST(ChooseStandbysTest, EachMembersPartitionsGoToTheNextMembersInTheRing) {
  const Assignment three = {{"a", {0, 3}}, {"b", {1}}, {"c", {2}}};
  EXPECT_EQ(ChooseStandbys(three, "a", 1), (std::set<int32_t>{2}));     // c's
  EXPECT_EQ(ChooseStandbys(three, "b", 1), (std::set<int32_t>{0, 3}));  // a's
  EXPECT_EQ(ChooseStandbys(three, "c", 1), (std::set<int32_t>{1}));     // b's
  EXPECT_EQ(ChooseStandbys(three, "a", 2), (std::set<int32_t>{1, 2}));
  // Every partition has exactly `replicas` copies, none at its owner.
  for (int replicas : {1, 2}) {
    std::map<int32_t, int> copies;
    for (const auto& [member, owned] : three) {
      for (int32_t p : ChooseStandbys(three, member, replicas)) {
        EXPECT_FALSE(owned.count(p)) << member << " keeps its own partition " << p;
        ++copies[p];
      }
    }
    for (int32_t p : {0, 1, 2, 3}) EXPECT_EQ(copies[p], replicas) << "partition " << p;
  }
}

TEST(ChooseStandbysTest, ASmallGroupKeepsFewerAndAnUnknownMemberNone) {
  const Assignment two = {{"a", {0, 1}}, {"b", {2, 3}}};
  EXPECT_EQ(ChooseStandbys(two, "a", 3), (std::set<int32_t>{2, 3}));  // one other member
  EXPECT_EQ(ChooseStandbys({{"a", {0, 1, 2, 3}}}, "a", 1), std::set<int32_t>());
  EXPECT_EQ(ChooseStandbys(two, "z", 1), std::set<int32_t>());  // not (yet) in the group
  EXPECT_EQ(ChooseStandbys(two, "a", 0), std::set<int32_t>());
  // A member with no partition (more instances than partitions) still keeps copies.
  const Assignment idle = {{"a", {0, 1}}, {"b", {}}, {"c", {2, 3}}};
  EXPECT_EQ(ChooseStandbys(idle, "b", 1), (std::set<int32_t>{0, 1}));
  EXPECT_EQ(ChooseStandbys(idle, "c", 1), std::set<int32_t>());  // b's: none
}

TEST(ChooseStandbysTest, OnlyAStableGroupsViewMovesTheCopies) {
  KafkaAdmin::GroupView view;
  view.members = {{"a", {0, 1}}, {"b", {2, 3}}};
  view.state = "Stable";
  view.stable = true;
  EXPECT_EQ(StandbysFromView(view, "a", 1), (std::set<int32_t>{2, 3}));
  EXPECT_EQ(StandbysFromView(view, "z", 1), std::nullopt);  // not (yet) in the group
  // While a member joins, the coordinator reports members without their
  // partitions: that says nothing about the copies (without the state, a
  // keeper would close them all and reopen them a rebalance later).
  KafkaAdmin::GroupView joining;
  joining.members = {{"a", {}}, {"b", {}}, {"c", {}}};
  for (const char* state : {"PreparingRebalance", "CompletingRebalance"}) {
    joining.state = state;
    EXPECT_EQ(StandbysFromView(joining, "a", 1), std::nullopt) << state;
  }
  EXPECT_EQ(ChooseStandbys(joining.members, "a", 1), std::set<int32_t>());
  KafkaAdmin::GroupView empty;
  empty.state = "Empty";
  empty.stable = true;
  EXPECT_EQ(StandbysFromView(empty, "a", 1), std::nullopt);
}

}  // namespace
}  // namespace recur
