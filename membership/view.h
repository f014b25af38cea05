#pragma once
// membership::View — the replicated state machine of agreed membership.
// Every agent applies the same committed commands in the same order and so
// holds a byte-identical view (Encode() is the proof and the Raft snapshot).
//
// Rules (each ignores a command that does not fit the current state, so a
// stale or duplicated decision changes nothing):
//   AddMember     new id → alive; a dead or left member comes back, and an
//                 alive one restarted, with a higher incarnation
//   AddMember     also: restarting, higher incarnation → alive ("returned",
//                 no probation)
//   Restarting    alive, same incarnation → restarting (a planned restart;
//                 the ring keeps the member)
//   MarkDead      alive or restarting, same incarnation → dead, with its
//                 diagnosis (class `stopped`: the restart grace ran out)
//   MarkAlive     dead, higher incarnation → alive (rejoin)
//   Leave         alive, restarting or dead → left
//   Remove        dead or left → forgotten
//   UpdateMember  alive, incarnation not lower → new address/zone/service/weight
//   LeaderElected → an event
//   Lock*         the lock table (membership/locks.h); LockAcquire only for a
//                 member alive in that incarnation. A member's locks are
//                 released when it is declared dead (member_dead), leaves
//                 (member_left), announces a planned restart or comes back
//                 as a new incarnation (restarted).
// `version` counts the applied commands that changed a member; `ring_version`
// is the version of the latest change to what the ring is built from (the
// alive members' ids, services, zones and weights), so every agent gives the
// same ring the same version whatever batches it applied entries in. The
// event log keeps the latest kMaxEvents events (their seq keeps counting).
// Not thread-safe; one owner (the agent's core loop), copied for readers.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/ids.h"
#include "membership/command.h"
#include "membership/locks.h"
#include "membership/types.h"

namespace ringwatch::membership {

// The states whose members the ring (and the observer assignment) holds:
// alive, and away for a planned restart.
inline bool InRing(MemberState s) {
  return s == MemberState::kAlive || s == MemberState::kRestarting;
}

// Verdict classes (what observers conclude) and revision classes (what a
// returning member's account shows): docs/architecture.md "Diagnosis".
bool IsVerdict(DiagnosisClass c);
bool IsRevision(DiagnosisClass c);

// Whether a join may register `identity` (a public key) for `m`: the same
// key, a member without one yet (an entry of an earlier version), or a new
// key once the member is dead or left — never a key change of a live member
// (a holder of the cluster key must not take over a member's id) and never
// back to none. Applied to every AddMember and UpdateMember.
bool IdentityMayChange(const Member& m, const std::string& identity);

// A death within this long after a rejoin counts as a flap.
inline constexpr int64_t kFlapWindowMs = 10 * 60 * 1000;

class View {
 public:
  static constexpr std::size_t kMaxEvents = 1024;
  static constexpr std::size_t kMaxRemoved = 1024;

  // What applying one command did, for the embedding (events, hooks, metrics).
  struct Change {
    bool member_changed = false;
    std::optional<Event> event;
    std::vector<LockChange> locks = {};  // what it did to the lock table
  };

  // `index`: the command's Raft index (a lock acquired by it takes it as
  // its token; 0 — not from a log, as in tests of other commands — takes
  // no lock).
  Change Apply(const Command& command, uint64_t index = 0);
  // Raft configuration changes become events (voter_added / voter_removed),
  // stamped with the time of the latest applied command.
  Change VoterAdded(const std::string& id);
  Change VoterRemoved(const std::string& id);

  core::ViewVersion version() const { return core::ViewVersion{version_}; }
  core::ViewVersion ring_version() const { return core::ViewVersion{ring_version_}; }
  // Ids an operator removed (Remove applied) and that have not joined again,
  // the latest kMaxRemoved of them, with the view version of their removal:
  // autopilot takes them out of the Raft configuration, also on an agent
  // that learned the view from a snapshot.
  const std::map<std::string, uint64_t>& removed() const { return removed_; }
  const std::map<std::string, Member>& members() const { return members_; }
  const Member* Find(const std::string& id) const;
  const std::deque<Event>& events() const { return events_; }
  const LockTable& locks() const { return locks_; }
  uint64_t next_event_seq() const { return next_seq_; }
  int64_t last_time_ms() const { return last_time_ms_; }

  std::vector<std::string> AliveIds() const;
  std::vector<std::string> InRingIds() const;  // alive or restarting
  std::size_t Count(MemberState state) const;

  // Deterministic encoding of the whole state (the Raft snapshot data).
  // `format`: 0 for the current one; an earlier one (1: no ring version and
  // removed ids; 2: no identities; ...; 5: no locks) for the compatibility
  // tests of Decode.
  std::string Encode(uint8_t format = 0) const;
  static std::optional<View> Decode(std::string_view bytes);

  bool operator==(const View&) const = default;

 private:
  Change ApplyBody(const Command& command, uint64_t index);
  void ReleaseLocks(const std::string& member, LockReleaseReason reason, int64_t now_ms,
                    Change& change);
  Change Record(int64_t time_ms, EventKind kind, const std::string& member,
                std::optional<DiagnosisClass> diagnosis, bool member_changed);

  uint64_t version_ = 0;
  uint64_t ring_version_ = 0;
  std::map<std::string, Member> members_;
  std::deque<Event> events_;
  std::map<std::string, uint64_t> removed_;
  uint64_t next_seq_ = 1;
  int64_t last_time_ms_ = 0;
  LockTable locks_;
};

}  // namespace ringwatch::membership
