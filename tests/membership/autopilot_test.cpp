#include "membership/autopilot.h"

#include <gtest/gtest.h>

namespace ringwatch::membership {
namespace {

using raft::ConfChangeType;
using raft::NodeId;

class AutopilotTest : public ::testing::Test {
 protected:
  void Add(const std::string& id, const std::string& zone, int64_t t = 0) {
    view_.Apply({t, AddMember{MemberInfo{id, id + ":7420", zone, "", 1, 1}}});
  }
  void Kill(const std::string& id, int64_t t) { view_.Apply({t, MarkDead{id, 1, Diagnosis{}}}); }

  AutopilotInput In(std::set<std::string> voters, std::set<std::string> learners, int64_t now) {
    AutopilotInput in;
    in.view = &view_;
    for (const auto& v : voters)
      in.conf.voters.insert(NodeId{v});
    for (const auto& l : learners)
      in.conf.learners.insert(NodeId{l});
    in.leader = "a";
    in.target_voters = 3;
    in.now_ms = now;
    in.stabilization_ms = 10'000;
    return in;
  }

  View view_;
};

TEST_F(AutopilotTest, NothingToDoInAHealthyCluster) {
  for (auto id : {"a", "b", "c", "d"})
    Add(id, "z1");
  EXPECT_FALSE(NextVoterChange(In({"a", "b", "c"}, {"d"}, 60'000)));
}

TEST_F(AutopilotTest, NewMembersJoinAsLearnersWithTheirAddress) {
  for (auto id : {"a", "b", "c", "d"})
    Add(id, "z1");
  auto step = NextVoterChange(In({"a", "b", "c"}, {}, 60'000));
  ASSERT_TRUE(step);
  EXPECT_EQ(step->change.type, ConfChangeType::kAddLearner);
  EXPECT_EQ(step->change.node, NodeId{"d"});
  EXPECT_EQ(step->change.context, "d:7420");
}

TEST_F(AutopilotTest, ADeadVoterIsReplacedAfterStabilizationPromoteBeforeRemove) {
  Add("a", "z1");
  Add("b", "z1");
  Add("c", "z1");
  Add("d", "z1");
  Add("e", "z2");
  Kill("c", 1000);
  EXPECT_FALSE(NextVoterChange(In({"a", "b", "c"}, {"d", "e"}, 5000))) << "not yet stabilized";
  auto promote = NextVoterChange(In({"a", "b", "c"}, {"d", "e"}, 20'000));
  ASSERT_TRUE(promote);
  EXPECT_EQ(promote->change.type, ConfChangeType::kPromote);
  EXPECT_EQ(promote->change.node, NodeId{"e"}) << "a zone without a voter first";
  auto remove = NextVoterChange(In({"a", "b", "c", "e"}, {"d"}, 21'000));
  ASSERT_TRUE(remove);
  EXPECT_EQ(remove->change.type, ConfChangeType::kRemove);
  EXPECT_EQ(remove->change.node, NodeId{"c"}) << "the dead voter goes first";
}

TEST_F(AutopilotTest, ShrinksByDeadVotersOnlyWhileTheLiveQuorumHolds) {
  for (auto id : {"a", "b", "c", "d", "e"})
    Add(id, "z1");
  Kill("b", 0);
  Kill("c", 0);
  // Five voters (target 3), two dead: a dead one goes, never a live one or the leader.
  auto step = NextVoterChange(In({"a", "b", "c", "d", "e"}, {}, 60'000));
  ASSERT_TRUE(step);
  EXPECT_EQ(step->change.type, ConfChangeType::kRemove);
  EXPECT_TRUE(step->change.node == NodeId{"b"} || step->change.node == NodeId{"c"});
  // Three dead of five: any removal would leave no live majority; nothing is proposed.
  Kill("d", 0);
  EXPECT_FALSE(NextVoterChange(In({"a", "b", "c", "d", "e"}, {}, 60'000)));
}

// A bootstrap voter whose join has not committed yet is not "gone": removing
// it would shrink the group to two voters before the cluster even started.
TEST_F(AutopilotTest, VotersNotYetInTheViewStayRemovedOnesGo) {
  Add("a", "z1");
  Add("c", "z1");
  auto in = In({"a", "b", "c"}, {}, 60'000);
  EXPECT_FALSE(NextVoterChange(in)) << "b has not joined the view yet";
  in.removed = {"b"};
  auto step = NextVoterChange(in);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->change.type, ConfChangeType::kRemove);
  EXPECT_EQ(step->change.node, NodeId{"b"});
}

TEST_F(AutopilotTest, LeftMembersLeaveTheConfigurationAndFreshLearnersWait) {
  for (auto id : {"a", "b", "c", "d"})
    Add(id, "z1");
  view_.Apply({1, Leave{"d"}});
  auto step = NextVoterChange(In({"a", "b", "c"}, {"d"}, 60'000));
  ASSERT_TRUE(step);
  EXPECT_EQ(step->change.type, ConfChangeType::kRemove);
  EXPECT_EQ(step->change.node, NodeId{"d"});
  Add("f", "z2", 55'000);  // alive for 5 s only
  auto promote = NextVoterChange(In({"a", "b"}, {"c", "f"}, 60'000));
  ASSERT_TRUE(promote);
  EXPECT_EQ(promote->change.node, NodeId{"c"}) << "f is in a new zone but alive for 5 s only";
}

// A member that just left stays in the configuration for the departure
// grace, so it hears the commit of its own Leave (a leaving agent waits for
// it before it stops; removed at once, it would never hear it).
TEST_F(AutopilotTest, AMemberThatJustLeftStaysForTheDepartureGrace) {
  for (auto id : {"a", "b", "c", "d"})
    Add(id, "z1");
  view_.Apply({50'000, Leave{"d"}});
  AutopilotInput in = In({"a", "b", "c"}, {"d"}, 50'500);
  in.departure_grace_ms = 1'000;
  EXPECT_FALSE(NextVoterChange(in)) << "0.5 s after its leave";
  in.now_ms = 51'000;
  auto step = NextVoterChange(in);
  ASSERT_TRUE(step);
  EXPECT_EQ(step->change.type, ConfChangeType::kRemove);
  EXPECT_EQ(step->change.node, NodeId{"d"});
}

}  // namespace
}  // namespace ringwatch::membership
