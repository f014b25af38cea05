#pragma once
// membership::LockTable — the replicated table of named locks (docs/architecture.md
// "Locks with fencing tokens"), part of the View: applied from the same
// committed entries in the same order on every agent, encoded in the same
// snapshot, so every agent holds a byte-identical table.
//
// A lock belongs to the member it was taken through, in that member's
// incarnation, and dies with it: the View releases a member's locks when it
// is declared dead, leaves, or restarts (a planned restart, or a new
// incarnation). Its token is the Raft index of the entry that acquired it —
// larger for every later acquisition of any lock — so a resource that
// remembers the largest token it has seen refuses a stale holder.
//
// Rules (a command that does not fit changes nothing — a stale or repeated
// one is harmless):
//   LockAcquire  free name, member alive in that incarnation, fewer than the
//                command's `max` locks → held, token = entry index; the same
//                holder through the same member and incarnation again → no
//                change (it holds it already)
//   LockRenew    held with that token → renewed (renewed_at, renewals)
//   LockRelease  held with that token → free (reason released)
//   LockExpire   held with that token and a TTL → free (reason expired)
// Not thread-safe; one owner (the View).

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/byte_codec.h"

namespace ringwatch::membership {

// Bounds, checked when a request arrives and when a command is decoded.
inline constexpr std::size_t kMaxLockNameLength = 128;  // [A-Za-z0-9._-]
inline constexpr std::size_t kMaxHolderLength = 256;    // printable ASCII, no space
inline constexpr int64_t kMinLockTtlMs = 1'000;
inline constexpr int64_t kMaxLockTtlMs = 24 * 3600 * 1000;
// The most locks any table holds (locks.max is at most this).
inline constexpr uint32_t kMaxLocks = 65'536;
bool IsValidLockName(std::string_view name);
bool IsValidHolder(std::string_view holder);

struct Lock {
  std::string name;
  std::string holder;  // who holds it, as the client named itself
  std::string member;  // the member it was taken through
  uint64_t incarnation = 0;
  uint64_t token = 0;  // the Raft index of the acquisition (fencing token)
  int64_t ttl_ms = 0;  // 0: lives as long as its member
  int64_t acquired_at_ms = 0;
  int64_t renewed_at_ms = 0;
  uint32_t renewals = 0;
  bool operator==(const Lock&) const = default;
};

enum class LockReleaseReason : uint8_t {
  kReleased = 1,
  kExpired = 2,
  kMemberDead = 3,
  kMemberLeft = 4,
  kRestarted = 5,
};
inline constexpr uint8_t kMaxLockReleaseReason = 5;
const char* ToString(LockReleaseReason reason);

// One change a command made to the table (metrics, waiters, TTL timers).
struct LockChange {
  enum class Kind : uint8_t { kAcquired, kRenewed, kReleased };
  Kind kind = Kind::kAcquired;
  Lock lock;  // as it is (acquired, renewed) or was (released)
  LockReleaseReason reason = LockReleaseReason::kReleased;
  int64_t time_ms = 0;  // the command's (the leader's clock)
  bool operator==(const LockChange&) const = default;
};

class LockTable {
 public:
  // Each returns the change it made, if any; `now_ms` is the command's time.
  std::vector<LockChange> Acquire(const Lock& request, uint32_t max, uint64_t index,
                                  int64_t now_ms);
  std::vector<LockChange> Renew(const std::string& name, uint64_t token, int64_t now_ms);
  std::vector<LockChange> Release(const std::string& name, uint64_t token, LockReleaseReason reason,
                                  int64_t now_ms);
  // Every lock of `member` (whatever its incarnation): its life ended.
  std::vector<LockChange> ReleaseMember(const std::string& member, LockReleaseReason reason,
                                        int64_t now_ms);

  const std::map<std::string, Lock>& locks() const { return locks_; }
  const Lock* Find(const std::string& name) const;
  // Counts every change; the index of blocking queries on the table.
  uint64_t version() const { return version_; }
  std::size_t size() const { return locks_.size(); }

  void Encode(core::ByteWriter& w) const;
  bool Decode(core::ByteReader& r);

  bool operator==(const LockTable&) const = default;

 private:
  uint64_t version_ = 0;
  std::map<std::string, Lock> locks_;
};

}  // namespace ringwatch::membership
