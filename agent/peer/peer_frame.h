#pragma once
// The envelope of all peer traffic: UDP heartbeats and TCP Raft and
// membership frames. Layout (protocol 2), little-endian:
//
//   magic "RW" | version u8 | type u8 | flags u8 | cluster String8 |
//   sender String8 | incarnation u64 | sequence u64 | sent_ms i64 |
//   public key (32 bytes) |
//   payload (u16 length for datagram types, u32 for kRaft and kMembership) |
//   Ed25519 signature (64 bytes, by the public key, over every byte before it) |
//   [HMAC-SHA256 tag, 32 bytes, over every byte before it, when flags & kAuthenticated]
//
// On TCP each frame is preceded by its total length (u32), checked against
// kMaxStreamFrame before anything is read.
//
// Decoding checks, in order: size, magic and layout, version, the keyring's
// tag (any key of the keyring; the first signs), the cluster, the signature
// — a frame that fails one is dropped with the reason (the labels of
// ringwatch_messages_dropped_total) and its payload is never parsed. What
// it does not check, because it takes state: replays (ReplayGuard) and
// whether the key is the sender's registered identity (the core). Sender,
// incarnation and sequence number the frame for the replay window; sent_ms
// (the sender's wall clock) bounds the age of a frame a receiver without a
// window (just restarted) accepts. Pure functions; thread-safe.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/crypto.h"
#include "core/result.h"

namespace ringwatch::agent {

inline constexpr uint8_t kProtocolVersion = 2;
inline constexpr std::size_t kMaxDatagram = 1400;  // stays below a 1500-byte MTU

// Larger than any Raft message ringwatch sends (snapshots included).
inline constexpr std::size_t kMaxStreamFrame = 64u << 20;

enum class FrameType : uint8_t { kHeartbeat = 1, kHeartbeatAck = 2, kRaft = 3, kMembership = 4 };
// Stream (TCP) frame types carry a u32 payload length.
inline bool IsStreamFrame(FrameType t) {
  return t == FrameType::kRaft || t == FrameType::kMembership;
}

enum class DropReason {
  kBadHmac,
  kBadVersion,
  kMalformed,
  kOversize,
  kWrongCluster,
  kBadIdentity,  // the signature does not verify
  kReplay,       // seen before, of an earlier incarnation, or too old
};
const char* ToString(DropReason reason);

// Who sends: this agent's id, incarnation and signing key.
struct FrameSender {
  std::string id;
  uint64_t incarnation = 0;
  core::SigningKey key;
};

// What this agent's transports seal frames with: who it is and the
// keyring (the first key tags). Owned by the CoreLoop; the keyring is
// replaced on SIGHUP.
struct PeerCredentials {
  FrameSender sender;
  std::vector<std::string> keyring;
};

struct FrameOrigin {
  std::string_view sender;
  uint64_t incarnation = 0;
  uint64_t sequence = 0;
  int64_t sent_ms = 0;
  std::string_view public_key;
};

struct Frame {
  FrameType type;
  FrameOrigin origin;
  std::string_view payload;  // points into the decoded buffer
};

// `hmac_key` empty: no tag. Precondition: cluster <= 255 bytes, payload <=
// 65535 bytes (stream types: <= kMaxStreamFrame).
std::string EncodeFrame(FrameType type, std::string_view cluster, const FrameSender& sender,
                        uint64_t sequence, int64_t sent_ms, std::string_view payload,
                        std::string_view hmac_key);

// `keyring` empty: frames must carry no tag; else a tag by one of its keys.
core::Result<Frame, DropReason> DecodeFrame(std::string_view bytes, std::string_view cluster,
                                            const std::vector<std::string>& keyring,
                                            std::size_t max_size);

// The frame header and trailer, in bytes, for a sender id of `id_size` and
// a cluster name of `cluster_size` (what a datagram payload must leave room for).
std::size_t FrameOverhead(FrameType type, std::size_t cluster_size, std::size_t id_size,
                          bool tagged);

}  // namespace ringwatch::agent
