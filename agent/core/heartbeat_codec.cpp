#include "agent/core/heartbeat_codec.h"

#include <algorithm>
#include <cmath>

#include "core/byte_codec.h"
#include "core/ids.h"

namespace ringwatch::agent {

std::string EncodeHeartbeat(const Heartbeat& h) {
  core::ByteWriter w;
  w.String8(h.sender);
  w.U64(h.incarnation);
  w.U64(h.sequence);
  w.I64(h.send_time_ns);
  w.U8(h.health ? 1 : 0);
  const HealthSummary s = h.health.value_or(HealthSummary{});
  w.F32(s.load1_per_core);
  w.F32(s.memory_available_ratio);
  w.F32(s.fullest_filesystem_ratio);
  w.F32(s.agent_cpu_ratio);
  const std::size_t n = std::min(h.rtt_us.size(), kMaxHeartbeatRtts);
  w.U8(static_cast<uint8_t>(n));
  for (std::size_t i = 0; i < n; ++i) {
    w.String8(h.rtt_us[i].first);
    w.U32(h.rtt_us[i].second);
  }
  return w.Take();
}

std::string EncodeAck(const HeartbeatAck& a) {
  core::ByteWriter w;
  w.String8(a.sender);
  w.U64(a.sequence);
  w.I64(a.echoed_send_time_ns);
  return w.Take();
}

std::optional<Heartbeat> DecodeHeartbeat(std::string_view payload) {
  core::ByteReader r(payload);
  Heartbeat h;
  std::string_view sender;
  uint8_t has_health = 0;
  HealthSummary s;
  r.String8(&sender);
  r.U64(&h.incarnation);
  r.U64(&h.sequence);
  r.I64(&h.send_time_ns);
  r.U8(&has_health);
  r.F32(&s.load1_per_core);
  r.F32(&s.memory_available_ratio);
  r.F32(&s.fullest_filesystem_ratio);
  r.F32(&s.agent_cpu_ratio);
  if (!r.ok() || has_health > 1 || !core::IsValidId(sender)) return std::nullopt;
  for (float f : {s.load1_per_core, s.memory_available_ratio, s.fullest_filesystem_ratio,
                  s.agent_cpu_ratio}) {
    if (!std::isfinite(f)) return std::nullopt;
  }
  h.sender = std::string(sender);
  if (has_health) h.health = s;
  if (r.remaining() > 0) {
    uint8_t n = 0;
    if (!r.U8(&n) || n > kMaxHeartbeatRtts) return std::nullopt;
    for (uint8_t i = 0; i < n; ++i) {
      std::string_view id;
      uint32_t rtt = 0;
      if (!r.String8(&id) || !r.U32(&rtt) || !core::IsValidId(id)) return std::nullopt;
      h.rtt_us.emplace_back(std::string(id), rtt);
    }
  }
  return h;
}

std::optional<HeartbeatAck> DecodeAck(std::string_view payload) {
  core::ByteReader r(payload);
  HeartbeatAck a;
  std::string_view sender;
  r.String8(&sender);
  r.U64(&a.sequence);
  r.I64(&a.echoed_send_time_ns);
  if (!r.ok() || !core::IsValidId(sender)) return std::nullopt;
  a.sender = std::string(sender);
  return a;
}

}  // namespace ringwatch::agent
