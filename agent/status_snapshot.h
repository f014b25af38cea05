#pragma once
// The immutable picture of the agent that HTTP handlers read. The core thread
// builds a new snapshot after each change and publishes it; readers take the
// latest with one shared_ptr copy and never block the core.

#include <memory>
#include <mutex>
#include <string>

namespace ringwatch::agent {

struct StatusSnapshot {
  std::string node_id;
  std::string cluster;
  std::string version;
  bool ready = false;
  // Why the agent is not ready; shown by /readyz. Empty when ready.
  std::string not_ready_reason;
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
