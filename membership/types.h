#pragma once
// The vocabulary of agreed membership: members and their states, the
// evidence behind a death (diagnosis), and the events every agent shows.
// Plain values; no I/O. Times in the view are wall-clock milliseconds chosen
// by the leader when it proposes, so every agent records the same ones.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace ringwatch::membership {

// kRestarting: a planned restart (SIGTERM) is under way; the member keeps
// its place in the ring until it returns or cluster.restart_grace ends.
enum class MemberState : uint8_t { kAlive = 1, kDead = 2, kLeft = 3, kRestarting = 4 };
const char* ToString(MemberState state);

// docs/architecture.md "Diagnosis". The first seven are verdicts (what the survivors
// saw when they declared the member dead); the last three only revisions
// (what the member itself said when it came back), with kPartition.
enum class DiagnosisClass : uint8_t {
  kProcessDown = 1,   // all observers silent; TCP connect refused
  kHostDown = 2,      // all observers silent; TCP connect timed out (or no probe); alone
  kPartition = 3,     // some observers still hear it, or a group went silent together
  kOverloaded = 4,    // late heartbeats; its health summary shows pressure
  kLeft = 5,          // graceful leave
  kStopped = 6,       // a planned restart that did not return within restart_grace
  kUnresponsive = 7,  // all observers silent; TCP connect accepted (hung, paused, starved)
  kIsolated = 8,      // revision: it heard nobody meanwhile (cut off, interface down)
  kPaused = 9,        // revision: its own stall detector measured the silence as a pause
  kCrashed = 10,      // revision: it came back as a new process (it restarted)
};
inline constexpr uint8_t kMaxDiagnosisClass = 10;
const char* ToString(DiagnosisClass c);

// What an observer's TCP connect to the member's peer port found.
enum class ProbeResult : uint8_t { kNone = 0, kRefused = 1, kTimeout = 2, kConnected = 3 };
const char* ToString(ProbeResult p);

// Which detector path made an observer suspect the member (docs/architecture.md
// "Fast path"): the connection it holds to the member closed and its port
// refused a connect (kFast), phi crossed its threshold (kPhi), or a member
// never heard outlived the heartbeat timeout (kTimeout).
enum class DetectionPath : uint8_t { kNone = 0, kPhi = 1, kTimeout = 2, kFast = 3 };
inline constexpr uint8_t kMaxDetectionPath = 3;
const char* ToString(DetectionPath p);

// The member's own health summary, as carried by its heartbeats.
struct Health {
  float load1_per_core = 0;
  float memory_available_ratio = 1;
  float fullest_filesystem_ratio = 0;
  float agent_cpu_ratio = 0;
  bool operator==(const Health&) const = default;
};

// One observer's view of the member when the decision was made.
struct ObserverEvidence {
  std::string observer;
  double phi = 0;
  double silence_seconds = 0;
  bool suspected = false;
  ProbeResult probe = ProbeResult::kNone;     // its TCP connect to the member
  DetectionPath path = DetectionPath::kNone;  // what made it suspect (when it did)
  bool operator==(const ObserverEvidence&) const = default;
};

// What a member declared dead says about the time it was away, when it
// comes back (docs/architecture.md "Diagnosis").
struct Account {
  bool restarted = false;  // it came back as a new process
  // The members it watches that it kept hearing while it could not hear
  // most of them (its own isolation episode); all of them when it had no
  // such episode. Sorted, at most kMaxAccountHeard.
  std::vector<std::string> heard;
  bool episode = false;           // it lost most of the members it watches meanwhile
  uint32_t longest_pause_ms = 0;  // the longest stall of its own event loop, recently
  bool operator==(const Account&) const = default;
};
inline constexpr std::size_t kMaxAccountHeard = 64;

// The leader's second opinion on a death, from the member's account.
struct Revision {
  DiagnosisClass cls = DiagnosisClass::kIsolated;  // partition, isolated, paused or crashed
  Account account;
  int64_t revised_at_ms = 0;
  bool operator==(const Revision&) const = default;
};

struct Diagnosis {
  DiagnosisClass cls = DiagnosisClass::kHostDown;
  std::vector<ObserverEvidence> observers;  // sorted by observer id
  ProbeResult probe = ProbeResult::kNone;   // the most telling of the observers' probes
  std::optional<Health> health;
  int64_t decided_at_ms = 0;
  // kPartition by correlation: the other members that went silent within
  // the same detection window (the other side). Sorted.
  std::vector<std::string> group = {};
  std::optional<Revision> revision = {};  // set once the member has come back
  // The path of the suspicions that decided (most of the suspecting
  // observers'; kFast on a tie): kNone for a leave or a stop.
  DetectionPath path = DetectionPath::kNone;
  bool operator==(const Diagnosis&) const = default;
};

// Bounds on what a member says about itself, as the config loader allows
// them (node.weight, node.service) and the Raft configuration encodes them
// (ids: core::IsValidId). Checked when any message or command is decoded —
// so a forged join is refused before anything is proposed, and a committed
// entry that breaks them (an old log) is a deterministic no-op everywhere.
inline constexpr uint32_t kMaxWeight = 1000;
inline constexpr std::size_t kMaxServiceLength = 255;
inline constexpr std::size_t kMaxAddressLength = 261;  // a 253-byte host name, ":", a port
inline constexpr std::size_t kIdentitySize = 32;       // an Ed25519 public key

// What a member says about itself when it joins.
struct MemberInfo {
  std::string id;
  std::string address;  // host:port of its peer port
  std::string zone;
  std::string service;  // host:port applications use (ring owners)
  uint32_t weight = 1;
  uint64_t incarnation = 0;
  // Its Ed25519 public key (32 bytes; empty in entries of earlier versions):
  // registered in the view at its first join, it is what every frame and
  // signed request of the member is checked against (docs/security.md).
  std::string identity = {};
  bool operator==(const MemberInfo&) const = default;
};
// Why `info` is out of bounds, or "" when it is not.
std::string InfoProblem(const MemberInfo& info);

struct Member {
  MemberInfo info;
  MemberState state = MemberState::kAlive;
  int64_t since_ms = 0;                // when it entered `state`
  std::optional<Diagnosis> diagnosis;  // the latest death or leave
  uint32_t flaps = 0;                  // deaths soon after a rejoin, within the flap window
  int64_t alive_since_ms = 0;
  bool operator==(const Member&) const = default;
};

enum class EventKind : uint8_t {
  kJoin = 1,
  kDead = 2,
  kAlive = 3,
  kLeave = 4,
  kLeader = 5,
  kVoterAdded = 6,
  kVoterRemoved = 7,
  kRemoved = 8,     // an operator removed a dead or left member (ringwatch addition)
  kRestarting = 9,  // a planned restart began (the ring stays as it is)
  kReturned = 10,   // back from a planned restart within the grace
  kRevised = 11,    // a dead member came back and its account revised the verdict
};
const char* ToString(EventKind kind);

struct Event {
  uint64_t seq = 0;
  int64_t time_ms = 0;
  EventKind kind = EventKind::kJoin;
  std::string member;
  std::optional<DiagnosisClass> diagnosis;
  bool operator==(const Event&) const = default;
};

}  // namespace ringwatch::membership
