#pragma once
// raft::Node — one Raft server as a pure state machine (etcd raft's shape).
//
// The embedding drives it with three kinds of calls — Step(message) for every
// message from a peer, Tick() at a fixed period, Propose*() for new entries —
// and collects the effects with the Ready cycle:
//
//     while (node.HasReady()) {
//       Ready rd = node.GetReady();
//       storage.Save(rd);          // snapshot, entries, hard state: durable first
//       send(rd.messages);          // only then may anything depending on them go out
//       apply(rd.snapshot if rd.restore, rd.committed);
//       node.Advance(rd);
//     }
//
// No clock, thread, socket or file inside: time is ticks, randomness comes
// from Options::seed, so a simulation replays exactly.
//
// What is implemented: leader election with randomized timeouts (§5.2),
// PreVote (dissertation §9.6), CheckQuorum and the leader lease that goes
// with it (§6.2/§9.6), log replication with conflict-term fast backup (§5.3),
// commitment only of current-term entries (§5.4.2), learners, single-server
// voter changes applied when appended (dissertation §4.1, with the fix that a
// leader first commits an entry of its own term), leadership transfer
// (dissertation §3.10), snapshots and InstallSnapshot (§7), proposal
// forwarding, and the fast failover input (SetLeaderSuspected).
//
// Not thread-safe: one thread (the agent's core loop) owns a Node.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/result.h"
#include "raft/log.h"
#include "raft/progress.h"
#include "raft/types.h"

namespace ringwatch::raft {

struct Options {
  NodeId id;
  // A follower that hears no leader for a random time in
  // [election_ticks, 2*election_ticks) starts an election.
  int election_ticks = 10;
  int heartbeat_ticks = 1;  // leader → voters
  // Leader → learners: a slower keepalive; appends still flow on every change.
  int learner_heartbeat_ticks = 5;
  bool pre_vote = true;
  bool check_quorum = true;
  std::size_t max_inflight = 256;           // pipelined appends per follower
  std::size_t max_message_bytes = 1 << 20;  // entry data per append
  std::size_t max_apply_bytes = 4 << 20;    // entry data per Ready.committed
  uint64_t seed = 1;                        // randomized election timeouts
};

// What Storage loaded at start. A new bootstrap voter passes BootstrapEntries;
// a new joiner passes nothing and learns everything from the leader.
struct Restored {
  HardState hard_state;
  std::optional<Snapshot> snapshot;
  std::vector<Entry> entries;  // contiguous, after the snapshot
  bool quarantined = false;    // see Node::SetQuarantined
};

// The starting state of every member of a new cluster: one committed entry of
// term 1 holding the initial configuration, identical on all of them, so it
// replicates to later members like any entry (etcd bootstraps the same way).
Restored Bootstrap(const ConfState& conf);

enum class Role { kFollower, kPreCandidate, kCandidate, kLeader };
const char* ToString(Role role);

struct Ready {
  std::optional<HardState> hard_state;  // changed since the last Ready
  // A snapshot to persist. restore: it came from the leader and replaces the
  // state machine; otherwise it was made locally by Compact().
  std::optional<Snapshot> snapshot;
  bool restore = false;
  // Entries to append; storage drops any stored entry at or after
  // entries.front().index first (a follower's log repair).
  std::vector<Entry> entries;
  std::vector<Entry> committed;     // to apply, in order, after persisting
  std::vector<Message> messages;    // to send, after persisting
  std::optional<bool> quarantined;  // changed since the last Ready: persist it

  bool empty() const {
    return !hard_state && !snapshot && entries.empty() && committed.empty() && messages.empty() &&
           !quarantined;
  }
};

enum class Refusal {
  kNotLeader,          // leader: the known leader, maybe none
  kTransferring,       // leadership transfer in progress
  kConfChangePending,  // one change at a time; or the leader has not committed its term yet
  kInvalidConfChange,  // names a member that is not in the state the change needs
};
const char* ToString(Refusal refusal);

struct Rejection {
  Refusal refusal;
  NodeId leader;
  std::string detail;
};

struct Proposal {
  LogIndex index;  // zero when forwarded
  Term term;
  bool forwarded = false;
};

struct PeerStatus {
  NodeId id;
  bool voter = false;
  LogIndex match;
  LogIndex next;
  ProgressState state = ProgressState::kProbe;
  bool recent_active = false;
};

struct Status {
  NodeId id;
  Role role = Role::kFollower;
  Term term;
  NodeId vote;
  NodeId leader;
  LogIndex commit;
  LogIndex applied;
  LogIndex last_index;
  LogIndex snapshot_index;
  ConfState conf;
  NodeId transferee;
  std::vector<PeerStatus> peers;  // leader only
};

struct NodeStats {
  uint64_t messages_invalid = 0;  // malformed or impossible; dropped
  uint64_t messages_stale = 0;    // from an older term; dropped or answered
  uint64_t votes_ignored_in_lease = 0;
  uint64_t proposals_dropped = 0;  // forwarded proposals with nowhere to go
  uint64_t elections = 0;          // real elections started by this node
  uint64_t pre_elections = 0;
  uint64_t leader_changes = 0;  // times leader() changed to a non-empty id
};

class Node {
 public:
  Node(Options options, Restored restored);

  void Tick();
  // A message from a peer. Messages not addressed to this node, from itself,
  // or impossible (non-contiguous entries, terms from the future) are
  // dropped and counted, never trusted.
  void Step(Message message);

  // Appends data at the leader. A follower forwards it to its known leader
  // (Proposal::forwarded); with no leader it refuses with kNotLeader.
  core::Result<Proposal, Rejection> Propose(std::string data);
  // Leader only; one change in flight at a time.
  core::Result<Proposal, Rejection> ProposeConfChange(const ConfChange& change);
  // Leader only: hand leadership to a voter (for a graceful shutdown). New
  // proposals are refused until it completes or an election timeout passes.
  std::optional<Rejection> TransferLeadership(const NodeId& target);
  // Starts an election now (with a pre-vote when enabled). Ignored on a
  // leader and on a node that is not a voter.
  void Campaign();
  // Fast failover input: this node's failure detector suspects (or no longer
  // suspects) the current leader. Level-triggered: call it whenever the
  // verdict about the current leader may have changed. On a new suspicion a
  // follower starts a pre-vote at once (retrying within a few heartbeat
  // intervals while it stays a candidate); and while it suspects that leader
  // it grants pre-votes and votes inside the lease. A voter whose detector
  // does not suspect the leader keeps refusing, so one wrong suspicion changes
  // nobody's leader or term.
  void SetLeaderSuspected(bool suspected);
  // The transport could not reach `peer`: probe it again from its match.
  void ReportUnreachable(const NodeId& peer);

  bool HasReady() const;
  // The next Ready. Messages, ticks and proposals may be stepped while it is
  // being saved (off the caller's thread); what they produce waits for the
  // next GetReady(), which must follow Advance().
  Ready GetReady();
  // Precondition: `ready` is the last GetReady(), fully persisted and applied.
  void Advance(const Ready& ready);

  // The state machine, applied up to `index` (<= applied), is `data`: keep it
  // as the snapshot and drop the log before it. The next Ready carries the
  // snapshot to persist.
  void Compact(LogIndex index, std::string data);

  Status GetStatus() const;
  Role role() const;
  Term term() const { return term_; }
  const NodeId& leader() const { return leader_; }
  const NodeId& id() const { return options_.id; }
  const ConfState& conf() const { return conf_; }
  const RaftLog& log() const { return log_; }
  const NodeStats& stats() const { return stats_; }

  // Lost Raft state (docs/raft.md "Lost state"). A node that starts without
  // its Raft state may, under its old identity, have voted and acknowledged
  // entries it no longer holds; voting again with an empty log could elect
  // a leader without committed entries. A quarantined node never grants a
  // vote or campaigns — except in a brand-new cluster, where every voter's
  // log is the bootstrap entry alone: then it votes for (or is) a candidate
  // with such a log, and that ends the quarantine. Otherwise it ends once
  // the node has applied the log up to the commit index of the first leader
  // it heard and, there, the configuration does not count it as a voter
  // (its old identity was a learner, or the leader removed it); or when the
  // embedding knows there is no old identity (SetQuarantined(false): the
  // membership view never had this member). The flag is durable
  // (Ready::quarantined).
  void SetQuarantined(bool quarantined);
  bool quarantined() const { return quarantined_; }
  // Why the quarantine ended ("" while it lasts or never was).
  const char* quarantine_lift_reason() const { return quarantine_lift_reason_; }
  bool IsVoter() const { return conf_.voters.count(options_.id) > 0; }

  // Aborts with a message when an invariant of this node is broken. Tests
  // call it after every step.
  void CheckInvariants() const;

 private:
  struct Follower {};
  struct Candidate {
    bool pre = false;
    std::map<NodeId, bool> votes;
  };
  struct Leader {
    std::map<NodeId, Progress> progress;  // every member but this node
    NodeId transferee;
    LogIndex pending_conf_index;  // no new change while committed < this
    int heartbeat_elapsed = 0;
    int learner_heartbeat_elapsed = 0;
  };

  enum class CampaignKind { kPreElection, kElection, kTransfer };

  void BecomeFollower(Term term, NodeId leader);
  void BecomePreCandidate();
  void BecomeCandidate();
  void BecomeLeader();
  void StartCampaign(CampaignKind kind);
  void Poll(const NodeId& from, bool granted);
  void ResetElectionTimer();
  void SetLeader(NodeId leader);

  bool Validate(const Message& m) const;
  bool InLease() const;
  void StepFollower(Message& m);
  void StepCandidate(Message& m);
  void StepLeader(Message& m);
  void HandleVoteRequest(const Message& m);
  void HandleAppend(const Message& m);
  void HandleHeartbeat(const Message& m);
  void HandleSnapshot(const Message& m);
  void HandleAppendResponse(const Message& m, Leader& leader);
  void HandleHeartbeatResponse(const Message& m, Leader& leader);

  void TickLeader(Leader& leader);
  void AppendAsLeader(std::vector<Entry> entries);
  bool SendAppend(const NodeId& to, Progress& pr, bool send_if_empty);
  void BroadcastAppend();
  void BroadcastHeartbeat(bool learners_too);
  bool MaybeCommit();
  bool QuorumActive(Leader& leader) const;
  std::size_t Quorum() const { return conf_.voters.size() / 2 + 1; }

  // Configuration in force after applying the log's conf entries up to
  // `index` to the snapshot's configuration.
  ConfState ConfAt(LogIndex index) const;
  void RefreshConf();
  // The configuration after `appended` (just added at the end of the log).
  void AppendConf(const std::vector<Entry>& appended);
  // The leader keeps one Progress per member of conf_ but itself.
  void SyncProgress();
  void Send(Message m);
  Message Reply(const Message& to, MessageType type) const;
  HardState CurrentHardState() const { return HardState{term_, vote_, log_.committed()}; }
  uint64_t NextRandom();

  Options options_;
  // Persistent state (Figure 2). Invariant: term_ never decreases.
  Term term_;
  NodeId vote_;  // voted for in term_
  RaftLog log_;

  std::optional<Snapshot> snapshot_;  // latest snapshot, kept to send to followers
  ConfState snapshot_conf_;           // configuration at the snapshot point
  ConfState conf_;                    // configuration at log_.last_index()
  bool snapshot_unsaved_ = false;     // snapshot_ not yet handed out in a Ready
  bool snapshot_restore_ = false;

  std::variant<Follower, Candidate, Leader> role_;
  NodeId leader_;
  NodeId suspected_leader_;     // the leader our failure detector suspects
  bool fast_campaign_ = false;  // campaigning because of suspected_leader_
  int fast_retries_ = 0;
  int election_elapsed_ = 0;
  int randomized_election_ticks_ = 0;
  uint64_t random_state_;

  HardState saved_hard_state_;  // as of the last Ready handed out
  bool quarantined_ = false;
  bool saved_quarantined_ = false;
  LogIndex quarantine_until_;  // the first leader's commit index, once heard
  const char* quarantine_lift_reason_ = "";
  void LiftQuarantine(const char* why);
  void MaybeLiftQuarantine();
  std::vector<Message> outbox_;
  NodeStats stats_;
};

}  // namespace ringwatch::raft
