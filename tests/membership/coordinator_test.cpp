#include "membership/coordinator.h"

#include <gtest/gtest.h>

namespace ringwatch::membership {
namespace {

raft::Entry Normal(uint64_t index, const Command& c) {
  raft::Entry e;
  e.index = raft::LogIndex{index};
  e.term = raft::Term{1};
  e.type = raft::EntryType::kNormal;
  e.data = EncodeCommand(c);
  return e;
}

MemberInfo Info(const std::string& id) {
  return MemberInfo{id, id + ":7420", "", id, 1, 1};
}

// An operator removal reaches autopilot on an agent that learned the view
// from a snapshot too: the removed id travels in the replicated view.
TEST(Coordinator, OperatorRemovalSurvivesASnapshot) {
  CoordinatorOptions o;
  o.self = Info("a");
  Coordinator leader(o);
  raft::ConfState conf;
  conf.voters = {raft::NodeId{"a"}};
  conf.learners = {raft::NodeId{"b"}};
  raft::Snapshot boot{raft::LogIndex{1}, raft::Term{1}, conf, ""};
  ASSERT_TRUE(leader.Restore(boot));
  uint64_t index = 1;
  for (const Command& c : std::vector<Command>{
           {1000, AddMember{Info("a")}},
           {1000, AddMember{Info("b")}},
           {2000, MarkDead{"b", 1, Diagnosis{}}},
           {3000, Remove{"b"}},
       })
    leader.Apply(Normal(++index, c));
  ASSERT_EQ(leader.view().Find("b"), nullptr);
  EXPECT_EQ(leader.view().removed().count("b"), 1u);

  raft::Snapshot snap{raft::LogIndex{index}, raft::Term{1}, conf, leader.SnapshotData()};
  Coordinator restored(o);
  ASSERT_TRUE(restored.Restore(snap));
  const RaftFacts facts{"a", true, 1};
  Effects fx = restored.Tick(facts, core::Instant{}, 4000, {});
  ASSERT_TRUE(fx.conf_change) << "b, removed by the operator, leaves the configuration";
  EXPECT_EQ(fx.conf_change->type, raft::ConfChangeType::kRemove);
  EXPECT_EQ(fx.conf_change->node, raft::NodeId{"b"});

  // A member merely absent from the view (its join not committed) stays.
  conf.learners.insert(raft::NodeId{"c"});
  Coordinator fresh(o);
  ASSERT_TRUE(fresh.Restore({raft::LogIndex{index}, raft::Term{1}, conf, leader.SnapshotData()}));
  fx = fresh.Tick(facts, core::Instant{}, 4000, {});
  ASSERT_TRUE(fx.conf_change);
  EXPECT_EQ(fx.conf_change->node, raft::NodeId{"b"}) << "not c";
}

}  // namespace
}  // namespace ringwatch::membership
