#pragma once
// Whom an agent heartbeats and whom it watches: a pure function of the
// committed view's observer assignment and the Raft configuration, called
// by AgentCore (the runtime and the simulation run that same object).
//
//   - A member alive in the view (its own incarnation or an older one, as
//     after a restart whose re-join is not committed yet) heartbeats its K
//     observers; so a restart does not fall silent to them.
//   - A member alive in the view with its own incarnation watches its
//     subjects (the members it observes) once they are in the Raft
//     configuration: a member whose join has committed but that is not a
//     learner yet has no log, hence no view, and cannot know whom to
//     heartbeat; watching it then would declare it dead before it could
//     speak (and a dead member outside the configuration never gets the log
//     that would tell it to rejoin).
//   - The leader also heartbeats every voter, and every other voter watches
//     the leader, so the fast failover input always has a detector behind it.
//   - A member that is not alive in the view (joining, declared dead, left)
//     heartbeats and watches nobody: it asks to (re)join through the leader
//     or its seeds instead.
//
// Maps are ordered by member id, so the plan is the same on every run.

#include <map>
#include <string>

#include "core/ids.h"
#include "membership/coordinator.h"
#include "raft/types.h"

namespace ringwatch::agent {

struct WatchPlan {
  std::map<core::MemberId, std::string> targets;  // id -> peer address: send heartbeats
  std::map<std::string, std::string> watched;     // id -> peer address: run a detector
  bool operator==(const WatchPlan&) const = default;
};

// `leader` empty: none known.
WatchPlan PlanWatch(const membership::Coordinator& coordinator, const raft::ConfState& conf,
                    const std::string& leader);

}  // namespace ringwatch::agent
