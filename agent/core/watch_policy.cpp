#include "agent/core/watch_policy.h"

namespace ringwatch::agent {

WatchPlan PlanWatch(const membership::Coordinator& coordinator, const raft::ConfState& conf,
                    const std::string& leader) {
  WatchPlan plan;
  const membership::View& view = coordinator.view();
  const std::string& self = coordinator.self().id;
  const membership::Member* me = view.Find(self);
  // A member back from a planned restart heartbeats its observers at once,
  // before its return commits (its observers start watching the new life
  // when it does, and must hear it by then).
  if (!me || !membership::InRing(me->state)) return plan;
  for (const auto& m : coordinator.HeartbeatTargets())
    plan.targets[core::MemberId{m.id}] = m.address;
  if (coordinator.Alive()) {
    // A subject away for a planned restart is not watched (it is silent by
    // plan); it is watched afresh, with a new detector, once it returns.
    for (const auto& m : coordinator.Watched()) {
      const membership::Member* subject = view.Find(m.id);
      if (conf.Contains(raft::NodeId{m.id}) && subject &&
          subject->state == membership::MemberState::kAlive)
        plan.watched[m.id] = m.address;
    }
  }
  const bool voter = conf.voters.count(raft::NodeId{self}) > 0;
  if (leader == self) {
    for (const raft::NodeId& v : conf.voters)
      if (const auto* m = view.Find(v.value); m && v.value != self)
        plan.targets[core::MemberId{v.value}] = m->info.address;
  } else if (voter && !leader.empty() && coordinator.Alive()) {
    if (const auto* m = view.Find(leader)) plan.watched[leader] = m->info.address;
  }
  return plan;
}

}  // namespace ringwatch::agent
