#pragma once
// Autopilot: the leader keeps the Raft configuration in line with the view
// and at `cluster.voters` voters drawn from healthy members, one
// single-server change at a time (Consul's autopilot is the model). Each call
// returns at most the next change, in this order:
//   1. a member that left, or that an operator removed from the view, leaves
//      the configuration (a voter only when the others keep a live quorum);
//      one merely absent (its join not committed yet) stays; one that left
//      stays for `departure_grace_ms` first, so that it hears the commit of
//      its own Leave (a leaving agent waits for it before it stops);
//   2. an alive member outside the configuration joins it as a learner (its
//      peer address travels in the change);
//   3. a voter dead for `stabilization` is replaced: a healthy learner is
//      promoted first (a zone without a voter preferred) — adding before
//      removing never shrinks the live quorum — and step 5 removes it after;
//   4. too few voters: promote a healthy learner (zone spread first);
//   5. too many: remove a dead voter, else a live non-leader voter, while
//      the rest keep a live quorum.
// A learner is healthy when it has been alive in the view for
// `stabilization` (a member that just came back is not promoted). Pure.

#include <map>
#include <optional>
#include <set>
#include <string>

#include "membership/view.h"
#include "raft/types.h"

namespace ringwatch::membership {

struct AutopilotInput {
  const View* view = nullptr;
  raft::ConfState conf;
  std::string leader;
  uint32_t target_voters = 3;
  int64_t now_ms = 0;  // on the view's clock (leader wall time)
  int64_t stabilization_ms = 10'000;
  int64_t departure_grace_ms = 1'000;
  // Ids an operator removed from the view (Remove commands applied).
  std::set<std::string> removed;
};

struct AutopilotStep {
  raft::ConfChange change;
  std::string reason;
};

std::optional<AutopilotStep> NextVoterChange(const AutopilotInput& in);

}  // namespace ringwatch::membership
