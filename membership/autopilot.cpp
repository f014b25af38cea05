#include "membership/autopilot.h"

#include <set>
#include <vector>

namespace ringwatch::membership {
namespace {

using raft::ConfChange;
using raft::ConfChangeType;
using raft::NodeId;

bool Alive(const View& v, const std::string& id) {
  const Member* m = v.Find(id);
  return m && m->state == MemberState::kAlive;
}

// Would the voters, after `removed` goes, still have a live majority?
bool KeepsLiveQuorum(const View& v, const std::set<NodeId>& voters, const NodeId& removed) {
  std::size_t total = 0, alive = 0;
  for (const NodeId& id : voters) {
    if (id == removed) continue;
    ++total;
    alive += Alive(v, id.value) ? 1 : 0;
  }
  return total > 0 && alive >= total / 2 + 1;
}

std::optional<NodeId> BestLearner(const AutopilotInput& in) {
  const View& v = *in.view;
  std::set<std::string> voter_zones;
  for (const NodeId& id : in.conf.voters)
    if (const Member* m = v.Find(id.value); m && m->state == MemberState::kAlive)
      voter_zones.insert(m->info.zone);
  std::optional<NodeId> best;
  bool best_new_zone = false;
  for (const NodeId& id : in.conf.learners) {  // ordered: ties go to the smallest id
    const Member* m = v.Find(id.value);
    if (!m || m->state != MemberState::kAlive) continue;
    if (in.now_ms - m->alive_since_ms < in.stabilization_ms) continue;
    bool new_zone = !voter_zones.count(m->info.zone);
    if (!best || (new_zone && !best_new_zone)) {
      best = id;
      best_new_zone = new_zone;
    }
  }
  return best;
}

}  // namespace

std::optional<AutopilotStep> NextVoterChange(const AutopilotInput& in) {
  const View& v = *in.view;
  const NodeId leader{in.leader};
  // 1. Members that left or were removed leave the configuration. One that
  // is merely absent from the view (a bootstrap voter whose join has not
  // committed yet) stays.
  for (const std::set<NodeId>* group : {&in.conf.learners, &in.conf.voters}) {
    for (const NodeId& id : *group) {
      const Member* m = v.Find(id.value);
      const bool gone = m ? m->state == MemberState::kLeft : in.removed.count(id.value) > 0;
      if (!gone || id == leader) continue;
      if (m && in.now_ms - m->since_ms < in.departure_grace_ms) continue;
      if (group == &in.conf.voters && !KeepsLiveQuorum(v, in.conf.voters, id)) continue;
      return AutopilotStep{{ConfChangeType::kRemove, id, ""},
                           id.value + (m ? " left the cluster" : " is no longer a member")};
    }
  }
  // 2. Alive members outside the configuration join it as learners.
  for (const auto& [id, m] : v.members()) {
    if (m.state != MemberState::kAlive || in.conf.Contains(NodeId{id})) continue;
    return AutopilotStep{{ConfChangeType::kAddLearner, NodeId{id}, m.info.address},
                         id + " joined the view"};
  }
  // 3. A voter dead for the stabilization time is replaced: a healthy learner
  // is promoted first; step 5 then removes the dead voter.
  const auto learner = BestLearner(in);
  for (const NodeId& id : in.conf.voters) {
    const Member* m = v.Find(id.value);
    if (learner && in.conf.voters.size() <= in.target_voters && m &&
        m->state == MemberState::kDead && in.now_ms - m->since_ms >= in.stabilization_ms)
      return AutopilotStep{{ConfChangeType::kPromote, *learner, ""},
                           "replacing dead voter " + id.value};
  }
  // 4. Too few voters.
  if (in.conf.voters.size() < in.target_voters && learner)
    return AutopilotStep{{ConfChangeType::kPromote, *learner, ""}, "voters below cluster.voters"};
  // 5. Too many voters: a dead one goes first, never the leader, never the live quorum.
  if (in.conf.voters.size() > in.target_voters) {
    for (bool dead_first : {true, false}) {
      for (const NodeId& id : in.conf.voters) {
        if (id == leader || Alive(v, id.value) == dead_first) continue;
        if (!KeepsLiveQuorum(v, in.conf.voters, id)) continue;
        return AutopilotStep{{ConfChangeType::kRemove, id, ""}, "voters above cluster.voters"};
      }
    }
  }
  return std::nullopt;
}

}  // namespace ringwatch::membership
