#pragma once
// Payloads of the heartbeat exchange (inside a peer frame, see peer_frame.h).
//
// Heartbeat: sender id String8 | incarnation u64 | sequence u64 |
//            send_time i64 (ns on the sender's monotonic clock) |
//            health: present u8 | load1_per_core f32 | memory_available_ratio f32 |
//                    fullest_filesystem_ratio f32 | agent_cpu_ratio f32 |
//            [round trips: count u8 | (receiver id String8 | rtt_us u32) * count]
// Ack:       sender id String8 | sequence u64 | echoed send_time i64
//
// The ack echoes the heartbeat's send_time, so the heartbeat's sender gets
// the round-trip time on its own clock, with no clock agreement between
// hosts. The heartbeat then carries the round trips its sender measured to
// each of its receivers, so an observer learns its RTT to the member it
// watches without sending it anything (acks go to the heartbeat's sender,
// and observers do not heartbeat their subjects unless watching is mutual).
// The round-trip block is optional (absent in earlier versions); bytes after
// it are ignored, so a later version may append fields.
// Pure functions; thread-safe.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "collectors/health_summary.h"

namespace ringwatch::agent {

using collectors::HealthSummary;

struct Heartbeat {
  std::string sender;
  uint64_t incarnation = 0;
  uint64_t sequence = 0;
  int64_t send_time_ns = 0;
  std::optional<HealthSummary> health;
  // The sender's latest round trip to each receiver it has one for.
  std::vector<std::pair<std::string, uint32_t>> rtt_us;
};

// At most this many (with 64-byte ids and cluster name the heartbeat still fits a 1400-byte
// datagram); receivers beyond them measure nothing.
inline constexpr std::size_t kMaxHeartbeatRtts = 8;

struct HeartbeatAck {
  std::string sender;
  uint64_t sequence = 0;
  int64_t echoed_send_time_ns = 0;
};

std::string EncodeHeartbeat(const Heartbeat& h);
std::string EncodeAck(const HeartbeatAck& a);

// nullopt for a payload that does not parse (counted as malformed), including
// a sender that is not a valid member id.
std::optional<Heartbeat> DecodeHeartbeat(std::string_view payload);
std::optional<HeartbeatAck> DecodeAck(std::string_view payload);

}  // namespace ringwatch::agent
