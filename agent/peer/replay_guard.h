#pragma once
// ReplayGuard: drops peer frames this agent has accepted before. Per sender
// (id and public key: a holder of the cluster key who makes up a key for a
// member's id gets a window of its own and cannot move the member's), the
// highest incarnation seen and a window of the last kWindow sequence
// numbers of it (IPsec's anti-replay window, RFC 4303 3.4.3): a frame of an
// earlier incarnation, below the window, or already in it is a replay.
// A receiver that has no window for a sender (it just started) cannot tell
// a replay from a first frame; the age bound limits what it accepts to
// frames sent within kMaxAgeMs by the sender's clock (hosts' clocks must
// agree within that; NTP does). At most kMaxSenders windows are kept; the
// least recently used goes first. Only frames that passed every check of
// DecodeFrame (tag, signature) may be given: nothing is kept for the rest.
// Not thread-safe: one per transport, on its thread.

#include <bitset>
#include <cstdint>
#include <map>
#include <string>

#include "agent/peer/peer_frame.h"

namespace ringwatch::agent {

class ReplayGuard {
 public:
  static constexpr uint64_t kWindow = 1024;
  static constexpr int64_t kMaxAgeMs = 120'000;
  static constexpr std::size_t kMaxSenders = 4096;

  // True: a fresh frame, now recorded; false: a replay (nothing changes).
  bool Accept(const FrameOrigin& origin, int64_t now_ms);
  std::size_t senders() const { return windows_.size(); }

 private:
  struct Window {
    uint64_t incarnation = 0;
    uint64_t highest = 0;
    std::bitset<kWindow> seen;  // bit i: highest - i was accepted
    uint64_t used = 0;
  };
  std::map<std::string, Window> windows_;  // by id, a NUL, the public key
  uint64_t clock_ = 0;
};

}  // namespace ringwatch::agent
