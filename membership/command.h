#pragma once
// The commands of the replicated view: one per Raft entry (EntryType
// kNormal), proposed by the leader (or forwarded to it) and applied by every
// agent in log order. Each carries the leader's wall-clock time so that the
// view records the same times everywhere. Encoding: u8 version, i64 time,
// u8 tag, fields; decoders reject anything else. Pure functions.

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "membership/types.h"

namespace ringwatch::membership {

struct AddMember {  // join, or return after a leave/removal with a higher incarnation
  MemberInfo info;
  bool operator==(const AddMember&) const = default;
};
struct MarkDead {  // observers agreed; ignored unless `incarnation` is current
  std::string id;
  uint64_t incarnation = 0;
  Diagnosis diagnosis;
  bool operator==(const MarkDead&) const = default;
};
struct MarkAlive {  // a dead member rejoined, with a higher incarnation
  std::string id;
  uint64_t incarnation = 0;
  bool operator==(const MarkAlive&) const = default;
};
struct Leave {
  std::string id;
  bool operator==(const Leave&) const = default;
};
struct Remove {  // forget a dead or left member for good
  std::string id;
  bool operator==(const Remove&) const = default;
};
struct UpdateMember {  // an alive member's address, zone, service or weight changed
  MemberInfo info;
  bool operator==(const UpdateMember&) const = default;
};
struct Restarting {  // a planned restart: alive, same incarnation → restarting
  std::string id;
  uint64_t incarnation = 0;
  bool operator==(const Restarting&) const = default;
};
// A dead member came back with its account: the leader's revision of the
// verdict on the death of `incarnation` (ignored unless the member is still
// dead in that incarnation, with a verdict not yet revised).
struct Revise {
  std::string id;
  uint64_t incarnation = 0;
  Revision revision;
  bool operator==(const Revise&) const = default;
};
struct LeaderElected {
  std::string id;
  uint64_t term = 0;
  bool operator==(const LeaderElected&) const = default;
};

// Locks (membership/locks.h): proposed by the agent the lock is taken
// through (acquire, expire) or by any agent a client asks with the lock's
// token (renew, release).
struct LockAcquire {
  std::string name;
  std::string holder;
  std::string member;  // the member it is taken through, in `incarnation`
  uint64_t incarnation = 0;
  int64_t ttl_ms = 0;  // 0 or kMinLockTtlMs..kMaxLockTtlMs
  uint32_t max = 0;    // locks.max of the proposing agent: refused when the table is full
  bool operator==(const LockAcquire&) const = default;
};
struct LockRenew {
  std::string name;
  uint64_t token = 0;
  bool operator==(const LockRenew&) const = default;
};
struct LockRelease {
  std::string name;
  uint64_t token = 0;
  bool operator==(const LockRelease&) const = default;
};
struct LockExpire {  // its TTL passed without renewal (the holding member's agent saw it)
  std::string name;
  uint64_t token = 0;
  bool operator==(const LockExpire&) const = default;
};

using CommandBody =
    std::variant<AddMember, MarkDead, MarkAlive, Leave, Remove, UpdateMember, LeaderElected,
                 Restarting, Revise, LockAcquire, LockRenew, LockRelease, LockExpire>;

struct Command {
  int64_t time_ms = 0;
  CommandBody body;
  bool operator==(const Command&) const = default;
};

std::string EncodeCommand(const Command& command);
std::optional<Command> DecodeCommand(std::string_view bytes);

}  // namespace ringwatch::membership
