#include "agent/core/lock_requests.h"

#include <algorithm>

namespace ringwatch::agent {

using membership::Lock;

namespace {

bool HeldBy(const Lock& l, const LockRequest& r, const membership::MemberInfo& self) {
  return l.holder == r.holder && l.member == self.id && l.incarnation == self.incarnation;
}

std::string Describe(const Lock& l) {
  return "held by " + l.holder + " through " + l.member + " (token " + std::to_string(l.token) +
         ")";
}

}  // namespace

Completion LockRequests::Held(uint64_t token, const Lock& lock) {
  return Completion{token, 200, "", lock};
}

Completion LockRequests::HeldByOther(uint64_t token, const Lock& lock, const std::string& why) {
  return Completion{token, 409, why + ": lock " + lock.name + " is " + Describe(lock), lock};
}

membership::Command LockRequests::AcquireCommand(const LockRequest& r,
                                                 const membership::MemberInfo& self,
                                                 int64_t wall_ms) const {
  return membership::Command{
      wall_ms,
      membership::LockAcquire{r.name, r.holder, self.id, self.incarnation, r.ttl_ms, options_.max}};
}

namespace {
Completion NoLeader(uint64_t token) {
  return Completion{token, 503,
                    "no Raft leader known to this agent (an election, or it is cut off); try "
                    "again or through another agent"};
}
}  // namespace

void LockRequests::Acquire(const LockRequest& r, uint64_t token, const membership::View& view,
                           const membership::MemberInfo& self, bool alive, bool leader_known,
                           core::Instant now, int64_t wall_ms, Output& out) {
  if (!membership::IsValidLockName(r.name)) {
    out.completions.push_back({token, 400,
                               "lock names are 1-" +
                                   std::to_string(membership::kMaxLockNameLength) +
                                   " characters of [A-Za-z0-9._-]"});
    return;
  }
  if (!membership::IsValidHolder(r.holder)) {
    out.completions.push_back({token, 400,
                               "holder must be 1-" + std::to_string(membership::kMaxHolderLength) +
                                   " printable characters, no spaces"});
    return;
  }
  if (r.ttl_ms != 0 &&
      (r.ttl_ms < membership::kMinLockTtlMs || r.ttl_ms > membership::kMaxLockTtlMs)) {
    out.completions.push_back({token, 400, "ttl must be 0 (none) or between 1s and 24h"});
    return;
  }
  if (!alive) {
    out.completions.push_back(
        {token, 503,
         "this agent is not an alive member of the committed view (joining, restarting or "
         "declared dead): a lock taken through it would not be bound to a live member"});
    return;
  }
  const Lock* lock = view.locks().Find(r.name);
  if (lock && HeldBy(*lock, r, self)) {
    out.completions.push_back(Held(token, *lock));  // the same holder again: the same lock
    return;
  }
  if (lock && r.wait <= core::Duration::zero()) {
    out.completions.push_back(HeldByOther(token, *lock, "not acquired"));
    return;
  }
  if (!leader_known && r.wait <= core::Duration::zero()) {
    out.completions.push_back(NoLeader(token));
    return;
  }
  if (!lock && view.locks().size() >= options_.max && r.wait <= core::Duration::zero()) {
    out.completions.push_back(
        {token, 409, "the lock table is full (locks.max " + std::to_string(options_.max) + ")"});
    return;
  }
  PendingAcquire p;
  p.request = r;
  p.token = token;
  p.deadline = now + (r.wait > core::Duration::zero() ? std::min(r.wait, options_.max_wait)
                                                      : options_.timeout);
  acquires_.push_back(std::move(p));
  Check(view, self, alive, now, wall_ms, out);
}

void LockRequests::Renew(const std::string& name, uint64_t lock_token, uint64_t token,
                         const membership::View& view, bool leader_known, core::Instant now,
                         int64_t wall_ms, Output& out) {
  Update(false, name, lock_token, token, view, leader_known, now, wall_ms, out);
}

void LockRequests::Release(const std::string& name, uint64_t lock_token, uint64_t token,
                           const membership::View& view, bool leader_known, core::Instant now,
                           int64_t wall_ms, Output& out) {
  Update(true, name, lock_token, token, view, leader_known, now, wall_ms, out);
}

membership::Command LockRequests::UpdateCommand(bool release, const std::string& name,
                                                uint64_t lock_token, int64_t wall_ms) {
  if (release) return {wall_ms, membership::LockRelease{name, lock_token}};
  return {wall_ms, membership::LockRenew{name, lock_token}};
}

void LockRequests::Update(bool release, const std::string& name, uint64_t lock_token,
                          uint64_t token, const membership::View& view, bool leader_known,
                          core::Instant now, int64_t wall_ms, Output& out) {
  const Lock* lock = view.locks().Find(name);
  if (lock && lock->token != lock_token) {
    out.completions.push_back(
        HeldByOther(token, *lock, "token " + std::to_string(lock_token) + " does not hold it"));
    return;
  }
  if (!lock) {
    out.completions.push_back({token, 409,
                               "token " + std::to_string(lock_token) + " does not hold lock " +
                                   name + ": it is not held"});
    return;
  }
  if (!leader_known) {
    out.completions.push_back(NoLeader(token));
    return;
  }
  out.proposals.push_back(UpdateCommand(release, name, lock_token, wall_ms));
  updates_.push_back({release, name, lock_token, release ? 0 : lock->renewals, token,
                      now + options_.timeout, now});
}

void LockRequests::Applied(const std::vector<membership::LockChange>& changes,
                           const membership::MemberInfo& self, core::Instant now) {
  using Kind = membership::LockChange::Kind;
  for (const membership::LockChange& c : changes) {
    if (c.kind == Kind::kReleased) {
      expiries_.erase(c.lock.name);
      for (PendingAcquire& p : acquires_)
        if (p.request.name == c.lock.name) p.released_at_ms = c.time_ms;
      continue;
    }
    if (c.lock.member == self.id && c.lock.incarnation == self.incarnation && c.lock.ttl_ms > 0)
      expiries_[c.lock.name] = Expiry{c.lock.token, now + std::chrono::milliseconds(c.lock.ttl_ms)};
  }
}

void LockRequests::LeaderChanged() {
  // What was forwarded to the previous leader may be lost with it: ask the
  // new one now rather than after `retry` (a duplicate is harmless: an
  // acquisition by the holder that has the lock, a second renewal, a
  // release of a lock already free change nothing that matters).
  for (PendingAcquire& p : acquires_)
    p.proposed.reset();
  for (PendingUpdate& u : updates_)
    u.proposed = core::Instant{};
  for (auto& [name, e] : expiries_)
    e.proposed.reset();
}

void LockRequests::Restored(const membership::View& view, const membership::MemberInfo& self,
                            core::Instant now) {
  // What the snapshot skipped is unknown: a lock of ours gets a full TTL
  // from now (never shorter than the client's count).
  std::map<std::string, Expiry> next;
  for (const auto& [name, l] : view.locks().locks()) {
    if (l.member != self.id || l.incarnation != self.incarnation || l.ttl_ms == 0) continue;
    auto it = expiries_.find(name);
    next[name] = it != expiries_.end() && it->second.token == l.token
                     ? it->second
                     : Expiry{l.token, now + std::chrono::milliseconds(l.ttl_ms)};
  }
  expiries_ = std::move(next);
}

void LockRequests::Check(const membership::View& view, const membership::MemberInfo& self,
                         bool alive, core::Instant now, int64_t wall_ms, Output& out) {
  const membership::LockTable& table = view.locks();
  for (auto it = acquires_.begin(); it != acquires_.end();) {
    PendingAcquire& p = *it;
    const Lock* lock = table.Find(p.request.name);
    std::optional<Completion> done;
    if (lock && HeldBy(*lock, p.request, self)) {
      done = Held(p.token, *lock);
      if (p.released_at_ms)
        out.handovers.push_back(std::max<int64_t>(0, lock->acquired_at_ms - *p.released_at_ms) /
                                1000.0);
    } else if (!alive) {
      done = Completion{p.token, 503,
                        "this member is no longer alive in the committed view; lock " +
                            p.request.name + " not acquired"};
    } else if (lock && p.request.wait <= core::Duration::zero() && p.proposed) {
      done = HeldByOther(p.token, *lock, "not acquired (another holder came first)");
    } else if (lock) {
      // Held by another: a proposal made before is refused (or, should the
      // lock be freed before it commits, takes it — as a new one would).
      // Once the lock is free again, propose at once.
      p.proposed.reset();
    } else if (!lock && (!p.proposed || now - *p.proposed >= options_.retry)) {
      if (table.size() < options_.max) {
        out.proposals.push_back(AcquireCommand(p.request, self, wall_ms));
        p.proposed = now;
      }
    }
    if (!done && now >= p.deadline) {
      // A waiter's proposal still in flight may yet commit: wait for its
      // timeout (without a wait, the deadline is that timeout already).
      const bool in_flight = p.request.wait > core::Duration::zero() && !lock && p.proposed &&
                             now - *p.proposed < options_.timeout;
      if (lock) {
        done = HeldByOther(p.token, *lock, "not acquired within the wait");
      } else if (!in_flight) {
        done = p.proposed ? Completion{p.token, 504,
                                       "the acquisition of lock " + p.request.name +
                                           " was not committed in time (no quorum?)"}
                          : Completion{p.token, 409,
                                       "the lock table is full (locks.max " +
                                           std::to_string(options_.max) + ")"};
      }
    }
    if (!done) {
      ++it;
      continue;
    }
    out.completions.push_back(std::move(*done));
    it = acquires_.erase(it);
  }
  for (auto it = updates_.begin(); it != updates_.end();) {
    const Lock* lock = table.Find(it->name);
    std::optional<Completion> done;
    if (!lock || lock->token != it->lock_token) {
      done = it->release ? Completion{it->token, 200, "released " + it->name}
                         : Completion{it->token, 409,
                                      "lock " + it->name + " was lost before its renewal: token " +
                                          std::to_string(it->lock_token) + " no longer holds it",
                                      lock ? std::optional<Lock>(*lock) : std::nullopt};
    } else if (!it->release && lock->renewals != it->renewals) {
      done = Held(it->token, *lock);
    } else if (now >= it->deadline) {
      done = Completion{it->token, 504,
                        std::string("the ") + (it->release ? "release" : "renewal") + " of lock " +
                            it->name + " was not committed in time (no quorum?)"};
    } else if (now - it->proposed >= options_.retry) {
      out.proposals.push_back(UpdateCommand(it->release, it->name, it->lock_token, wall_ms));
      it->proposed = now;
    }
    if (!done) {
      ++it;
      continue;
    }
    out.completions.push_back(std::move(*done));
    it = updates_.erase(it);
  }
  for (auto it = expiries_.begin(); it != expiries_.end();) {
    const Lock* lock = table.Find(it->first);
    if (!lock || lock->token != it->second.token) {
      it = expiries_.erase(it);
      continue;
    }
    Expiry& e = it->second;
    if (now >= e.at && (!e.proposed || now - *e.proposed >= options_.retry)) {
      out.proposals.push_back({wall_ms, membership::LockExpire{it->first, e.token}});
      e.proposed = now;
    }
    ++it;
  }
}

}  // namespace ringwatch::agent
