#include "membership/locks.h"

#include "core/ids.h"
#include "membership/wire.h"

namespace ringwatch::membership {

bool IsValidLockName(std::string_view name) {
  if (name.empty() || name.size() > kMaxLockNameLength) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

bool IsValidHolder(std::string_view holder) {
  if (holder.empty() || holder.size() > kMaxHolderLength) return false;
  for (char c : holder) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x21 || u > 0x7e) return false;
  }
  return true;
}

const char* ToString(LockReleaseReason r) {
  switch (r) {
    case LockReleaseReason::kReleased:
      return "released";
    case LockReleaseReason::kExpired:
      return "expired";
    case LockReleaseReason::kMemberDead:
      return "member_dead";
    case LockReleaseReason::kMemberLeft:
      return "member_left";
    case LockReleaseReason::kRestarted:
      return "restarted";
  }
  return "?";
}

const Lock* LockTable::Find(const std::string& name) const {
  auto it = locks_.find(name);
  return it == locks_.end() ? nullptr : &it->second;
}

std::vector<LockChange> LockTable::Acquire(const Lock& request, uint32_t max, uint64_t index,
                                           int64_t now_ms) {
  if (locks_.count(request.name) || locks_.size() >= std::min(max, kMaxLocks)) return {};
  Lock lock = request;
  lock.token = index;
  lock.acquired_at_ms = lock.renewed_at_ms = now_ms;
  lock.renewals = 0;
  locks_.emplace(lock.name, lock);
  ++version_;
  return {LockChange{LockChange::Kind::kAcquired, lock, LockReleaseReason::kReleased, now_ms}};
}

std::vector<LockChange> LockTable::Renew(const std::string& name, uint64_t token, int64_t now_ms) {
  auto it = locks_.find(name);
  if (it == locks_.end() || it->second.token != token) return {};
  it->second.renewed_at_ms = now_ms;
  ++it->second.renewals;
  ++version_;
  return {LockChange{LockChange::Kind::kRenewed, it->second, LockReleaseReason::kReleased, now_ms}};
}

std::vector<LockChange> LockTable::Release(const std::string& name, uint64_t token,
                                           LockReleaseReason reason, int64_t now_ms) {
  auto it = locks_.find(name);
  if (it == locks_.end() || it->second.token != token) return {};
  if (reason == LockReleaseReason::kExpired && it->second.ttl_ms == 0) return {};
  LockChange change{LockChange::Kind::kReleased, std::move(it->second), reason, now_ms};
  locks_.erase(it);
  ++version_;
  return {std::move(change)};
}

std::vector<LockChange> LockTable::ReleaseMember(const std::string& member,
                                                 LockReleaseReason reason, int64_t now_ms) {
  std::vector<LockChange> out;
  for (auto it = locks_.begin(); it != locks_.end();) {
    if (it->second.member != member) {
      ++it;
      continue;
    }
    out.push_back({LockChange::Kind::kReleased, std::move(it->second), reason, now_ms});
    it = locks_.erase(it);
  }
  if (!out.empty()) ++version_;
  return out;
}

void LockTable::Encode(core::ByteWriter& w) const {
  w.U64(version_);
  w.U32(static_cast<uint32_t>(locks_.size()));
  for (const auto& [name, l] : locks_) {
    wire::PutString(w, l.name);
    wire::PutString(w, l.holder);
    wire::PutString(w, l.member);
    w.U64(l.incarnation);
    w.U64(l.token);
    w.I64(l.ttl_ms);
    w.I64(l.acquired_at_ms);
    w.I64(l.renewed_at_ms);
    w.U32(l.renewals);
  }
}

bool LockTable::Decode(core::ByteReader& r) {
  uint32_t n = 0;
  if (!r.U64(&version_) || !r.U32(&n) || n > kMaxLocks) return false;
  locks_.clear();
  for (uint32_t i = 0; i < n; ++i) {
    Lock l;
    if (!wire::GetString(r, &l.name) || !IsValidLockName(l.name) ||
        !wire::GetString(r, &l.holder) || !IsValidHolder(l.holder) || !wire::GetId(r, &l.member) ||
        !r.U64(&l.incarnation) || !r.U64(&l.token) || !r.I64(&l.ttl_ms) || l.ttl_ms < 0 ||
        l.ttl_ms > kMaxLockTtlMs || !r.I64(&l.acquired_at_ms) || !r.I64(&l.renewed_at_ms) ||
        !r.U32(&l.renewals))
      return false;
    std::string name = l.name;
    if (!locks_.emplace(std::move(name), std::move(l)).second) return false;
  }
  return true;
}

}  // namespace ringwatch::membership
