#pragma once
// RingService: keeps this agent's consistent-hash ring on the committed view.
// When an applied change moves the view's ring version (an alive member
// joined, died, left or changed its service, zone or weight), the ring is
// rebuilt — once per burst of changes, so replaying a long log builds it
// once — together with the move plan from the ring this agent had before.
// The new ring is published as an immutable RingState for the HTTP API, its
// metrics are set, and a worker thread rewrites `ring.file` (atomically) and
// runs `ring.on_change` with the ring JSON on stdin, off the core thread,
// with a timeout. Should changes come faster than the hook runs, the hook
// gets the latest ring (intermediate rings are skipped, never queued).
//
// Threading: construct, Notify and Current on the core io_context; the
// worker thread only touches the file, the hook and their counters.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "exporters/agent_metrics.h"
#include "membership/view.h"
#include "ring/move_plan.h"
#include "ring/ring.h"

namespace ringwatch::agent {

// One ring, as every reader sees it. Immutable once published.
struct RingState {
  core::ViewVersion version;  // the view's ring_version this ring was built from
  uint32_t replicas = 0;
  ring::Ring ring;
  std::vector<double> ownership;    // by member index
  std::vector<std::size_t> points;  // by member index
  core::ViewVersion from_version;   // the ring this agent held before (0: none)
  ring::MovePlan moves;             // from that ring to this one
  std::string json;                 // GET /v1/ring body, the ring file, the hook's stdin
};

// The /v1/ring JSON of `state` (without a trailing newline).
std::string RingJson(const RingState& state);

class RingService {
 public:
  struct Options {
    ring::Options ring;     // ring.hash, ring.points
    uint32_t replicas = 3;  // ring.replicas
    std::string file;       // ring.file ("" none)
    std::string on_change;  // ring.on_change ("" none)
    std::string node_id;    // given to the hook as RINGWATCH_NODE_ID
    // The longest a `ring.on_change` command may run before it is killed.
    std::chrono::milliseconds hook_timeout{10000};
  };

  RingService(boost::asio::io_context& ioc, Options options, exporters::RingMetrics& metrics);
  ~RingService();
  RingService(const RingService&) = delete;
  RingService& operator=(const RingService&) = delete;

  // The view getter is read when a rebuild runs; `on_change` is called (on
  // the core thread) after each new ring is published.
  void Attach(std::function<const membership::View&()> view, std::function<void()> on_change);
  // A committed change was applied: rebuild soon if the ring version moved.
  void Notify();
  // Rebuilds now if the ring version moved (Notify posts this).
  void Update();
  // The current ring; null before the first view is applied.
  std::shared_ptr<const RingState> Current() const { return current_; }
  // Lets a running hook finish (up to its timeout) and ends the worker.
  void Stop();

 private:
  void Work();
  void WriteFile(const RingState& state);
  void RunHook(const RingState& state);

  boost::asio::io_context& ioc_;
  Options options_;
  std::function<const membership::View&()> view_;
  std::function<void()> on_change_;
  bool update_posted_ = false;
  ring::PointCache cache_;
  std::shared_ptr<const RingState> current_;

  exporters::RingMetrics& metrics_;

  // Worker: the latest ring not yet written/announced.
  std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const RingState> pending_;
  bool stopping_ = false;
  std::thread worker_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringwatch::agent
