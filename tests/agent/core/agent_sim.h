#pragma once
// Deterministic simulation of whole agents: each agent is the runtime's own
// AgentCore (agent/core/agent_core.h) over a raft::MemoryStorage, driven on
// a simulated clock and network — the same object the agent process runs,
// so the simulation proves the runtime's policies, not a copy of them. The
// harness only performs effects, as agent/core_loop.cpp does:
//   - Raft and membership frames to a member id go where the sender's
//     PeerAddresses() says (unknown address: dropped, and Raft is told the
//     peer is unreachable), in order, 0-2 ms, unless an end is down or cut;
//   - frames to a seed address reach the agent listening there; an address
//     nobody listens on fails (OnSeedFailed), as a refused connect does;
//   - heartbeats go to the HeartbeatTargets() addresses, lossy and jittered
//     like UDP; acks come back when the core asks for one;
//   - a probe of a crashed agent is refused, of a cut-off one (either way)
//     times out, of a live one — a paused one too — connects;
//   - when an agent's process ends (a crash, a stop), the kernel closes its
//     connections: every agent holding one to it (HeldConnections) is told
//     (OnConnectionClosed) within 0-2 ms, unless the link between them is
//     cut — after a goodbye when the stop was graceful (fx.stopped); a cut,
//     a pause or a lossy link closes nothing;
//   - a paused agent (SIGSTOP) runs nothing until it resumes; what reaches
//     it meanwhile waits in its sockets and is handled at once then;
//   - a save (CoreEffects::persist) goes to the agent's MemoryStorage at
//     once, or after its persist_delay (a slow disk; lost if the agent
//     crashes first), and OnPersisted() follows.
// Agent "nI" listens at "nI:7420". Everything is driven from the seed; a
// failing seed prints how to re-run it.
//
// Not thread-safe; one test owns an AgentSim.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "agent/core/agent_core.h"
#include "raft/storage.h"

namespace ringwatch::agent::sim {

constexpr auto kStep = std::chrono::milliseconds(25);  // one Raft tick

std::string AddressOf(const std::string& id);  // "n1" -> "n1:7420"

struct SimAgent {
  std::string id;
  bool up = false;
  std::unique_ptr<raft::MemoryStorage> storage;
  std::unique_ptr<AgentCore> core;
  std::map<std::string, std::string> addresses;  // as the transport knows them
  std::optional<int64_t> joined_at_ms;           // sim time it was first alive in its own view
  std::vector<Completion> completions;
  bool stopped = false;
  // Each save (CoreEffects::persist) takes this long: a slow disk. Zero:
  // saved and reported at once.
  std::chrono::milliseconds persist_delay{0};
  uint64_t life = 0;  // counts starts: a save of an earlier life is dropped
  // Times this agent's detector newly suspected a member, by member id.
  std::map<std::string, int> suspicions;
  // Its signing key, as <data_dir>/identity.key: kept across restarts, lost by Wipe.
  core::SigningKey identity;
  // Inputs its core refused, by reason (bad_identity, replay): none in a
  // cluster of honest agents, except around a lost disk (a new key).
  std::map<std::string, int> refused;
  // The members it holds a connection to (AgentCore::HeldConnections).
  std::set<std::string> held;
};

struct SimOptions {
  int members = 5;
  int voters = 3;  // n1..n<voters> are the bootstrap voters
  // Seeds of every agent (addresses); empty: every agent's address.
  std::vector<std::string> seeds;
  // The cluster has already formed: every agent starts from the same
  // snapshot (all alive; the first `voters` vote, the rest are learners).
  bool formed = false;
  // Agents started at construction (ids); nullopt: all.
  std::optional<std::vector<std::string>> start;
  core::Duration restart_grace = std::chrono::seconds(30);
  // detector.rejoin_probation: doubled for each recent death of the member
  // (a test that kills the same members many times wants it short).
  core::Duration rejoin_probation = std::chrono::seconds(2);
};

class AgentSim {
 public:
  AgentSim(uint64_t seed, SimOptions options);

  // Starts (or restarts, with a new incarnation and the same storage) `id`
  // with `seeds` (empty: the simulation's seeds).
  void Start(const std::string& id, std::vector<std::string> seeds = {});
  void Crash(const std::string& id);
  // Crashes `id` (if up) and cuts the last `entries` entries from its
  // storage (keeping at least the first), as a torn wal tail loses them;
  // Start() it again afterwards.
  void LoseTail(const std::string& id, std::size_t entries);
  // Crashes `id` (if up) and gives it an empty Raft storage: a replaced
  // disk. Start() it again afterwards.
  void Wipe(const std::string& id);
  // One history: with check_history_ set, after every step each up agent's
  // newly committed entries (and restored snapshot points) are compared
  // with what any agent committed at that index before — a committed entry
  // lost or replaced shows as a different term or payload at its index.
  // The first violation, or "".
  bool check_history_ = false;
  const std::string& history_violation() const { return history_violation_; }
  void StepOnce();
  void Run(std::chrono::milliseconds d);
  // Steps until every up agent's view holds each of `ids` in `state`.
  bool AwaitEverywhere(const std::vector<std::string>& ids, const std::string& state,
                       std::chrono::milliseconds limit);
  // Steps until every member is alive in every up agent's view and the
  // views are identical; false after `limit`.
  bool AwaitAllAlive(std::chrono::milliseconds limit);
  // Steps until `done()` or `limit` of simulated time; true when done.
  template <typename F>
  bool RunUntil(F done, std::chrono::milliseconds limit) {
    for (int64_t i = 0; i < limit / kStep; ++i) {
      if (done()) return true;
      StepOnce();
    }
    return done();
  }
  // Crashes `id` and steps until every live view holds it dead; false when
  // that takes longer than 2 s of simulated time (the detection bound).
  bool CrashAndAwaitDeath(const std::string& id);
  // Graceful stop: kRestart is SIGTERM, kLeave is POST /v1/leave.
  void Stop(const std::string& id, StopMode mode);
  // Lock requests through `id` (its HTTP API); the answer lands in its
  // `completions` with `token`.
  void AcquireLock(const std::string& id, const LockRequest& request, uint64_t token);
  void RenewLock(const std::string& id, const std::string& name, uint64_t lock_token,
                 uint64_t token);
  void ReleaseLock(const std::string& id, const std::string& name, uint64_t lock_token,
                   uint64_t token);

  core::Instant Now() const;
  int64_t NowMs() const { return step_ * kStep.count(); }
  int64_t WallMs() const { return 1'700'000'000'000 + NowMs(); }

  SimAgent& agent(const std::string& id) { return agents_.at(id); }
  const std::map<std::string, SimAgent>& agents() const { return agents_; }
  const std::vector<std::string>& ids() const { return ids_; }

  // The state of `id` in the view of every up agent (empty when they differ).
  std::string StateEverywhere(const std::string& id) const;
  std::string StateIn(const std::string& agent, const std::string& id) const;
  // Every up agent is alive in its own view.
  bool AllJoined() const;
  // Views byte-identical across up agents that applied the same entries.
  bool ViewsIdentical() const;
  std::size_t DeadEvents() const;
  // The leader among up agents, or "".
  std::string Leader() const;

  // Pauses `id` for `d` (SIGSTOP, then SIGCONT): it runs nothing meanwhile.
  void Pause(const std::string& id, std::chrono::milliseconds d);

  std::set<std::string> side_;                                 // one side of a partition
  std::set<std::pair<std::string, std::string>> one_way_;      // (from, to): every frame lost
  std::set<std::pair<std::string, std::string>> lossy_links_;  // (from, to): heartbeats lost
  std::set<std::string> mute_membership_;                      // their membership sends are lost
  // Raft messages to an agent are lost until this sim time (ms): a leader's
  // connection to a restarted agent that waits out its reconnect backoff.
  std::map<std::string, int64_t> raft_deaf_until_ms_;
  std::map<std::string, int64_t> paused_until_ms_;  // paused agents: until this sim time
  int loss_per_10000_ = 0;
  int jitter_ms_ = 5;

 private:
  struct Item {
    enum Kind { kRaft, kMember, kHeartbeat, kAck, kProbe, kPersisted, kClosed } kind = kRaft;
    std::string from, to;  // agent ids
    PeerOrigin origin;     // the sender, as its frame's signature says
    std::optional<raft::Message> raft;
    std::optional<membership::PeerMessage> member;
    std::optional<Heartbeat> heartbeat;
    std::optional<HeartbeatAck> ack;
    std::string probed;                  // kProbe: the probed member's id (the result goes to `to`)
    std::optional<raft::Ready> persist;  // kPersisted: saved when it lands
    uint64_t life = 0;                   // kPersisted: of this life of the agent
    membership::ProbeResult result = membership::ProbeResult::kNone;
    bool by_plan = false;  // kClosed: a goodbye came first
  };
  void Perform(SimAgent& a, CoreEffects fx);
  // `id`'s process ended: its connections close (see the header comment);
  // `by_plan`: a graceful stop, which says goodbye first.
  void ProcessGone(const std::string& id, bool by_plan = false);
  void Send(Item item, std::chrono::milliseconds delay);
  void Deliver(Item& item);
  bool Cut(const std::string& a, const std::string& b) const;
  int Uniform(int lo, int hi);
  CoreTime Time() const { return CoreTime{Now(), WallMs()}; }
  std::string IdAt(const std::string& address) const;

  SimOptions options_;
  std::mt19937_64 rng_;
  uint64_t seed_;
  std::vector<std::string> ids_;
  std::map<std::string, SimAgent> agents_;
  std::optional<raft::Snapshot> formed_;
  raft::ConfState bootstrap_;
  std::multimap<std::pair<int64_t, uint64_t>, Item> queue_;  // (due step ms, seq)
  // Raft and membership frames keep their order per (from, to): TCP.
  std::map<std::pair<std::string, std::string>, int64_t> link_due_;
  void CheckHistory();
  std::map<uint64_t, std::pair<uint64_t, std::size_t>> history_;  // index -> (term, data hash)
  std::map<std::string, uint64_t> history_checked_;               // agent -> index checked
  std::string history_violation_;
  uint64_t seq_ = 0;
  int64_t step_ = 0;
};

uint64_t Seeds();                  // RINGWATCH_AGENT_SIM_SEEDS, default 20
std::vector<uint64_t> SeedList();  // RINGWATCH_AGENT_SIM_SEED, else 1..Seeds()
std::vector<uint64_t> LargeSeedList(uint64_t fallback);
std::string Rerun(uint64_t seed);

}  // namespace ringwatch::agent::sim
