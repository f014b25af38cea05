#pragma once
// HeartbeatTransport: the UDP half of the peer port. It sends the core's
// heartbeats to the heartbeat targets (one non-blocking sendto each, the
// frame sealed for each receiver: a pair MAC when its key is known, else a
// signature) and acks, and hands every heartbeat and ack that passes the
// frame checks (agent/peer/peer_frame.h) and the replay window to its
// callbacks, with the frame's authenticated origin. Frames that fail a check
// are dropped and counted by reason, never parsed further.
// Whom to heartbeat, what to make of a heartbeat and whether to ack it are
// the core's decisions (agent/core/agent_core.h); this class only moves
// datagrams.
//
// Threading: lives on the core io_context; call every method from it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/udp.hpp>
#include <functional>
#include <string>
#include <vector>

#include "agent/core/heartbeat_codec.h"
#include "agent/core/peer_origin.h"
#include "agent/peer/peer_frame.h"
#include "agent/peer/replay_guard.h"
#include "exporters/agent_metrics.h"

namespace ringwatch::agent {

class HeartbeatTransport {
 public:
  struct Options {
    std::string cluster;
    PeerCredentials* credentials = nullptr;  // outlives the transport
  };
  // A heartbeat receiver: where, and its public key (empty: unknown — the
  // frame is then signed rather than MACed with the pair key).
  struct Target {
    boost::asio::ip::udp::endpoint endpoint;
    std::string public_key;
  };

  HeartbeatTransport(boost::asio::io_context& ioc, Options options,
                     exporters::PeerMetrics& metrics);

  std::error_code Start(const boost::asio::ip::udp::endpoint& listen);
  void Stop();
  boost::asio::ip::udp::endpoint local_endpoint() const;

  void SendHeartbeat(const Heartbeat& heartbeat, const std::vector<Target>& targets);
  void SendAck(const HeartbeatAck& ack, const boost::asio::ip::udp::endpoint& to,
               std::string_view public_key);

  // A heartbeat or ack that passed every frame check, replays included, and
  // whose sender is the frame's.
  using HeartbeatCallback = std::function<void(const PeerOrigin&, const Heartbeat&,
                                               const boost::asio::ip::udp::endpoint&)>;
  void OnHeartbeat(HeartbeatCallback callback) { on_heartbeat_ = std::move(callback); }
  void OnAck(std::function<void(const HeartbeatAck&)> callback) { on_ack_ = std::move(callback); }

 private:
  void Receive();
  void OnDatagram(std::string_view bytes, const boost::asio::ip::udp::endpoint& from);
  void Send(const std::string& frame, const boost::asio::ip::udp::endpoint& to);

  Options options_;
  exporters::PeerMetrics& metrics_;
  boost::asio::ip::udp::socket socket_;
  std::vector<char> receive_buffer_;
  boost::asio::ip::udp::endpoint receive_from_;
  std::string Seal(FrameType type, std::string_view payload, std::string_view receiver_key);

  HeartbeatCallback on_heartbeat_;
  ReplayGuard replay_;
  uint64_t sequence_ = 0;
  std::function<void(const HeartbeatAck&)> on_ack_;
  bool stopped_ = false;
};

}  // namespace ringwatch::agent
