#pragma once
// The envelope of all peer traffic: UDP heartbeats and TCP Raft frames.
// Layout, little-endian:
//
//   magic "RW" | version u8 | type u8 | flags u8 | cluster String8 |
//   payload (u16 length for datagram types, u32 for kRaft and kMembership) |
//   [HMAC-SHA256 tag, 32 bytes, when flags & kAuthenticated]
//
// On TCP each frame is preceded by its total length (u32), checked against
// kMaxStreamFrame before anything is read.
//
// The tag covers every byte before it. Decoding checks, in order: size,
// magic and layout, version, authentication, cluster; a frame that fails one
// is dropped with the reason (the labels of ringwatch_messages_dropped_total)
// and its payload is never parsed. Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace ringwatch::agent {

inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr std::size_t kMaxDatagram = 1400;  // stays below a 1500-byte MTU

// Larger than any Raft message ringwatch sends (snapshots included).
inline constexpr std::size_t kMaxStreamFrame = 64u << 20;

enum class FrameType : uint8_t { kHeartbeat = 1, kHeartbeatAck = 2, kRaft = 3, kMembership = 4 };
// Stream (TCP) frame types carry a u32 payload length.
inline bool IsStreamFrame(FrameType t) {
  return t == FrameType::kRaft || t == FrameType::kMembership;
}

enum class DropReason { kBadHmac, kBadVersion, kMalformed, kOversize, kWrongCluster };
const char* ToString(DropReason reason);
inline constexpr DropReason kAllDropReasons[] = {DropReason::kBadHmac, DropReason::kBadVersion,
                                                 DropReason::kMalformed, DropReason::kOversize,
                                                 DropReason::kWrongCluster};

struct Frame {
  FrameType type;
  std::string_view payload;  // points into the decoded buffer
};

// `key` empty: no authentication. Precondition: cluster <= 255 bytes,
// payload <= 65535 bytes (kRaft: <= kMaxStreamFrame).
std::string EncodeFrame(FrameType type, std::string_view cluster, std::string_view payload,
                        std::string_view key);

core::Result<Frame, DropReason> DecodeFrame(std::string_view bytes, std::string_view cluster,
                                            std::string_view key, std::size_t max_size);

}  // namespace ringwatch::agent
