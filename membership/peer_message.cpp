#include "membership/peer_message.h"

#include "membership/wire.h"

namespace ringwatch::membership {

namespace {

// Everything but the forwarding flag and the signature: what the origin signs.
void PutSigned(core::ByteWriter& w, const PeerMessage& message) {
  w.U8(static_cast<uint8_t>(message.index() + 1));
  if (const auto* j = std::get_if<JoinRequest>(&message)) {
    wire::PutInfo(w, j->info);
    w.U8(j->lost_state ? 1 : 0);
  } else if (const auto* r = std::get_if<RejoinRequest>(&message)) {
    wire::PutString(w, r->id);
    w.U64(r->incarnation);
    wire::PutAccount(w, r->account);
  } else if (const auto* m = std::get_if<ReportMessage>(&message)) {
    const Report& p = m->report;
    wire::PutString(w, p.observer);
    wire::PutString(w, p.subject);
    w.U64(p.incarnation);
    w.U8(p.suspected ? 1 : 0);
    wire::PutF64(w, p.phi);
    wire::PutF64(w, p.silence_seconds);
    w.U8(static_cast<uint8_t>(p.probe));
    w.U8(static_cast<uint8_t>(p.path));
    w.U8(p.health ? 1 : 0);
    if (p.health) wire::PutHealth(w, *p.health);
    w.I64(m->sent_ms);
  } else if (const auto* a = std::get_if<JoinReply>(&message)) {
    wire::PutString(w, a->id);
    wire::PutString(w, a->address);
    wire::PutString(w, a->leader);
    wire::PutString(w, a->leader_address);
  }
}

}  // namespace

std::string SignedBytes(const PeerMessage& message) {
  core::ByteWriter w;
  w.Bytes(std::string_view("ringwatch peer message\0", 23));
  PutSigned(w, message);
  return w.Take();
}

std::string EncodePeerMessage(const PeerMessage& message) {
  core::ByteWriter w;
  PutSigned(w, message);
  if (std::holds_alternative<JoinReply>(message)) return w.Take();
  std::visit(
      [&](const auto& m) {
        if constexpr (!std::is_same_v<std::decay_t<decltype(m)>, JoinReply>) {
          w.U8(m.forwarded ? 1 : 0);
          wire::PutString(w, m.signature);
        }
      },
      message);
  return w.Take();
}

std::optional<PeerMessage> DecodePeerMessage(std::string_view bytes, std::string* why) {
  core::ByteReader r(bytes);
  uint8_t tag = 0, flag = 0;
  if (!r.U8(&tag)) return std::nullopt;
  PeerMessage out;
  bool ok = false;
  // The forwarding flag and the signature (at most one Ed25519 signature).
  auto tail = [&](bool* forwarded, std::string* signature) {
    return r.U8(&flag) && flag <= 1 && (*forwarded = flag == 1, true) &&
           wire::GetString(r, signature) && signature->size() <= kSignatureSize;
  };
  if (tag == 1) {
    JoinRequest j;
    uint8_t lost = 0;
    ok = wire::GetInfo(r, &j.info, why) && r.U8(&lost) && lost <= 1 &&
         tail(&j.forwarded, &j.signature);
    j.lost_state = lost == 1;
    out = std::move(j);
  } else if (tag == 2) {
    RejoinRequest j;
    ok = wire::GetId(r, &j.id) && r.U64(&j.incarnation) && wire::GetAccount(r, &j.account) &&
         tail(&j.forwarded, &j.signature);
    out = std::move(j);
  } else if (tag == 3) {
    ReportMessage m;
    Report& p = m.report;
    uint8_t suspected = 0, probe = 0, path = 0, has_health = 0;
    ok = wire::GetId(r, &p.observer) && wire::GetId(r, &p.subject) && r.U64(&p.incarnation) &&
         r.U8(&suspected) && suspected <= 1 && wire::GetF64(r, &p.phi) &&
         wire::GetF64(r, &p.silence_seconds) && r.U8(&probe) && probe <= 3 && r.U8(&path) &&
         path <= kMaxDetectionPath && r.U8(&has_health) && has_health <= 1;
    p.suspected = suspected == 1;
    p.probe = static_cast<ProbeResult>(probe);
    p.path = static_cast<DetectionPath>(path);
    if (ok && has_health) {
      p.health.emplace();
      ok = wire::GetHealth(r, &*p.health);
    }
    ok = ok && r.I64(&m.sent_ms) && tail(&m.forwarded, &m.signature);
    out = std::move(m);
  } else if (tag == 4) {
    JoinReply a;
    ok = wire::GetId(r, &a.id) && wire::GetString(r, &a.address) && !a.address.empty() &&
         a.address.size() <= kMaxAddressLength && wire::GetString(r, &a.leader) &&
         (a.leader.empty() || core::IsValidId(a.leader)) && wire::GetString(r, &a.leader_address) &&
         a.leader_address.size() <= kMaxAddressLength;
    out = std::move(a);
  }
  if (!ok || !r.ok() || r.remaining() != 0) return std::nullopt;
  return out;
}

}  // namespace ringwatch::membership
