#include "agent/core/watch_policy.h"

#include <gtest/gtest.h>

#include "raft/codec.h"

namespace ringwatch::agent {
namespace {

using membership::AddMember;
using membership::Command;
using membership::MemberInfo;

// A coordinator for `self` whose committed view holds `ids`, all alive, and
// whose Raft configuration is `conf`.
membership::Coordinator With(const std::string& self, const std::vector<std::string>& ids,
                             uint64_t self_incarnation = 1) {
  membership::CoordinatorOptions o;
  o.self = MemberInfo{self, self + ":7420", "", self, 1, self_incarnation};
  o.observers = 2;
  membership::Coordinator c(o);
  uint64_t index = 1;
  for (const auto& id : ids) {
    raft::Entry e;
    e.type = raft::EntryType::kNormal;
    e.index = raft::LogIndex{index++};
    e.data = membership::EncodeCommand(
        Command{1, AddMember{MemberInfo{id, id + ":7420", "", id, 1, 1}}});
    c.Apply(e);
  }
  return c;
}

raft::ConfState Conf(std::vector<std::string> voters, std::vector<std::string> learners) {
  raft::ConfState c;
  for (auto& v : voters)
    c.voters.insert(raft::NodeId{v});
  for (auto& l : learners)
    c.learners.insert(raft::NodeId{l});
  return c;
}

TEST(WatchPolicy, AMemberHeartbeatsItsObserversAndWatchesItsSubjectsInTheConfiguration) {
  const std::vector<std::string> ids = {"a", "b", "c", "d", "e", "f"};
  auto c = With("a", ids);
  const auto all = Conf({"a", "b", "c"}, {"d", "e", "f"});
  const WatchPlan plan = PlanWatch(c, all, "b");
  ASSERT_EQ(plan.targets.size(), 2u);  // K = 2
  for (const auto& m : c.HeartbeatTargets())
    EXPECT_EQ(plan.targets.at(core::MemberId{m.id}), m.id + ":7420");
  std::set<std::string> subjects;
  for (const auto& m : c.Watched())
    subjects.insert(m.id);
  subjects.insert("b");  // a voter watches the leader
  std::set<std::string> watched;
  for (const auto& [id, address] : plan.watched)
    watched.insert(id);
  EXPECT_EQ(watched, subjects);

  // A subject not yet in the Raft configuration (its join committed, its
  // learner change not yet) is not watched: it cannot heartbeat yet.
  std::string missing;
  for (const auto& m : c.Watched())
    if (m.id != "b" && missing.empty()) missing = m.id;
  ASSERT_FALSE(missing.empty());
  raft::ConfState partial = all;
  partial.voters.erase(raft::NodeId{missing});
  partial.learners.erase(raft::NodeId{missing});
  EXPECT_EQ(PlanWatch(c, partial, "b").watched.count(missing), 0u);
}

TEST(WatchPolicy, TheLeaderHeartbeatsEveryVoter) {
  auto c = With("a", {"a", "b", "c", "d", "e", "f"});
  const WatchPlan plan = PlanWatch(c, Conf({"a", "b", "c"}, {"d", "e", "f"}), "a");
  EXPECT_TRUE(plan.targets.count(core::MemberId{"b"}));
  EXPECT_TRUE(plan.targets.count(core::MemberId{"c"}));
  EXPECT_FALSE(plan.targets.count(core::MemberId{"a"}));
}

TEST(WatchPolicy, ANonMemberHeartbeatsAndWatchesNobody) {
  auto c = With("z", {"a", "b", "c"});
  const WatchPlan plan = PlanWatch(c, Conf({"a", "b", "c"}, {}), "a");
  EXPECT_TRUE(plan.targets.empty());
  EXPECT_TRUE(plan.watched.empty());
}

// Restarted (a newer incarnation than the view's): it keeps heartbeating its
// observers, so its old life is not declared dead while its re-join
// commits, but watches nobody until it is itself again.
TEST(WatchPolicy, ARestartedMemberHeartbeatsButDoesNotWatchUntilItsRejoinCommits) {
  auto c = With("a", {"a", "b", "c", "d"}, /*self_incarnation=*/2);
  const WatchPlan plan = PlanWatch(c, Conf({"a", "b", "c"}, {"d"}), "b");
  EXPECT_FALSE(plan.targets.empty());
  EXPECT_TRUE(plan.watched.empty());
}

// Back from a planned restart, its view still holding it `restarting` (the
// return not yet committed): it heartbeats its observers at once, watches
// nobody; and a member that is `restarting` is nobody's subject meanwhile.
TEST(WatchPolicy, AMemberBackFromARestartHeartbeatsBeforeItsReturnCommits) {
  auto c = With("a", {"a", "b", "c", "d"}, /*self_incarnation=*/2);
  raft::Entry e;
  e.type = raft::EntryType::kNormal;
  e.index = raft::LogIndex{10};
  e.data = membership::EncodeCommand(Command{2, membership::Restarting{"a", 1}});
  c.Apply(e);
  ASSERT_EQ(c.view().Find("a")->state, membership::MemberState::kRestarting);
  const auto conf = Conf({"a", "b", "c"}, {"d"});
  const WatchPlan plan = PlanWatch(c, conf, "b");
  EXPECT_FALSE(plan.targets.empty());
  EXPECT_TRUE(plan.watched.empty());

  auto b = With("b", {"a", "b", "c", "d"});
  b.Apply(e);
  EXPECT_EQ(PlanWatch(b, conf, "c").watched.count("a"), 0u) << "a is silent by plan";
}

}  // namespace
}  // namespace ringwatch::agent
