#pragma once
// The envelope of all peer traffic: UDP heartbeats and TCP Raft and
// membership frames. Layout (protocol 2), little-endian:
//
//   magic "RW" | version u8 | type u8 | flags u8 | cluster String8 |
//   sender String8 | incarnation u64 | sequence u64 | sent_ms i64 |
//   public key (32 bytes) |
//   payload (u16 length for datagram types, u32 for kRaft and kMembership) |
//   origin proof, over every byte before it: an Ed25519 signature by the
//     public key (64 bytes), or, when flags & kPairwise, HMAC-SHA256 under
//     the pair key of sender and receiver (32 bytes, core::PairKey) |
//   [HMAC-SHA256 tag, 32 bytes, over every byte before it, when flags & kAuthenticated]
//
// The pair MAC proves the same as the signature to the one receiver that
// can compute the key — that the sender holds the secret of the public key
// in the frame — at a twentieth of the cost (a signature costs ~20 us to
// make and ~45 us to check; the pair key is computed once per peer). It is
// used whenever the sender knows the receiver's key (a member of its view);
// frames to a seed address, or to a member whose key it does not know yet,
// are signed.
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
#include <functional>
#include <map>
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

// kKeepalive: an empty stream frame that keeps a held connection (the fast
// path's) from its receiver's idle deadline.
enum class FrameType : uint8_t {
  kHeartbeat = 1,
  kHeartbeatAck = 2,
  kRaft = 3,
  kMembership = 4,
  kKeepalive = 5
};
// Stream (TCP) frame types carry a u32 payload length.
inline bool IsStreamFrame(FrameType t) {
  return t == FrameType::kRaft || t == FrameType::kMembership || t == FrameType::kKeepalive;
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

// This agent's pair keys with the peers it talks to, computed on first use
// and kept (at most kMax; all are dropped when full and recomputed on use).
class PairKeys {
 public:
  static constexpr std::size_t kMax = 4096;
  // Null when `their_public` is not a usable key.
  const std::string* For(const core::SigningKey& mine, std::string_view their_public);

 private:
  std::map<std::string, std::string, std::less<>> keys_;
};

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
  PairKeys pairs = {};
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

// `hmac_key` empty: no tag. `pair_key`: the pair key with the receiver (a
// pair MAC), or null (a signature). Precondition: cluster <= 255 bytes,
// payload <= 65535 bytes (stream types: <= kMaxStreamFrame).
std::string EncodeFrame(FrameType type, std::string_view cluster, const FrameSender& sender,
                        uint64_t sequence, int64_t sent_ms, std::string_view payload,
                        std::string_view hmac_key, const std::string* pair_key = nullptr);

// `keyring` empty: frames must carry no tag; else a tag by one of its keys.
// `receiver` and `pairs`: this agent's key and pair keys, to check a pair
// MAC (without them such a frame is `bad_identity`).
core::Result<Frame, DropReason> DecodeFrame(std::string_view bytes, std::string_view cluster,
                                            const std::vector<std::string>& keyring,
                                            std::size_t max_size,
                                            const core::SigningKey* receiver = nullptr,
                                            PairKeys* pairs = nullptr);

// The frame header and trailer, in bytes, for a sender id of `id_size` and
// a cluster name of `cluster_size` (what a datagram payload must leave room for).
std::size_t FrameOverhead(FrameType type, std::size_t cluster_size, std::size_t id_size,
                          bool tagged, bool pairwise = false);

}  // namespace ringwatch::agent
