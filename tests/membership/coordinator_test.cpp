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

// The leader declares a planned restart dead (class `stopped`) once the
// grace has run out in view time, not before; a lost proposal is made again.
TEST(Coordinator, ARestartOutstayingTheGraceIsDeclaredDeadWithClassStopped) {
  CoordinatorOptions o;
  o.self = Info("a");
  o.restart_grace = std::chrono::seconds(30);
  Coordinator leader(o);
  raft::ConfState conf;
  conf.voters = {raft::NodeId{"a"}, raft::NodeId{"b"}};
  ASSERT_TRUE(leader.Restore({raft::LogIndex{1}, raft::Term{1}, conf, ""}));
  uint64_t index = 1;
  leader.Apply(Normal(++index, {1000, AddMember{Info("a")}}));
  leader.Apply(Normal(++index, {1000, AddMember{Info("b")}}));
  leader.Apply(Normal(++index, {2000, Restarting{"b", 1}}));
  ASSERT_EQ(leader.view().Find("b")->state, MemberState::kRestarting);
  const RaftFacts facts{"a", true, 1};
  auto stopped = [](const Effects& fx) {
    for (const Command& c : fx.proposals)
      if (const auto* d = std::get_if<MarkDead>(&c.body))
        return d->id == "b" && d->incarnation == 1 && d->diagnosis.cls == DiagnosisClass::kStopped;
    return false;
  };
  const core::Instant t0{};
  EXPECT_FALSE(stopped(leader.Tick(facts, t0, 31'999, {}))) << "29.999 s into a 30 s grace";
  EXPECT_TRUE(stopped(leader.Tick(facts, t0 + std::chrono::milliseconds(100), 32'000, {})));
  EXPECT_FALSE(stopped(leader.Tick(facts, t0 + std::chrono::milliseconds(200), 32'100, {})))
      << "not again while the first proposal may still commit";
  EXPECT_TRUE(stopped(leader.Tick(facts, t0 + std::chrono::milliseconds(1200), 33'100, {})))
      << "proposed again a second later";
  // A follower never decides it.
  EXPECT_FALSE(stopped(leader.Tick({"b", false, 1}, t0 + std::chrono::seconds(5), 40'000, {})));
  // Returned in time: nothing to declare.
  leader.Apply(Normal(++index, {32'500, AddMember{MemberInfo{"b", "b:7420", "", "b", 1, 2}}}));
  EXPECT_EQ(leader.view().Find("b")->state, MemberState::kAlive);
  EXPECT_FALSE(stopped(leader.Tick(facts, t0 + std::chrono::seconds(10), 90'000, {})));
}

}  // namespace
}  // namespace ringwatch::membership

namespace ringwatch::membership {
namespace {

// An out-of-bounds join in the log (written by an agent that did not check,
// or forged into an old data_dir) is the same no-op on every agent: the view
// does not change, the ring is not built from it, nothing crashes.
TEST(Coordinator, AnOutOfBoundsEntryInTheLogIsANoOp) {
  CoordinatorOptions o;
  o.self = Info("a");
  Coordinator c(o);
  c.Apply(Normal(1, {1000, AddMember{Info("a")}}));
  const std::string before = c.SnapshotData();
  MemberInfo poison = Info("mallory");
  poison.weight = 4294967295u;
  raft::Entry e;
  e.index = raft::LogIndex{2};
  e.term = raft::Term{1};
  e.type = raft::EntryType::kNormal;
  // Encoded by hand as an unchecking agent would: the encoder writes any value.
  e.data = EncodeCommand({2000, AddMember{poison}});
  EXPECT_FALSE(c.Apply(e));
  EXPECT_EQ(c.SnapshotData(), before);
  EXPECT_EQ(c.view().Find("mallory"), nullptr);
}

}  // namespace
}  // namespace ringwatch::membership
