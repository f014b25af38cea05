#include "membership/wire.h"

#include <cstring>

#include "core/ids.h"

namespace ringwatch::membership::wire {

// Ids, addresses and zones are short; a longer one is garbage.
constexpr uint32_t kMaxString = 1u << 16;
constexpr uint32_t kMaxObservers = 1024;

void PutString(core::ByteWriter& w, std::string_view s) {
  w.U32(static_cast<uint32_t>(s.size()));
  w.Bytes(s);
}

bool GetString(core::ByteReader& r, std::string* out) {
  uint32_t n = 0;
  std::string_view v;
  if (!r.U32(&n) || n > kMaxString || !r.Bytes(n, &v)) return false;
  out->assign(v);
  return true;
}

void PutF64(core::ByteWriter& w, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  w.U64(bits);
}

bool GetF64(core::ByteReader& r, double* v) {
  uint64_t bits = 0;
  if (!r.U64(&bits)) return false;
  std::memcpy(v, &bits, sizeof bits);
  return true;
}

void PutInfo(core::ByteWriter& w, const MemberInfo& i, bool with_identity) {
  PutString(w, i.id);
  PutString(w, i.address);
  PutString(w, i.zone);
  PutString(w, i.service);
  w.U32(i.weight);
  w.U64(i.incarnation);
  if (with_identity) PutString(w, i.identity);
}

bool GetInfo(core::ByteReader& r, MemberInfo* i, std::string* why, bool with_identity) {
  if (!GetString(r, &i->id) || !GetString(r, &i->address) || !GetString(r, &i->zone) ||
      !GetString(r, &i->service) || !r.U32(&i->weight) || !r.U64(&i->incarnation))
    return false;
  if (with_identity && !GetString(r, &i->identity)) return false;
  std::string problem = InfoProblem(*i);
  if (problem.empty()) return true;
  if (why) *why = std::move(problem);
  return false;
}

bool GetId(core::ByteReader& r, std::string* out) {
  return GetString(r, out) && core::IsValidId(*out);
}

void PutHealth(core::ByteWriter& w, const Health& h) {
  w.F32(h.load1_per_core);
  w.F32(h.memory_available_ratio);
  w.F32(h.fullest_filesystem_ratio);
  w.F32(h.agent_cpu_ratio);
}

bool GetHealth(core::ByteReader& r, Health* h) {
  return r.F32(&h->load1_per_core) && r.F32(&h->memory_available_ratio) &&
         r.F32(&h->fullest_filesystem_ratio) && r.F32(&h->agent_cpu_ratio);
}

void PutDiagnosis(core::ByteWriter& w, const Diagnosis& d, uint8_t layout) {
  w.U8(static_cast<uint8_t>(d.cls));
  w.U32(static_cast<uint32_t>(d.observers.size()));
  for (const ObserverEvidence& o : d.observers) {
    PutString(w, o.observer);
    PutF64(w, o.phi);
    PutF64(w, o.silence_seconds);
    w.U8(o.suspected ? 1 : 0);
    if (layout >= 2) w.U8(static_cast<uint8_t>(o.probe));
    if (layout >= 3) w.U8(static_cast<uint8_t>(o.path));
  }
  w.U8(static_cast<uint8_t>(d.probe));
  w.U8(d.health ? 1 : 0);
  if (d.health) PutHealth(w, *d.health);
  w.I64(d.decided_at_ms);
  if (layout < 2) return;
  PutIds(w, d.group);
  w.U8(d.revision ? 1 : 0);
  if (d.revision) {
    w.U8(static_cast<uint8_t>(d.revision->cls));
    PutAccount(w, d.revision->account);
    w.I64(d.revision->revised_at_ms);
  }
  if (layout >= 3) w.U8(static_cast<uint8_t>(d.path));
}

bool GetDiagnosis(core::ByteReader& r, Diagnosis* d, uint8_t layout) {
  uint8_t cls = 0, probe = 0, has_health = 0;
  uint32_t n = 0;
  if (!r.U8(&cls) || cls < 1 || cls > kMaxDiagnosisClass || !r.U32(&n) || n > kMaxObservers)
    return false;
  d->cls = static_cast<DiagnosisClass>(cls);
  d->observers.resize(n);
  for (ObserverEvidence& o : d->observers) {
    uint8_t s = 0, p = 0, path = 0;
    if (!GetId(r, &o.observer) || !GetF64(r, &o.phi) || !GetF64(r, &o.silence_seconds) ||
        !r.U8(&s) || s > 1 || (layout >= 2 && (!r.U8(&p) || p > 3)) ||
        (layout >= 3 && (!r.U8(&path) || path > kMaxDetectionPath)))
      return false;
    o.suspected = s == 1;
    o.probe = static_cast<ProbeResult>(p);
    o.path = static_cast<DetectionPath>(path);
  }
  if (!r.U8(&probe) || probe > 3 || !r.U8(&has_health) || has_health > 1) return false;
  d->probe = static_cast<ProbeResult>(probe);
  if (has_health) {
    d->health.emplace();
    if (!GetHealth(r, &*d->health)) return false;
  }
  if (!r.I64(&d->decided_at_ms)) return false;
  if (layout < 2) return true;
  uint8_t has_revision = 0;
  if (!GetIds(r, &d->group, kMaxObservers) || !r.U8(&has_revision) || has_revision > 1)
    return false;
  if (has_revision) {
    uint8_t rcls = 0;
    d->revision.emplace();
    if (!r.U8(&rcls) || rcls < 1 || rcls > kMaxDiagnosisClass) return false;
    d->revision->cls = static_cast<DiagnosisClass>(rcls);
    if (!GetAccount(r, &d->revision->account) || !r.I64(&d->revision->revised_at_ms)) return false;
  }
  if (layout < 3) return true;
  uint8_t path = 0;
  if (!r.U8(&path) || path > kMaxDetectionPath) return false;
  d->path = static_cast<DetectionPath>(path);
  return true;
}

void PutIds(core::ByteWriter& w, const std::vector<std::string>& ids) {
  w.U32(static_cast<uint32_t>(ids.size()));
  for (const std::string& id : ids)
    PutString(w, id);
}

bool GetIds(core::ByteReader& r, std::vector<std::string>* ids, std::size_t max) {
  uint32_t n = 0;
  if (!r.U32(&n) || n > max) return false;
  ids->resize(n);
  for (std::string& id : *ids) {
    if (!GetId(r, &id)) return false;
  }
  return true;
}

void PutAccount(core::ByteWriter& w, const Account& a) {
  w.U8(a.restarted ? 1 : 0);
  w.U8(a.episode ? 1 : 0);
  w.U32(a.longest_pause_ms);
  PutIds(w, a.heard);
}

bool GetAccount(core::ByteReader& r, Account* a) {
  uint8_t restarted = 0, episode = 0;
  if (!r.U8(&restarted) || restarted > 1 || !r.U8(&episode) || episode > 1 ||
      !r.U32(&a->longest_pause_ms) || !GetIds(r, &a->heard, kMaxAccountHeard))
    return false;
  a->restarted = restarted == 1;
  a->episode = episode == 1;
  return true;
}

}  // namespace ringwatch::membership::wire
