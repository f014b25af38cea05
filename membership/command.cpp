#include "membership/command.h"

#include "membership/locks.h"
#include "membership/wire.h"

namespace ringwatch::membership {
namespace {

// 2: member infos carry the identity; 3: diagnoses carry per-observer
// probes, the silent group and a revision (and Revise exists); 4: and the
// detection path. Earlier entries (a log written by an earlier version)
// still decode.
constexpr uint8_t kVersion = 4;

template <typename... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// (A deduction guide: clang 14 lacks C++20 aggregate deduction.)
template <typename... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

}  // namespace

std::string EncodeCommand(const Command& c) {
  core::ByteWriter w;
  w.U8(kVersion);
  w.I64(c.time_ms);
  w.U8(static_cast<uint8_t>(c.body.index() + 1));
  std::visit(Overloaded{
                 [&](const AddMember& a) { wire::PutInfo(w, a.info); },
                 [&](const MarkDead& d) {
                   wire::PutString(w, d.id);
                   w.U64(d.incarnation);
                   wire::PutDiagnosis(w, d.diagnosis);
                 },
                 [&](const MarkAlive& a) {
                   wire::PutString(w, a.id);
                   w.U64(a.incarnation);
                 },
                 [&](const Leave& l) { wire::PutString(w, l.id); },
                 [&](const Remove& r) { wire::PutString(w, r.id); },
                 [&](const UpdateMember& u) { wire::PutInfo(w, u.info); },
                 [&](const LeaderElected& l) {
                   wire::PutString(w, l.id);
                   w.U64(l.term);
                 },
                 [&](const Restarting& x) {
                   wire::PutString(w, x.id);
                   w.U64(x.incarnation);
                 },
                 [&](const Revise& x) {
                   wire::PutString(w, x.id);
                   w.U64(x.incarnation);
                   w.U8(static_cast<uint8_t>(x.revision.cls));
                   wire::PutAccount(w, x.revision.account);
                 },
                 [&](const LockAcquire& x) {
                   wire::PutString(w, x.name);
                   wire::PutString(w, x.holder);
                   wire::PutString(w, x.member);
                   w.U64(x.incarnation);
                   w.I64(x.ttl_ms);
                   w.U32(x.max);
                 },
                 [&](const LockRenew& x) {
                   wire::PutString(w, x.name);
                   w.U64(x.token);
                 },
                 [&](const LockRelease& x) {
                   wire::PutString(w, x.name);
                   w.U64(x.token);
                 },
                 [&](const LockExpire& x) {
                   wire::PutString(w, x.name);
                   w.U64(x.token);
                 },
             },
             c.body);
  return w.Take();
}

std::optional<Command> DecodeCommand(std::string_view bytes) {
  core::ByteReader r(bytes);
  uint8_t version = 0, tag = 0;
  Command c;
  if (!r.U8(&version) || version < 1 || version > kVersion || !r.I64(&c.time_ms) || !r.U8(&tag))
    return std::nullopt;
  const bool identities = version >= 2;
  const bool diagnosis_v2 = version >= 3;
  const uint8_t diagnosis_layout = version >= 4 ? 3 : diagnosis_v2 ? 2 : 1;
  bool ok = false;
  switch (tag) {
    case 1: {
      AddMember a;
      ok = wire::GetInfo(r, &a.info, nullptr, identities);
      c.body = std::move(a);
      break;
    }
    case 2: {
      MarkDead d;
      ok = wire::GetId(r, &d.id) && r.U64(&d.incarnation) &&
           wire::GetDiagnosis(r, &d.diagnosis, diagnosis_layout);
      c.body = std::move(d);
      break;
    }
    case 3: {
      MarkAlive a;
      ok = wire::GetId(r, &a.id) && r.U64(&a.incarnation);
      c.body = std::move(a);
      break;
    }
    case 4: {
      Leave l;
      ok = wire::GetId(r, &l.id);
      c.body = std::move(l);
      break;
    }
    case 5: {
      Remove x;
      ok = wire::GetId(r, &x.id);
      c.body = std::move(x);
      break;
    }
    case 6: {
      UpdateMember u;
      ok = wire::GetInfo(r, &u.info, nullptr, identities);
      c.body = std::move(u);
      break;
    }
    case 7: {
      LeaderElected l;
      ok = wire::GetId(r, &l.id) && r.U64(&l.term);
      c.body = std::move(l);
      break;
    }
    case 8: {
      Restarting x;
      ok = wire::GetId(r, &x.id) && r.U64(&x.incarnation);
      c.body = std::move(x);
      break;
    }
    case 9: {
      if (!diagnosis_v2) return std::nullopt;
      Revise x;
      uint8_t cls = 0;
      ok = wire::GetId(r, &x.id) && r.U64(&x.incarnation) && r.U8(&cls) && cls >= 1 &&
           cls <= kMaxDiagnosisClass && wire::GetAccount(r, &x.revision.account);
      x.revision.cls = static_cast<DiagnosisClass>(cls);
      c.body = std::move(x);
      break;
    }
    case 10: {
      if (version < 4) return std::nullopt;
      LockAcquire x;
      ok = wire::GetString(r, &x.name) && IsValidLockName(x.name) &&
           wire::GetString(r, &x.holder) && IsValidHolder(x.holder) && wire::GetId(r, &x.member) &&
           r.U64(&x.incarnation) && r.I64(&x.ttl_ms) &&
           (x.ttl_ms == 0 || (x.ttl_ms >= kMinLockTtlMs && x.ttl_ms <= kMaxLockTtlMs)) &&
           r.U32(&x.max);
      c.body = std::move(x);
      break;
    }
    case 11:
    case 12:
    case 13: {
      if (version < 4) return std::nullopt;
      std::string name;
      uint64_t token = 0;
      ok = wire::GetString(r, &name) && IsValidLockName(name) && r.U64(&token);
      if (tag == 11) {
        c.body = LockRenew{std::move(name), token};
      } else if (tag == 12) {
        c.body = LockRelease{std::move(name), token};
      } else {
        c.body = LockExpire{std::move(name), token};
      }
      break;
    }
    default:
      return std::nullopt;
  }
  if (!ok || !r.ok() || r.remaining() != 0) return std::nullopt;
  return c;
}

}  // namespace ringwatch::membership
