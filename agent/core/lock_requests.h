#pragma once
// LockRequests — this agent's side of the replicated lock table (docs/architecture.md
// "Locks with fencing tokens"), sans I/O: the HTTP requests it carries out
// (acquire, with or without a wait; renew; release) and the TTLs of the
// locks held through this member, whose expiry it proposes.
//
// A request is answered from the committed table, never from a guess: an
// acquisition is 200 once the table shows the lock held by the holder
// through this member (so the answer carries the fencing token the log gave
// it), 409 when another holds it (at once without a wait, at the end of the
// wait with one), 504 when a proposal did not commit in time. Proposals lost
// in a leader change are made again after `retry`. Waiters are this agent's
// own (no queue in the replicated state): when the table shows a lock free,
// every waiter for it proposes, and the log orders them — no fairness among
// agents, and no lock delay.
//
// A lock with a TTL expires when this agent, the one it was taken through,
// has seen no renewal for the TTL (measured from when it applied the
// acquisition or the latest renewal, so never before the client's own count
// from its request): it proposes LockExpire. If this agent is dead, the
// member's death releases the lock.
//
// Not thread-safe; one owner (AgentCore), called after every batch of
// applied entries (Check) and with every request.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/completion.h"
#include "core/clock.h"
#include "membership/command.h"
#include "membership/view.h"

namespace ringwatch::agent {

struct LockRequest {
  std::string name;
  std::string holder;
  int64_t ttl_ms = 0;      // 0 or membership::kMinLockTtlMs..kMaxLockTtlMs
  core::Duration wait{0};  // 0: answer at once when another holds it
};

struct LockOptions {
  uint32_t max = 1024;  // locks.max
  // A proposal that has not committed after this is made again; a request
  // whose proposal has not committed after `timeout` is answered 504.
  core::Duration retry = std::chrono::seconds(1);
  core::Duration timeout = std::chrono::seconds(5);
  // The longest wait an acquisition may ask for.
  core::Duration max_wait = std::chrono::minutes(10);
};

class LockRequests {
 public:
  explicit LockRequests(LockOptions options) : options_(options) {}

  struct Output {
    std::vector<membership::Command> proposals;
    std::vector<Completion> completions;
    // Acquisitions by a waiter here that found the lock taken: seconds from
    // the release it waited for to its acquisition (view times).
    std::vector<double> handovers;
  };
  // `self`: this member as the view should hold it; `alive`: it does.
  // `leader_known`: false answers 503 at once (this agent may be cut off;
  // a renewal must not look like it might still succeed) — except an
  // acquisition that waits, which waits for a leader too.
  void Acquire(const LockRequest& request, uint64_t token, const membership::View& view,
               const membership::MemberInfo& self, bool alive, bool leader_known, core::Instant now,
               int64_t wall_ms, Output& out);
  // A renewal is committed whether or not the lock has a TTL: its 200 says
  // a quorum still holds the lock for the token (`ringwatch lock` relies
  // on it).
  void Renew(const std::string& name, uint64_t lock_token, uint64_t token,
             const membership::View& view, bool leader_known, core::Instant now, int64_t wall_ms,
             Output& out);
  void Release(const std::string& name, uint64_t lock_token, uint64_t token,
               const membership::View& view, bool leader_known, core::Instant now, int64_t wall_ms,
               Output& out);

  // What applied entries did to the table (TTL timers, handovers), then
  // Check; after a snapshot, Restored instead of the changes.
  void Applied(const std::vector<membership::LockChange>& changes,
               const membership::MemberInfo& self, core::Instant now);
  void Restored(const membership::View& view, const membership::MemberInfo& self,
                core::Instant now);
  // A new leader is known: proposals not yet committed are made again.
  void LeaderChanged();
  // Answers what the table decided, retries, expiries. Cheap when idle.
  void Check(const membership::View& view, const membership::MemberInfo& self, bool alive,
             core::Instant now, int64_t wall_ms, Output& out);

  std::size_t pending() const { return acquires_.size() + updates_.size(); }

 private:
  struct PendingAcquire {
    LockRequest request;
    uint64_t token = 0;
    core::Instant deadline;  // the end of its wait (or of the commit timeout)
    std::optional<core::Instant> proposed;
    std::optional<int64_t> released_at_ms;  // a release it waited for
  };
  // A renewal or release: answered once the table shows it done.
  struct PendingUpdate {
    bool release = false;
    std::string name;
    uint64_t lock_token = 0;
    uint32_t renewals = 0;  // before the renewal
    uint64_t token = 0;
    core::Instant deadline;
    core::Instant proposed;
  };
  struct Expiry {
    uint64_t token = 0;
    core::Instant at;
    std::optional<core::Instant> proposed = std::nullopt;
  };
  membership::Command AcquireCommand(const LockRequest& r, const membership::MemberInfo& self,
                                     int64_t wall_ms) const;
  // A renewal or a release (`release`) of the lock `lock_token` holds.
  void Update(bool release, const std::string& name, uint64_t lock_token, uint64_t token,
              const membership::View& view, bool leader_known, core::Instant now, int64_t wall_ms,
              Output& out);
  static membership::Command UpdateCommand(bool release, const std::string& name,
                                           uint64_t lock_token, int64_t wall_ms);
  static Completion Held(uint64_t token, const membership::Lock& lock);
  static Completion HeldByOther(uint64_t token, const membership::Lock& lock,
                                const std::string& why);

  LockOptions options_;
  std::vector<PendingAcquire> acquires_;
  std::vector<PendingUpdate> updates_;
  std::map<std::string, Expiry> expiries_;  // locks held through this member, with a TTL
};

}  // namespace ringwatch::agent
