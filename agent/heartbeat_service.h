#pragma once
// The heartbeat exchange on the peer port (UDP). Every heartbeat_interval
// this agent sends a heartbeat to each target, and evaluates a detectors::
// Policy for each peer it watches; every heartbeat received is acked (the ack
// echoes the send time, giving the sender its RTT) and, when it comes from a
// watched peer, fed to that peer's Policy. Frames that fail a check are
// dropped and counted by reason.
//
// Targets and watch list are replaceable at run time: until membership exists
// both are cluster.seeds; later they are derived from the committed view (the
// members this agent observes, and the observers of this agent). A seed's id
// is learned from its first heartbeat; a seed that turns out to be this agent
// (its own heartbeat comes back) is dropped from both lists.
//
// Threading: lives on the core io_context; every method must be called from
// that thread. Status() is copied into the published StatusSnapshot.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/heartbeat_codec.h"
#include "agent/peer_metrics.h"
#include "agent/status_snapshot.h"
#include "config/config.h"
#include "detectors/policy.h"

namespace ringwatch::agent {

struct WatchedPeer {
  std::string id;  // empty when not yet known (a seed)
  boost::asio::ip::udp::endpoint endpoint;
};

class HeartbeatService {
 public:
  struct Options {
    std::string node_id;
    std::string cluster;
    std::string key;  // HMAC key; empty: none
    uint64_t incarnation = 0;
    config::DetectorConfig detector;
  };

  // Arrivals kept per watched peer for GET /v1/peers/{id}/arrivals (about
  // seven minutes at 100 ms).
  static constexpr std::size_t kArrivalHistory = 4096;
  // Heartbeats acked (for the round-trip time): those whose sequence number
  // is a multiple of this.
  static constexpr uint64_t kAckEvery = 4;

  HeartbeatService(boost::asio::io_context& ioc, Options options, PeerMetrics& metrics);

  std::error_code Start(const boost::asio::ip::udp::endpoint& listen);
  void Stop();

  void SetTargets(std::vector<boost::asio::ip::udp::endpoint> targets);
  // The incarnation carried by the heartbeats sent from now on (it grows
  // when this member rejoins after being declared dead).
  void SetIncarnation(uint64_t incarnation) { options_.incarnation = incarnation; }
  // The summary carried by the heartbeats sent from now on.
  void SetHealth(std::optional<HealthSummary> health) { health_ = health; }
  void SetWatchList(std::vector<WatchedPeer> peers);

  // Called after every tick (and suspicion change) so the agent can publish.
  void OnChange(std::function<void()> callback) { on_change_ = std::move(callback); }

  std::vector<PeerView> Status() const;
  // Arrival times (seconds on this agent's monotonic clock) of the watched
  // peer `id`, oldest first; nullopt when not watched.
  std::optional<std::vector<double>> Arrivals(const std::string& id) const;

  boost::asio::ip::udp::endpoint local_endpoint() const;

 private:
  struct Peer {
    Peer(WatchedPeer w, const config::DetectorConfig& c, core::Instant now)
        : watched(std::move(w)), policy(c, now) {}
    WatchedPeer watched;
    std::string label;  // metrics label: id, or "host:port" until the id is known
    detectors::Policy policy;
    bool suspected = false;
    uint64_t incarnation = 0;
    std::optional<core::Duration> rtt;
    std::optional<HealthSummary> health;  // from its latest heartbeat
    std::deque<core::Instant> arrivals;
  };

  void ScheduleTick();
  void Tick();
  void SendHeartbeats(core::Instant now);
  void Receive();
  void OnDatagram(std::string_view bytes, const boost::asio::ip::udp::endpoint& from,
                  core::Instant now);
  void OnHeartbeat(const Heartbeat& h, const boost::asio::ip::udp::endpoint& from,
                   core::Instant now);
  void OnAck(const HeartbeatAck& a, const boost::asio::ip::udp::endpoint& from, core::Instant now);
  void Evaluate(Peer& peer, core::Instant now);
  void Forget(const boost::asio::ip::udp::endpoint& endpoint);
  void Send(const std::string& frame, const boost::asio::ip::udp::endpoint& to);

  boost::asio::io_context& ioc_;
  Options options_;
  PeerMetrics& metrics_;
  boost::asio::ip::udp::socket socket_;
  boost::asio::steady_timer timer_;
  detectors::StallDetector stall_;
  std::vector<boost::asio::ip::udp::endpoint> targets_;
  // The latest round trip to each heartbeat target (its id from its acks),
  // carried in the next heartbeats for the targets that watch this agent.
  std::map<boost::asio::ip::udp::endpoint, std::pair<std::string, core::Duration>> target_rtt_;
  std::map<boost::asio::ip::udp::endpoint, Peer> peers_;
  std::vector<char> receive_buffer_;
  boost::asio::ip::udp::endpoint receive_from_;
  uint64_t sequence_ = 0;
  std::optional<HealthSummary> health_;
  std::function<void()> on_change_;
  bool stopped_ = false;
};

}  // namespace ringwatch::agent
