#pragma once
// AgentCore — every decision one agent makes, sans I/O (docs/architecture.md "One core
// for the runtime and the simulation"). It owns the Raft node (its state
// loaded from a raft::Storage at start, saved through CoreEffects::persist),
// the membership coordinator, a detector policy
// per watched member, the stall detector, the watch policy (PlanWatch plus
// lingering targets), the leader-suspicion input of fast failover, joining
// through seed addresses, readiness, and the graceful-stop sequence.
//
// The runtime (agent/) and the deterministic simulation (tests/) drive this
// same object: they feed it time, heartbeats, acks, peer messages, probe
// results and Raft messages, and carry out the CoreEffects it returns —
// nothing else. Every input returns the effects it produced.
//
// Persistence is an effect too: a Raft Ready that must be durable comes out
// as CoreEffects::persist; the runtime saves it (on its storage thread, so a
// slow disk never holds up heartbeats or detection) and reports with
// OnPersisted(). Until then the Ready cycle waits — its messages are not
// sent, its committed entries not applied, no further Ready is taken — while
// everything else (heartbeats, verdicts, reports) goes on. So a CoreEffects'
// Raft messages are durable already and may leave at once.
//
// Time: every input takes a CoreTime (monotonic now + wall-clock ms for the
// view's timestamps). Advance() runs whatever is due — Raft ticks (a quarter
// of raft.heartbeat_interval; learners in batches of four), the detector
// tick every heartbeat interval (heartbeats out, verdicts, reports, joins,
// watch changes), deadlines — and NextWakeup() says when to call it again.
//
// Not thread-safe: one owner (the agent's core thread, or the simulation).

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "agent/core/completion.h"
#include "agent/core/heartbeat_codec.h"
#include "agent/core/lock_requests.h"
#include "agent/core/peer_origin.h"
#include "agent/core/watch_policy.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/ids.h"
#include "detectors/policy.h"
#include "membership/coordinator.h"
#include "raft/node.h"
#include "raft/storage.h"

namespace ringwatch::agent {

struct CoreOptions {
  // This member; `address` is the advertised peer address, "host:port".
  // Its `identity` is taken from `identity` below.
  membership::MemberInfo self;
  // This member's signing key (<data_dir>/identity.key); empty: a new one
  // is made (tests).
  core::SigningKey identity;
  // cluster.seeds as written ("host:port"): where join requests go while no
  // leader is known, one seed per attempt in turn.
  std::vector<std::string> seeds;
  std::vector<std::string> bootstrap_voters;
  uint32_t target_voters = 3;
  uint32_t observers = 5;
  uint32_t confirmations = 0;
  core::Duration rejoin_probation = std::chrono::seconds(2);
  detectors::PolicyOptions detector;
  // A watched member is probed once its phi reaches this, before it is
  // suspected, so the verdict can carry the result.
  double probe_phi = 4.0;

  core::Duration raft_heartbeat_interval = std::chrono::milliseconds(100);
  core::Duration election_timeout = std::chrono::seconds(1);
  uint64_t snapshot_entries = 1000;
  bool failover_from_detector = true;
  uint64_t random_seed = 1;  // election timeouts and join jitter

  core::Duration join_backoff_min = std::chrono::milliseconds(200);
  core::Duration join_backoff_max = std::chrono::seconds(5);
  // Not in the view this long: a warning naming the reason (and again
  // every join_warning_every).
  core::Duration join_warning_after = std::chrono::seconds(10);
  core::Duration join_warning_every = std::chrono::seconds(60);
  // systemd hears READY=1 once this member is alive in the view, or after
  // this long regardless, so a cluster outage does not fail service starts.
  core::Duration ready_fallback = std::chrono::seconds(60);
  // Former heartbeat targets keep receiving heartbeats this long: views
  // reach members at slightly different moments, and an observer whose view
  // is ahead must not miss heartbeats from a member whose view is behind.
  core::Duration linger = std::chrono::seconds(4);
  // The graceful leave of a stop (or its restart notice) waits this long
  // for the Leave (the notice) to commit.
  core::Duration leave_timeout = std::chrono::seconds(2);
  // A planned restart that has not returned after this is declared dead
  // (class `stopped`) by the leader.
  core::Duration restart_grace = std::chrono::seconds(30);
  // An operator removal waits this long for its commit.
  core::Duration remove_timeout = std::chrono::seconds(5);
  LockOptions locks;
};

struct CoreTime {
  core::Instant now;
  int64_t wall_ms = 0;
};

// This agent's own observation of one watched member (GET /v1/members local).
struct PeerView {
  std::string id;
  std::string address;  // "host:port" from the view
  uint64_t incarnation = 0;
  bool heard = false;
  double phi = 0;
  double silence_seconds = 0;
  std::optional<double> rtt_seconds;  // latest round trip, once known
  bool suspected = false;
  std::string suspected_by;                         // "fast", "phi", "timeout" or ""
  std::optional<collectors::HealthSummary> health;  // carried by its latest heartbeat
};

// This agent's Raft node, as /v1/status shows it.
struct RaftView {
  std::string role;  // follower, pre-candidate, candidate, leader
  uint64_t term = 0;
  std::string leader;  // empty: none known
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
  std::vector<std::string> voters;
  std::vector<std::string> learners;
  bool quarantined = false;  // started without Raft state; not voting yet
};

// A seed as configured: "host:port", resolved by the runtime at each send.
struct SeedAddress {
  std::string value;
  friend bool operator==(const SeedAddress&, const SeedAddress&) = default;
};

// A membership request to send: to a member (the transport knows its
// address) or to a seed address.
struct MembershipSend {
  std::variant<core::MemberId, SeedAddress> to;
  membership::PeerMessage message;
};

struct ProbeRequest {
  core::MemberId id;
  std::string address;  // TCP connect to this peer address
};

enum class ReadyNotice { kMember, kStillJoining };

// How an agent stops (AgentCore::Stop).
enum class StopMode {
  kRestart,  // SIGTERM: a planned restart; the member is `restarting`, the ring unchanged
  kLeave,    // `ringwatch leave`, or SIGTERM with leave_on_terminate: leave the cluster
};

struct CoreEffects {
  bool heartbeat_targets_changed = false;  // re-read HeartbeatTargets()
  // Peer addresses (id -> "host:port") new or changed for the transport.
  std::vector<std::pair<core::MemberId, std::string>> addresses;
  std::vector<raft::Message> raft;  // persisted already: send
  // Save this (hard state, entries, snapshot) durably, then call
  // OnPersisted(). At most one is outstanding.
  std::optional<raft::Ready> persist;
  std::vector<MembershipSend> membership;
  std::optional<Heartbeat> heartbeat;  // send to every heartbeat target now
  std::vector<ProbeRequest> probes;
  std::vector<core::MemberId> suspected;  // members newly suspected by this agent
  std::vector<core::MemberId> unwatched;  // members no longer watched (drop their series)
  bool connections_changed = false;       // re-read HeldConnections()
  bool ticked = false;                    // a detector tick ran: observations moved
  bool view_changed = false;              // committed entries changed the view
  bool raft_changed = false;              // role or leader changed
  bool leader_changed = false;            // a new non-empty leader
  std::vector<double> commit_seconds;     // proposal -> commit, of this leader's proposals
  std::vector<Completion> completions;
  std::vector<membership::LockChange> lock_changes;  // applied to the lock table
  std::vector<double> lock_handovers;                // LockRequests::Output::handovers
  std::optional<ReadyNotice> ready;                  // notify systemd once
  bool stopped = false;                              // the stop sequence is done: shut down
  std::optional<std::string> fatal;                  // storage failed: stop, exit 1
};

class AgentCore {
 public:
  // Heartbeats acked (for the round-trip time): those whose sequence number
  // is a multiple of this. Sampling saves a quarter of the datagrams.
  static constexpr uint64_t kAckEvery = 4;
  // Arrivals kept per watched member for GET /v1/peers/{id}/arrivals.
  static constexpr std::size_t kArrivalHistory = 4096;

  AgentCore(CoreOptions options, raft::Storage& storage);

  // Loads the durable state from `storage` (bootstrapping a new cluster when
  // this member is one of bootstrap_voters, or a one-voter cluster when
  // there are neither bootstrap voters nor seeds; that first save is made
  // here). Afterwards the core never touches the storage: saves are
  // CoreEffects::persist. Error: a message naming the file at fault.
  core::Result<CoreEffects, std::string> Start(CoreTime t);

  // Runs what is due at t.now; call again at NextWakeup() at the latest.
  CoreEffects Advance(CoreTime t);
  core::Instant NextWakeup() const;

  // A Raft message from a peer: queued into the node. Call Flush (or any
  // other input) afterwards; a burst of messages then shares one persist.
  // Refused (not stepped) when `from` is not message.from, not the key the
  // view registers for it, of an earlier life of it, not in this node's
  // Raft configuration (unless the node has none yet: it is joining), or a
  // proposal that is not the sender's to make (only its own Leave and
  // restart notice, and operator removals, come from followers).
  Refusal StepRaft(const PeerOrigin& from, raft::Message message);
  CoreEffects Flush(CoreTime t);
  // The transport could not reach `peer`.
  void Unreachable(const core::MemberId& peer);
  // The outstanding CoreEffects::persist is durable (no error), or could
  // not be saved (the error: the agent must stop — continuing could break
  // Raft safety).
  CoreEffects OnPersisted(std::optional<std::string> error, CoreTime t);

  // Join, rejoin and report requests must carry their origin's signature
  // (the key the view registers, or for a first join the key it asks to
  // register); see CheckOrigin for the frame's sender. `refused`, if given,
  // says why a message was not taken.
  CoreEffects OnPeerMessage(const PeerOrigin& from, const membership::PeerMessage& message,
                            CoreTime t, Refusal* refused = nullptr);

  struct HeartbeatReceipt {
    Refusal refused = Refusal::kNone;        // not taken (and not acked)
    bool ack = false;                        // answer with an ack
    bool watched = false;                    // from a member this agent watches
    std::optional<double> interval_seconds;  // since its previous heartbeat
    std::optional<double> rtt_seconds;       // the member's measurement, taken as ours
  };
  HeartbeatReceipt OnHeartbeat(const PeerOrigin& from, const Heartbeat& heartbeat, CoreTime t);
  // Whether a frame from `from` may speak for its sender: its key is the one
  // the committed view registers for the id (or the view registers none:
  // trust on first use, until the member's first join commits), and it is
  // not of an earlier life of the member than the view's.
  Refusal CheckOrigin(const PeerOrigin& from) const;
  const core::SigningKey& identity() const { return options_.identity; }
  struct AckReceipt {
    bool valid = false;    // false: not an echo of ours (a malformed or forged time)
    bool watched = false;  // from a member this agent watches
    double rtt_seconds = 0;
  };
  // An ack of one of our heartbeats.
  AckReceipt OnAck(const HeartbeatAck& ack, CoreTime t);
  CoreEffects OnProbeResult(const core::MemberId& id, membership::ProbeResult result, CoreTime t);
  // The fast path (docs/architecture.md "Fast path"): the connection this agent holds
  // to `id` (HeldConnections) was closed by the other end or reset. Not
  // evidence by itself: it probes the member's port, and only a refused
  // connect makes it suspect the member at once — reported at once, and on
  // a voter whose leader it is, a pre-vote at once. A port that still
  // accepts (the connection was closed for another reason, or the member
  // restarted) is nothing; a host that fails closes nothing. `by_plan`: the
  // member said goodbye first (a graceful stop: its restart or leave is
  // committed, perhaps not yet applied here) — nothing either.
  CoreEffects OnConnectionClosed(const core::MemberId& id, bool by_plan, CoreTime t);
  // A join request could not reach `seed` (it does not resolve, refused,
  // timed out); `is_self`: it resolved to this agent's own peer address.
  void OnSeedFailed(const std::string& seed, const std::string& reason, bool is_self);
  // The health summary carried by the heartbeats sent from now on.
  void SetHealth(std::optional<collectors::HealthSummary> health) { health_ = health; }

  // Graceful stop: a leader hands leadership over first (bounded by one
  // election timeout); then the member's restart notice (kRestart) or its
  // Leave (kLeave) is proposed and awaited (leave_timeout) — a member that is
  // not alive in the view has nothing to announce. Ends with
  // CoreEffects::stopped. `token` != 0: a Completion says whether the member
  // left (or announced its restart) (200) or not (409).
  CoreEffects Stop(StopMode mode, uint64_t token, CoreTime t);
  // Operator removal of a dead or left member; answered by a Completion.
  CoreEffects Remove(const core::MemberId& id, uint64_t token, CoreTime t);
  // Lock requests (LockRequests), each answered by a Completion carrying
  // the lock.
  CoreEffects AcquireLock(const LockRequest& request, uint64_t token, CoreTime t);
  CoreEffects RenewLock(const std::string& name, uint64_t lock_token, uint64_t token, CoreTime t);
  CoreEffects ReleaseLock(const std::string& name, uint64_t lock_token, uint64_t token, CoreTime t);

  // --- reads ---
  const membership::View& view() const { return coordinator_.view(); }
  const membership::Coordinator& coordinator() const { return coordinator_; }
  const membership::MemberInfo& self() const { return coordinator_.self(); }
  const raft::Node* node() const { return node_.get(); }
  RaftView Raft() const;
  std::string leader() const { return node_ ? node_->leader().value : std::string(); }
  bool stopping() const { return stop_.has_value(); }
  // Alive in the committed view and a leader is known.
  bool Ready() const;
  // Why not Ready(); empty when ready.
  std::string NotReadyReason() const;
  // Where to send heartbeats (the plan's targets and lingering ones).
  const std::map<core::MemberId, std::string>& HeartbeatTargets() const { return targets_; }
  // The members to hold a connection to for the fast path: those watched.
  std::vector<core::MemberId> HeldConnections() const;
  // Peer addresses of the members (and of joiners and leaders heard of
  // before the view holds them), for the transport.
  const std::map<core::MemberId, std::string>& PeerAddresses() const { return addresses_; }
  std::vector<PeerView> Peers(core::Instant now) const;
  std::optional<std::vector<double>> Arrivals(const core::MemberId& id) const;

 private:
  Refusal CheckMessage(const PeerOrigin& from, const membership::PeerMessage& message,
                       CoreTime t) const;
  bool ProposalAllowed(const std::string& from, const raft::Entry& entry) const;
  // Signs a join, rejoin or report request this member originates.
  void Sign(membership::PeerMessage& message, CoreTime t) const;
  struct Watched {
    Watched(std::string a, const detectors::PolicyOptions& o, core::Instant now)
        : address(std::move(a)), policy(o, now) {}
    std::string address;
    detectors::Policy policy;
    bool suspected = false;
    uint64_t incarnation = 0;       // of its latest heartbeat
    uint64_t view_incarnation = 0;  // the life the view holds (a new one: a fresh detector)
    std::optional<core::Duration> rtt;
    std::optional<collectors::HealthSummary> health;
    std::deque<core::Instant> arrivals;
    // The fast path: the connection this agent holds to it closed, and a
    // probe of its port is out (close_probe) or was refused (refused: it
    // is suspected until it is heard again).
    bool close_probe = false;
    bool refused = false;
    // A probe right after the close may still find the dying process's
    // listener (the kernel closes its connections and its listener one
    // after the other): a port that accepts is asked again, a few times.
    int close_probes = 0;
    std::optional<core::Instant> reprobe_at;
  };
  static constexpr int kCloseProbes = 3;
  static constexpr core::Duration kReprobeDelay = std::chrono::milliseconds(20);
  void CloseProbe(const std::string& id, Watched& w);
  bool AliveInView(const std::string& id) const;

  enum class StopPhase { kTransfer, kAnnounce };
  struct StopState {
    StopMode mode = StopMode::kRestart;
    uint64_t token = 0;
    StopPhase phase = StopPhase::kTransfer;
    int transfer_ticks_left = 0;
    bool transferring = false;
    core::Instant next_proposal;
    core::Instant deadline;
  };
  struct PendingRemoval {
    std::string id;
    uint64_t token = 0;
    core::Instant deadline;
  };
  struct Proposed {
    raft::Term term;
    core::Instant at;
  };

  raft::Options RaftOptions() const;
  void RaftTick(CoreTime t);
  void DetectorTick(CoreTime t);
  void Process(CoreTime t, bool again = false);
  void FinishReady(raft::Ready& rd, CoreTime t);
  void Apply(const raft::Entry& entry, CoreTime t);
  void Execute(membership::Effects fx, CoreTime t);
  void Propose(const membership::Command& command, CoreTime t);
  void UpdateWatch(CoreTime t);
  void Hint(const std::string& id, const std::string& address);
  std::string NextSeed();
  void StepStop(CoreTime t);
  void FinishStop(bool announced);
  void CheckProgress(CoreTime t);
  void WarnIfJoiningTooLong(CoreTime t);
  std::string JoinStatus() const;
  void NoteRaftChanges();
  membership::RaftFacts Facts() const;
  CoreEffects Take();

  CoreOptions options_;
  raft::Storage& storage_;
  std::unique_ptr<raft::Node> node_;
  membership::Coordinator coordinator_;
  detectors::StallDetector stall_;
  // This member's own account (docs/architecture.md "Diagnosis"), kept for a minute.
  static constexpr int64_t kAccountWindowMs = 60'000;
  static constexpr std::size_t kMaxPauses = 32;
  static constexpr std::size_t kMaxEpisodes = 8;
  struct Episode {
    bool active = false;
    std::set<std::string> watched;    // those it watched when it began
    std::set<std::string> arrived;    // watched members whose heartbeats came in it
    std::set<std::string> suspected;  // those it suspected at some point in it
    int64_t last_wall_ms = 0;         // the last tick it was in it (wall clock)
  };
  std::deque<Episode> episodes_;  // the last minute's, oldest first; only the last is active
  std::deque<std::pair<int64_t, core::Duration>> pauses_;  // (ended, wall ms; length)
  std::optional<membership::Account> frozen_account_;
  void TrackEpisode(CoreTime t);
  static membership::DetectionPath PathOf(const Watched& w, const detectors::Observation& o);
  // Its account of the time since `since_wall_ms`.
  membership::Account OwnAccount(int64_t since_wall_ms) const;
  CoreEffects fx_;  // what the current input has produced so far
  bool fatal_ = false;
  bool was_quarantined_ = false;
  std::optional<raft::Ready> persisting_;  // taken from the node, waiting for OnPersisted

  // Timers (monotonic).
  core::Duration raft_tick_;
  int election_ticks_ = 10;
  core::Instant next_raft_tick_;
  core::Instant next_detector_tick_;
  core::Instant started_;

  // The watch: the plan of the committed view, plus lingering targets.
  bool watch_dirty_ = true;
  std::string watched_leader_;
  std::map<core::MemberId, std::string> targets_;              // id -> address, lingering included
  std::map<core::MemberId, core::Instant> lingering_;          // id -> until
  std::map<core::MemberId, std::string> lingering_addresses_;  // id -> address
  std::map<std::string, Watched> watched_;
  std::map<core::MemberId, core::Duration> target_rtt_;    // our latest round trip to a target
  std::map<std::string, membership::ProbeResult> probes_;  // per suspicion episode
  std::optional<collectors::HealthSummary> health_;
  uint64_t heartbeat_sequence_ = 0;

  // Addresses heard of outside the view: joiners (from their requests) and
  // the leader (JoinAccepted), until the view holds them.
  std::map<std::string, std::string> hints_;
  // What the transport has been told: the view's members and the hints of
  // ids outside it (CoreEffects::addresses carries each change).
  std::map<core::MemberId, std::string> addresses_;
  void SetAddress(const std::string& id, const std::string& address);
  void SyncAddresses();  // after a snapshot: every member of the view
  std::size_t next_seed_ = 0;
  // The leader a JoinReply named: join requests go to it until this time.
  static constexpr core::Duration kLeaderHintFor = std::chrono::seconds(2);
  std::string leader_hint_;
  core::Instant leader_hint_until_;
  std::set<std::string> self_seeds_;                  // seeds that are this agent
  std::map<std::string, std::string> seed_failures_;  // seed -> latest reason
  std::optional<core::Instant> joining_since_;
  std::optional<core::Instant> next_join_warning_;

  std::map<raft::LogIndex, Proposed> proposed_;  // this leader's, for commit latency
  raft::NodeId last_leader_;
  raft::Role last_role_ = raft::Role::kFollower;

  bool ready_notified_ = false;
  std::optional<StopState> stop_;
  std::vector<PendingRemoval> removals_;
  LockRequests locks_{options_.locks};
  void Perform(LockRequests::Output out, CoreTime t);
};

}  // namespace ringwatch::agent
