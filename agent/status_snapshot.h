#pragma once
// The immutable picture of the agent that HTTP handlers read. The core thread
// builds a new snapshot after each change and publishes it; readers take the
// latest with one shared_ptr copy and never block the core.

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/agent_core.h"
#include "membership/view.h"

namespace ringwatch::agent {

struct RingState;  // agent/ring_service.h

struct StatusSnapshot {
  std::string node_id;
  std::string cluster;
  std::string version;
  bool ready = false;
  // Why the agent is not ready; shown by /readyz. Empty when ready.
  std::string not_ready_reason;
  // This member as configured, and the peers it watches.
  std::string address;
  std::string zone;
  std::string service;
  uint32_t weight = 1;
  uint64_t incarnation = 0;
  std::vector<PeerView> peers;
  std::size_t keyring_keys = 0;  // 0: peer traffic unauthenticated
  std::string identity;          // this member's public key, hex
  std::optional<RaftView> raft;  // absent until the core has started
  // The committed view this agent has applied (shared, immutable; null
  // before the core runs).
  std::shared_ptr<const membership::View> view;
  // The ring built from that view (null until the first view is applied).
  std::shared_ptr<const RingState> ring;
};

// Thread-safe holder of the latest snapshot.
class SnapshotPublisher {
 public:
  explicit SnapshotPublisher(std::shared_ptr<const StatusSnapshot> initial)
      : latest_(std::move(initial)) {}

  void Publish(std::shared_ptr<const StatusSnapshot> snapshot) {
    std::lock_guard lock(mu_);
    latest_ = std::move(snapshot);
  }

  std::shared_ptr<const StatusSnapshot> Latest() const {
    std::lock_guard lock(mu_);
    return latest_;
  }

 private:
  mutable std::mutex mu_;
  std::shared_ptr<const StatusSnapshot> latest_;  // never null
};

}  // namespace ringwatch::agent
