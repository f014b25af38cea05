#pragma once
// MembershipService: runs this agent's membership::Coordinator. Every
// heartbeat interval it hands the coordinator the heartbeat service's
// verdicts (plus a TCP probe of each suspected member's peer port: refused
// or timed out) and carries out what comes back — Raft proposals and
// configuration changes, join/rejoin/report requests over the peer
// transport — and keeps the heartbeat targets and watch list on the observer
// assignment of the committed view. Committed entries and snapshots reach
// the coordinator through RaftService.
//
// Before this agent is in the committed view it heartbeats with the seeds,
// as before membership. Voters also watch the leader, and the leader sends
// heartbeats to every voter, so the fast failover input always has a
// detector behind it.
//
// Threading: lives on the core io_context; call every method from it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "agent/heartbeat_service.h"
#include "agent/raft_service.h"
#include "agent/raft_transport.h"
#include "config/config.h"
#include "membership/coordinator.h"

namespace ringwatch::agent {

class MembershipService {
 public:
  struct Options {
    membership::CoordinatorOptions coordinator;
    std::vector<boost::asio::ip::udp::endpoint> seeds;
    // A watched member is probed (TCP connect to its peer port) once its phi
    // reaches this, before it is suspected, so the verdict can carry the result.
    double probe_phi = 4.0;
  };

  MembershipService(boost::asio::io_context& ioc, Options options, RaftService& raft,
                    RaftTransport& transport, HeartbeatService& heartbeats, PeerMetrics& metrics,
                    prometheus::Registry& registry);

  // Hooks into RaftService; call before raft.Start().
  void Attach();
  void Start();
  void Stop();
  // Called right after every detector tick of the heartbeat service, so
  // verdicts go out with no phase delay; a timer covers a silent detector.
  void OnDetectorTick(const std::vector<PeerView>& peers);

  // Graceful leave: proposes Leave for this member; `done(true)` once it is
  // committed, `done(false)` if that did not happen within `timeout`.
  void Leave(std::chrono::milliseconds timeout, std::function<void(bool)> done);

  // Operator removal of a dead or left member: `done(status, message)` with
  // 200 once the removal is applied here, 404/409 when it cannot be, 504
  // when it did not commit within `timeout`.
  void Remove(const std::string& id, std::chrono::milliseconds timeout,
              std::function<void(int, std::string)> done);

  const membership::Coordinator& coordinator() const { return coordinator_; }
  bool Ready() const;
  void OnChange(std::function<void()> callback) { on_change_ = std::move(callback); }

 private:
  void ScheduleTick();
  void Tick(const std::vector<PeerView>& peers);
  void Execute(membership::Effects fx);
  void UpdateWatch();
  void Probe(const std::string& id, const std::string& address);
  membership::RaftFacts Facts() const;
  // Calls done(true) once `reached()` holds, done(false) after `timeout`.
  void WaitFor(std::function<bool()> reached, std::chrono::milliseconds timeout,
               std::function<void(bool)> done);

  boost::asio::io_context& ioc_;
  Options options_;
  RaftService& raft_;
  RaftTransport& transport_;
  HeartbeatService& heartbeats_;
  PeerMetrics& metrics_;
  membership::Coordinator coordinator_;
  boost::asio::steady_timer timer_;
  bool stopped_ = false;
  bool watch_dirty_ = true;
  std::string watched_leader_;
  // Former heartbeat targets keep receiving heartbeats until this time: views
  // reach members at slightly different moments, and an observer whose view
  // is ahead must not miss heartbeats from a member whose view is behind.
  std::map<boost::asio::ip::udp::endpoint, std::chrono::steady_clock::time_point> lingering_;
  static constexpr std::chrono::seconds kLinger{4};
  std::map<std::string, membership::ProbeResult> probes_;  // per suspicion episode
  std::map<std::string, std::shared_ptr<boost::asio::ip::tcp::socket>> probing_;
  void UpdateMetrics();

  std::function<void()> on_change_;
  // CONTRACT.md membership metrics, from the committed view this agent applied.
  prometheus::Family<prometheus::Gauge>& members_;
  prometheus::Family<prometheus::Gauge>& member_up_;
  prometheus::Family<prometheus::Counter>& changes_;
  prometheus::Histogram& detection_seconds_;
  prometheus::Gauge& view_version_;
  std::map<std::string, prometheus::Gauge*> up_series_;
  uint64_t counted_seq_ = 0;  // events up to this seq are counted
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringwatch::agent
