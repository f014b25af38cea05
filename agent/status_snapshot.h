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

#include "collectors/health_summary.h"
#include "membership/view.h"

namespace ringwatch::agent {

// This agent's own observation of one watched peer.
struct PeerView {
  std::string id;       // empty until the peer's first heartbeat names it
  std::string address;  // "host:port" heartbeats are sent to
  uint64_t incarnation = 0;
  bool heard = false;
  double phi = 0;
  double silence_seconds = 0;
  std::optional<double> rtt_seconds;  // latest round trip, once acked
  bool suspected = false;
  std::string suspected_by;                         // "phi", "timeout" or "" when not suspected
  std::optional<collectors::HealthSummary> health;  // carried by its latest heartbeat
};

// This agent's Raft node, as /v1/status shows it.
struct RaftView {
  std::string role;  // follower, pre-candidate, candidate, leader
  uint64_t term = 0;
  std::string leader;  // empty: none known
  uint64_t commit_index = 0;
  uint64_t applied_index = 0;
  uint64_t last_index = 0;
  uint64_t snapshot_index = 0;
  std::vector<std::string> voters;
  std::vector<std::string> learners;
};

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
  std::optional<RaftView> raft;  // absent until the Raft service has started
  // The committed view this agent has applied (shared, immutable; null
  // before the membership service runs).
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
