#include "membership/view.h"

#include <algorithm>
#include <tuple>
#include <type_traits>
#include <variant>

#include "membership/wire.h"

namespace ringwatch::membership {

const char* ToString(MemberState s) {
  switch (s) {
    case MemberState::kAlive:
      return "alive";
    case MemberState::kDead:
      return "dead";
    case MemberState::kLeft:
      return "left";
    case MemberState::kRestarting:
      return "restarting";
  }
  return "?";
}

const char* ToString(DiagnosisClass c) {
  switch (c) {
    case DiagnosisClass::kProcessDown:
      return "process_down";
    case DiagnosisClass::kHostDown:
      return "host_down";
    case DiagnosisClass::kPartition:
      return "partition";
    case DiagnosisClass::kOverloaded:
      return "overloaded";
    case DiagnosisClass::kLeft:
      return "left";
    case DiagnosisClass::kStopped:
      return "stopped";
    case DiagnosisClass::kUnresponsive:
      return "unresponsive";
    case DiagnosisClass::kIsolated:
      return "isolated";
    case DiagnosisClass::kPaused:
      return "paused";
    case DiagnosisClass::kCrashed:
      return "crashed";
  }
  return "?";
}

const char* ToString(ProbeResult p) {
  switch (p) {
    case ProbeResult::kNone:
      return "none";
    case ProbeResult::kRefused:
      return "refused";
    case ProbeResult::kTimeout:
      return "timeout";
    case ProbeResult::kConnected:
      return "connected";
  }
  return "?";
}

const char* ToString(DetectionPath p) {
  switch (p) {
    case DetectionPath::kNone:
      return "none";
    case DetectionPath::kPhi:
      return "phi";
    case DetectionPath::kTimeout:
      return "timeout";
    case DetectionPath::kFast:
      return "fast";
  }
  return "?";
}

const char* ToString(EventKind k) {
  switch (k) {
    case EventKind::kJoin:
      return "join";
    case EventKind::kDead:
      return "dead";
    case EventKind::kAlive:
      return "alive";
    case EventKind::kLeave:
      return "leave";
    case EventKind::kLeader:
      return "leader";
    case EventKind::kVoterAdded:
      return "voter_added";
    case EventKind::kVoterRemoved:
      return "voter_removed";
    case EventKind::kRemoved:
      return "removed";
    case EventKind::kRestarting:
      return "restarting";
    case EventKind::kReturned:
      return "returned";
    case EventKind::kRevised:
      return "revised";
  }
  return "?";
}

std::string InfoProblem(const MemberInfo& i) {
  auto printable = [](std::string_view s) {
    for (char c : s)
      if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e)
        return false;
    return true;
  };
  if (!core::IsValidId(i.id))
    return "member id must be 1-64 characters of [A-Za-z0-9._-] (got " +
           std::to_string(i.id.size()) + " bytes)";
  if (!i.zone.empty() && !core::IsValidId(i.zone))
    return "zone must be 1-64 characters of [A-Za-z0-9._-]";
  if (i.weight < 1 || i.weight > kMaxWeight)
    return "weight must be 1-" + std::to_string(kMaxWeight) + " (got " + std::to_string(i.weight) +
           ")";
  if (i.address.empty() || i.address.size() > kMaxAddressLength || !printable(i.address))
    return "address must be host:port, at most " + std::to_string(kMaxAddressLength) + " bytes";
  if (i.service.size() > kMaxServiceLength)
    return "service must be at most " + std::to_string(kMaxServiceLength) + " bytes";
  if (!i.identity.empty() && i.identity.size() != kIdentitySize)
    return "identity must be a " + std::to_string(kIdentitySize) + "-byte Ed25519 public key";
  return "";
}

bool IdentityMayChange(const Member& m, const std::string& identity) {
  if (m.info.identity.empty() || identity == m.info.identity) return true;
  // Never back to no key; a new key only once the member's old life ended.
  return !identity.empty() && !InRing(m.state);
}

const Member* View::Find(const std::string& id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

std::vector<std::string> View::AliveIds() const {
  std::vector<std::string> out;
  for (const auto& [id, m] : members_)
    if (m.state == MemberState::kAlive) out.push_back(id);
  return out;
}

std::vector<std::string> View::InRingIds() const {
  std::vector<std::string> out;
  for (const auto& [id, m] : members_)
    if (InRing(m.state)) out.push_back(id);
  return out;
}

std::size_t View::Count(MemberState state) const {
  std::size_t n = 0;
  for (const auto& [id, m] : members_)
    n += m.state == state ? 1 : 0;
  return n;
}

View::Change View::Record(int64_t time_ms, EventKind kind, const std::string& member,
                          std::optional<DiagnosisClass> diagnosis, bool member_changed) {
  Event e{next_seq_++, time_ms, kind, member, diagnosis};
  events_.push_back(e);
  while (events_.size() > kMaxEvents)
    events_.pop_front();
  if (member_changed) ++version_;
  return Change{member_changed, e};
}

namespace {

// The member a command is about ("" for none).
const std::string* Subject(const Command& c) {
  return std::visit(
      [](const auto& body) -> const std::string* {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, AddMember> || std::is_same_v<T, UpdateMember>) {
          return &body.info.id;
        } else if constexpr (std::is_same_v<T, LeaderElected> || std::is_same_v<T, LockAcquire> ||
                             std::is_same_v<T, LockRenew> || std::is_same_v<T, LockRelease> ||
                             std::is_same_v<T, LockExpire>) {
          return nullptr;
        } else {
          return &body.id;
        }
      },
      c.body);
}

// What the ring takes from a member: nothing unless it is alive (or away
// for a planned restart).
std::optional<std::tuple<std::string, std::string, uint32_t>> RingPart(const View& v,
                                                                       const std::string* id) {
  if (!id) return std::nullopt;
  const Member* m = v.Find(*id);
  if (!m || !InRing(m->state)) return std::nullopt;
  return std::make_tuple(m->info.service, m->info.zone, m->info.weight);
}

}  // namespace

View::Change View::Apply(const Command& c, uint64_t index) {
  const std::string* subject = Subject(c);
  const std::string id = subject ? *subject : std::string();
  const auto before = RingPart(*this, subject ? &id : nullptr);
  Change change = ApplyBody(c, index);
  if (change.member_changed && RingPart(*this, subject ? &id : nullptr) != before)
    ring_version_ = version_;
  return change;
}

void View::ReleaseLocks(const std::string& member, LockReleaseReason reason, int64_t now_ms,
                        Change& change) {
  auto released = locks_.ReleaseMember(member, reason, now_ms);
  change.locks.insert(change.locks.end(), released.begin(), released.end());
}

View::Change View::ApplyBody(const Command& c, uint64_t index) {
  // Time never runs backwards in the view, even if the leaders' clocks do.
  const int64_t now = std::max(c.time_ms, last_time_ms_);
  last_time_ms_ = now;
  if (const auto* a = std::get_if<AddMember>(&c.body)) {
    auto it = members_.find(a->info.id);
    if (it == members_.end()) {
      Member m;
      m.info = a->info;
      m.state = MemberState::kAlive;
      m.since_ms = m.alive_since_ms = now;
      members_.emplace(a->info.id, std::move(m));
      removed_.erase(a->info.id);
      return Record(now, EventKind::kJoin, a->info.id, std::nullopt, true);
    }
    Member& m = it->second;
    if (a->info.incarnation <= m.info.incarnation) return {};
    if (!IdentityMayChange(m, a->info.identity)) return {};
    if (m.state == MemberState::kAlive) {
      // Restarted before anyone noticed: the new incarnation replaces the old.
      m.info = a->info;
      ++version_;
      Change change{true, std::nullopt, {}};
      ReleaseLocks(a->info.id, LockReleaseReason::kRestarted, now, change);
      return change;
    }
    if (m.state == MemberState::kRestarting) {
      // Back from a planned restart within the grace: alive at once, no
      // probation; its life (alive_since, flaps) goes on.
      m.info = a->info;
      m.state = MemberState::kAlive;
      m.since_ms = now;
      return Record(now, EventKind::kReturned, a->info.id, std::nullopt, true);
    }
    // A left or dead member comes back as a new incarnation. Its latest
    // diagnosis stays (with the revision its return brought, if any).
    m.info = a->info;
    m.state = MemberState::kAlive;
    m.since_ms = m.alive_since_ms = now;
    return Record(now, EventKind::kJoin, a->info.id, std::nullopt, true);
  }
  if (const auto* d = std::get_if<MarkDead>(&c.body)) {
    auto it = members_.find(d->id);
    if (it == members_.end()) return {};
    Member& m = it->second;
    if (!InRing(m.state) || d->incarnation != m.info.incarnation) return {};
    m.state = MemberState::kDead;
    m.since_ms = now;
    m.diagnosis = d->diagnosis;
    Change change = Record(now, EventKind::kDead, d->id, d->diagnosis.cls, true);
    ReleaseLocks(d->id, LockReleaseReason::kMemberDead, now, change);
    return change;
  }
  if (const auto* a = std::get_if<MarkAlive>(&c.body)) {
    auto it = members_.find(a->id);
    if (it == members_.end()) return {};
    Member& m = it->second;
    if (m.state != MemberState::kDead || a->incarnation <= m.info.incarnation) return {};
    // A death soon after the previous return is a flap; a long quiet life resets the count.
    if (m.since_ms - m.alive_since_ms < kFlapWindowMs) {
      ++m.flaps;
    } else {
      m.flaps = 0;
    }
    m.info.incarnation = a->incarnation;
    m.state = MemberState::kAlive;
    m.since_ms = m.alive_since_ms = now;
    return Record(now, EventKind::kAlive, a->id, std::nullopt, true);
  }
  if (const auto* l = std::get_if<Leave>(&c.body)) {
    auto it = members_.find(l->id);
    if (it == members_.end() || it->second.state == MemberState::kLeft) return {};
    Member& m = it->second;
    m.state = MemberState::kLeft;
    m.since_ms = now;
    Diagnosis d;
    d.cls = DiagnosisClass::kLeft;
    d.decided_at_ms = now;
    m.diagnosis = d;
    Change change = Record(now, EventKind::kLeave, l->id, DiagnosisClass::kLeft, true);
    ReleaseLocks(l->id, LockReleaseReason::kMemberLeft, now, change);
    return change;
  }
  if (const auto* x = std::get_if<Restarting>(&c.body)) {
    auto it = members_.find(x->id);
    if (it == members_.end()) return {};
    Member& m = it->second;
    if (m.state != MemberState::kAlive || x->incarnation != m.info.incarnation) return {};
    m.state = MemberState::kRestarting;
    m.since_ms = now;
    Change change = Record(now, EventKind::kRestarting, x->id, std::nullopt, true);
    ReleaseLocks(x->id, LockReleaseReason::kRestarted, now, change);
    return change;
  }
  if (const auto* r = std::get_if<Remove>(&c.body)) {
    auto it = members_.find(r->id);
    if (it == members_.end() || InRing(it->second.state)) return {};
    members_.erase(it);
    removed_[r->id] = version_ + 1;  // the version this removal makes
    if (removed_.size() > kMaxRemoved) {
      auto oldest =
          std::min_element(removed_.begin(), removed_.end(),
                           [](const auto& a, const auto& b) { return a.second < b.second; });
      removed_.erase(oldest);
    }
    return Record(now, EventKind::kRemoved, r->id, std::nullopt, true);
  }
  if (const auto* u = std::get_if<UpdateMember>(&c.body)) {
    auto it = members_.find(u->info.id);
    if (it == members_.end()) return {};
    Member& m = it->second;
    if (m.state != MemberState::kAlive || u->info.incarnation < m.info.incarnation ||
        m.info == u->info || (!m.info.identity.empty() && u->info.identity != m.info.identity))
      return {};
    m.info = u->info;
    ++version_;
    return Change{true, std::nullopt};
  }
  if (const auto* l = std::get_if<LeaderElected>(&c.body)) {
    return Record(now, EventKind::kLeader, l->id, std::nullopt, false);
  }
  if (const auto* x = std::get_if<Revise>(&c.body)) {
    // Only the verdict on the death of that incarnation, once, and only
    // while the member is still dead in it (its return follows the
    // revision in the log).
    auto it = members_.find(x->id);
    if (it == members_.end()) return {};
    Member& m = it->second;
    if (m.state != MemberState::kDead || m.info.incarnation != x->incarnation || !m.diagnosis ||
        m.diagnosis->revision || !IsVerdict(m.diagnosis->cls) || !IsRevision(x->revision.cls))
      return {};
    m.diagnosis->revision = x->revision;
    m.diagnosis->revision->revised_at_ms = now;
    return Record(now, EventKind::kRevised, x->id, x->revision.cls, false);
  }
  if (const auto* x = std::get_if<LockAcquire>(&c.body)) {
    const Member* m = Find(x->member);
    if (index == 0 || !m || m->state != MemberState::kAlive ||
        m->info.incarnation != x->incarnation)
      return {};
    Lock request{x->name, x->holder, x->member, x->incarnation, 0, x->ttl_ms};
    return Change{false, std::nullopt, locks_.Acquire(request, x->max, index, now)};
  }
  if (const auto* x = std::get_if<LockRenew>(&c.body))
    return Change{false, std::nullopt, locks_.Renew(x->name, x->token, now)};
  if (const auto* x = std::get_if<LockRelease>(&c.body))
    return Change{false, std::nullopt,
                  locks_.Release(x->name, x->token, LockReleaseReason::kReleased, now)};
  if (const auto* x = std::get_if<LockExpire>(&c.body))
    return Change{false, std::nullopt,
                  locks_.Release(x->name, x->token, LockReleaseReason::kExpired, now)};
  return {};
}

bool IsVerdict(DiagnosisClass c) {
  switch (c) {
    case DiagnosisClass::kProcessDown:
    case DiagnosisClass::kHostDown:
    case DiagnosisClass::kPartition:
    case DiagnosisClass::kOverloaded:
    case DiagnosisClass::kUnresponsive:
      return true;
    default:
      return false;  // left and stopped are what the member said; the rest are revisions
  }
}

bool IsRevision(DiagnosisClass c) {
  return c == DiagnosisClass::kPartition || c == DiagnosisClass::kIsolated ||
         c == DiagnosisClass::kPaused || c == DiagnosisClass::kCrashed;
}

View::Change View::VoterAdded(const std::string& id) {
  return Record(last_time_ms_, EventKind::kVoterAdded, id, std::nullopt, false);
}

View::Change View::VoterRemoved(const std::string& id) {
  return Record(last_time_ms_, EventKind::kVoterRemoved, id, std::nullopt, false);
}

namespace {
// 2: ring_version, removed ids; 3: identities; 4: diagnoses with
// per-observer probes, the silent group and the revision; 5: and the
// detection path; 6: the lock table.
constexpr uint8_t kViewFormat = 6;
uint8_t DiagnosisLayout(uint8_t format) {
  return format >= 5 ? 3 : format == 4 ? 2 : 1;
}
constexpr uint32_t kMaxMembers = 1u << 20;
}  // namespace

std::string View::Encode(uint8_t format) const {
  if (format == 0 || format > kViewFormat) format = kViewFormat;
  core::ByteWriter w;
  w.U8(format);
  w.U64(version_);
  if (format >= 2) w.U64(ring_version_);
  w.U64(next_seq_);
  w.I64(last_time_ms_);
  w.U32(static_cast<uint32_t>(members_.size()));
  for (const auto& [id, m] : members_) {
    wire::PutInfo(w, m.info, format >= 3);
    w.U8(static_cast<uint8_t>(m.state));
    w.I64(m.since_ms);
    w.I64(m.alive_since_ms);
    w.U32(m.flaps);
    w.U8(m.diagnosis ? 1 : 0);
    if (m.diagnosis) wire::PutDiagnosis(w, *m.diagnosis, DiagnosisLayout(format));
  }
  w.U32(static_cast<uint32_t>(events_.size()));
  for (const Event& e : events_) {
    w.U64(e.seq);
    w.I64(e.time_ms);
    w.U8(static_cast<uint8_t>(e.kind));
    wire::PutString(w, e.member);
    w.U8(e.diagnosis ? static_cast<uint8_t>(*e.diagnosis) : 0);
  }
  if (format < 2) return w.Take();
  w.U32(static_cast<uint32_t>(removed_.size()));
  for (const auto& [id, version] : removed_) {
    wire::PutString(w, id);
    w.U64(version);
  }
  if (format >= 6) locks_.Encode(w);
  return w.Take();
}

std::optional<View> View::Decode(std::string_view bytes) {
  core::ByteReader r(bytes);
  View v;
  uint8_t format = 0;
  uint32_t members = 0, events = 0;
  // Format 1 (before the ring version and the removed ids) still decodes,
  // so a data_dir written by an earlier version keeps its view: its ring
  // version is taken as the view version (a ring change there, at worst),
  // and it has no removed ids.
  if (!r.U8(&format) || format < 1 || format > kViewFormat || !r.U64(&v.version_))
    return std::nullopt;
  if (format == 1) {
    v.ring_version_ = v.version_;
  } else if (!r.U64(&v.ring_version_) || v.ring_version_ > v.version_) {
    return std::nullopt;
  }
  if (!r.U64(&v.next_seq_) || !r.I64(&v.last_time_ms_) || !r.U32(&members) || members > kMaxMembers)
    return std::nullopt;
  for (uint32_t i = 0; i < members; ++i) {
    Member m;
    uint8_t state = 0, has = 0;
    if (!wire::GetInfo(r, &m.info, nullptr, format >= 3) || !r.U8(&state) || state < 1 ||
        state > 4 || !r.I64(&m.since_ms) || !r.I64(&m.alive_since_ms) || !r.U32(&m.flaps) ||
        !r.U8(&has) || has > 1)
      return std::nullopt;
    m.state = static_cast<MemberState>(state);
    if (has) {
      m.diagnosis.emplace();
      if (!wire::GetDiagnosis(r, &*m.diagnosis, DiagnosisLayout(format))) return std::nullopt;
    }
    std::string id = m.info.id;
    if (!v.members_.emplace(id, std::move(m)).second) return std::nullopt;
  }
  if (!r.U32(&events) || events > kMaxEvents) return std::nullopt;
  for (uint32_t i = 0; i < events; ++i) {
    Event e;
    uint8_t kind = 0, diag = 0;
    if (!r.U64(&e.seq) || !r.I64(&e.time_ms) || !r.U8(&kind) || kind < 1 || kind > 11 ||
        !wire::GetString(r, &e.member) || !r.U8(&diag) || diag > kMaxDiagnosisClass)
      return std::nullopt;
    e.kind = static_cast<EventKind>(kind);
    if (diag) e.diagnosis = static_cast<DiagnosisClass>(diag);
    v.events_.push_back(std::move(e));
  }
  uint32_t removed = 0;
  if (format != 1 && (!r.U32(&removed) || removed > kMaxRemoved)) return std::nullopt;
  for (uint32_t i = 0; i < removed; ++i) {
    std::string id;
    uint64_t version = 0;
    if (!wire::GetString(r, &id) || !r.U64(&version) || v.members_.count(id) ||
        !v.removed_.emplace(std::move(id), version).second)
      return std::nullopt;
  }
  if (format >= 6 && !v.locks_.Decode(r)) return std::nullopt;
  if (!r.ok() || r.remaining() != 0) return std::nullopt;
  return v;
}

}  // namespace ringwatch::membership
