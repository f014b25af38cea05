#pragma once
// Who sent a peer input, as the transport authenticated it: the sender id,
// incarnation and public key of a frame whose Ed25519 signature verified
// with that key (agent/peer/peer_frame.h). Whether the key is the one the
// committed view registers for the id is the core's decision
// (AgentCore::CheckOrigin).

#include <cstdint>
#include <string>

namespace ringwatch::agent {

struct PeerOrigin {
  std::string id;
  uint64_t incarnation = 0;
  std::string public_key;  // 32 bytes
};

// Why the core refused an input; the runtime counts it as
// ringwatch_messages_dropped_total{reason}.
enum class Refusal {
  kNone,
  kBadIdentity,  // not signed by the key the view registers for the sender; or not its to say
  kReplay,       // of an earlier life of the sender, or too old
};
inline const char* ToString(Refusal r) {
  return r == Refusal::kBadIdentity ? "bad_identity" : r == Refusal::kReplay ? "replay" : "none";
}

}  // namespace ringwatch::agent
