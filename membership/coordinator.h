#pragma once
// membership::Coordinator — one agent's side of agreed membership, sans I/O.
// It holds the committed View (applied from Raft entries), derives the
// observer assignment, and decides what this agent does each heartbeat
// interval: join, rejoin after being declared dead, report suspicions of the
// members it watches, and — while it leads — turn reports into MarkDead,
// readmit rejoining members after their probation, and keep the voters in
// line (autopilot). The agent feeds it time, local detector observations,
// peer messages and committed entries, and carries out the Effects; the
// whole-agent simulation does the same with simulated ones.
//
// Not thread-safe; one owner (the agent's core loop).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/duration.h"
#include "membership/aggregator.h"
#include "membership/autopilot.h"
#include "membership/command.h"
#include "membership/observers.h"
#include "membership/peer_message.h"
#include "membership/view.h"
#include "raft/types.h"

namespace ringwatch::membership {

// This agent's detector verdict on one member it watches.
struct LocalObservation {
  std::string id;
  bool suspected = false;
  double phi = 0;
  double silence_seconds = 0;
  ProbeResult probe = ProbeResult::kNone;
  std::optional<Health> health;
  DetectionPath path = DetectionPath::kNone;  // what made it suspect
};

// The Raft facts the coordinator needs, given before every call.
struct RaftFacts {
  std::string leader;  // empty: none known
  bool is_leader = false;
  uint64_t term = 0;
  bool quarantined = false;  // this node lost its Raft state (raft::Node::SetQuarantined)
};

struct CoordinatorOptions {
  MemberInfo self;
  uint32_t observers = 5;      // detector.observers (K)
  uint32_t confirmations = 0;  // detector.confirmations
  core::Duration heartbeat_interval = std::chrono::milliseconds(100);
  core::Duration rejoin_probation = std::chrono::seconds(2);
  uint32_t target_voters = 3;
  core::Duration stabilization = std::chrono::seconds(10);
  // A leader proposes one member's join at most once per join_retry.
  core::Duration join_retry = std::chrono::seconds(1);
  // Join requests (a member not yet in the view, or back with a new
  // incarnation) are repeated with exponential backoff: the n-th wait is
  // min(join_backoff_max, join_backoff_min * 2^n), less a random jitter of
  // up to half of it (so restarted agents do not ask in step). Reset once
  // the member is in the view.
  core::Duration join_backoff_min = std::chrono::milliseconds(200);
  core::Duration join_backoff_max = std::chrono::seconds(5);
  uint64_t random_seed = 1;  // the jitter's
  // A member restarting (a planned restart) this long is declared dead,
  // class `stopped` (cluster.restart_grace; the leader's setting decides).
  core::Duration restart_grace = std::chrono::seconds(30);
};

// What the agent must do after a call.
struct Effects {
  std::vector<Command> proposals;               // raft Propose (forwarded when not leader)
  std::optional<raft::ConfChange> conf_change;  // raft ProposeConfChange (leader only)
  // Requests to send: to a member id, or — when the id is empty: no leader
  // is known — to one seed (the embedding rotates through its seeds).
  std::vector<std::pair<std::string, PeerMessage>> messages;
  bool watch_changed = false;  // re-read HeartbeatTargets() / Watched()
};

class Coordinator {
 public:
  explicit Coordinator(CoordinatorOptions options);

  // Committed Raft entries, in log order (all types). True when the
  // heartbeat targets or watched members may have changed.
  bool Apply(const raft::Entry& entry);
  // A snapshot replaced the state (at start, or from the leader).
  bool Restore(const raft::Snapshot& snapshot);
  std::string SnapshotData() const { return view_.Encode(); }
  // What the entries applied since the last call did to the lock table.
  std::vector<LockChange> TakeLockChanges() { return std::exchange(lock_changes_, {}); }

  // What this member says about the time it was away, should it find
  // itself dead (the embedding's detectors and stall detector know);
  // `restarted` is the coordinator's own.
  void SetAccount(Account account) { account_ = std::move(account); }

  // Once per heartbeat interval.
  Effects Tick(const RaftFacts& raft, core::Instant now, int64_t wall_ms,
               const std::vector<LocalObservation>& observations);
  // Observations that cannot wait for the next tick (the fast path: a
  // member's connection closed and its port refused): reported at once,
  // and on the leader decided at once.
  Effects Observe(const RaftFacts& raft, core::Instant now, int64_t wall_ms,
                  const std::vector<LocalObservation>& observations);
  Effects Receive(const RaftFacts& raft, const PeerMessage& message, core::Instant now,
                  int64_t wall_ms);
  // Committed entries were applied on the leader (a join, a configuration
  // change): the next autopilot step now, rather than at the next tick, so
  // that a thousand joiners become learners at commit speed, not one per
  // heartbeat interval.
  Effects AfterApply(const RaftFacts& raft, int64_t wall_ms);
  // Graceful leave: the proposal to make (and stop rejoining afterwards).
  Command Leave(int64_t wall_ms);
  // Planned restart: the notice to propose (and stop rejoining afterwards).
  Command Restarting(int64_t wall_ms);

  const View& view() const { return view_; }
  // The observer assignment of the committed view (computed when first
  // asked after a change: a burst of applied entries costs one computation).
  const Observers& observers() const;
  const raft::ConfState& conf() const { return conf_; }
  const MemberInfo& self() const { return options_.self; }
  // This member is alive in the committed view.
  bool Alive() const;
  // Members this agent sends heartbeats to (its observers) and watches.
  std::vector<MemberInfo> HeartbeatTargets() const;
  std::vector<MemberInfo> Watched() const;
  // No leader known this long: the view here may be stale (this member cut
  // off, declared dead and taken out of the Raft configuration meanwhile,
  // so no log reaches it): join requests go out again, as if it were new.
  static constexpr core::Duration kLeaderlessRejoin = std::chrono::seconds(3);
  // A member answered a join request. It named the leader: the next request
  // goes out at the base backoff (only the admission is pending). It knows
  // none (an election, or it is joining itself): within a second at most —
  // the answering member is alive, so a long backoff would only add delay.
  void JoinAnswered(core::Instant now, bool leader_known);
  // Join requests sent since this member was last in the view.
  uint32_t join_attempts() const { return join_attempts_; }
  // Fresh suspicions the leader holds about `id` (status and tests).
  std::size_t Suspicions(const std::string& id, core::Instant now) const {
    return aggregator_.Suspicions(id, now);
  }

 private:
  void Recompute() { observers_dirty_ = true; }
  void BeginTerm(const RaftFacts& raft, int64_t wall_ms, Effects& fx);
  void ReportObservations(const RaftFacts& raft, core::Instant now,
                          const std::vector<LocalObservation>& observations, Effects& fx);
  void LeaderDuties(const RaftFacts& raft, core::Instant now, int64_t wall_ms, Effects& fx);
  void OnRejoin(const RejoinRequest& r, core::Instant now, int64_t wall_ms, Effects& fx);
  void Autopilot(int64_t wall_ms, Effects& fx);
  void Route(const RaftFacts& raft, PeerMessage m, Effects& fx);

  CoordinatorOptions options_;
  View view_;
  raft::ConfState conf_;
  mutable Observers observers_;
  mutable bool observers_dirty_ = false;
  Aggregator aggregator_;
  uint64_t led_term_ = 0;                   // the term this agent last acted as leader in
  std::optional<core::Instant> next_join_;  // no join request before this
  uint32_t join_attempts_ = 0;              // since this member was last in the view
  uint64_t random_state_;
  core::Duration JoinBackoff();
  bool leaving_ = false;
  std::set<std::string> suspected_;  // members this agent currently reports

  struct Probation {
    uint64_t incarnation = 0;
    core::Instant first;
    core::Instant last;
  };
  std::map<std::string, Probation> rejoining_;  // leader: members asking to come back
  std::map<std::string, core::Instant> joins_proposed_;
  std::map<std::string, core::Instant> stopped_proposed_;    // leader: grace expiries proposed
  std::map<std::string, core::Instant> revisions_proposed_;  // leader: Revise proposed
  // This process's first incarnation: a death of an earlier one is one it
  // did not live through (it restarted).
  uint64_t start_incarnation_ = options_.self.incarnation;
  Account account_;  // what this member would say if it found itself dead
  std::vector<LockChange> lock_changes_;
  std::optional<core::Instant> leaderless_since_;  // no leader known since
};

}  // namespace ringwatch::membership
