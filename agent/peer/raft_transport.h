#pragma once
// RaftTransport: Raft messages between agents over TCP on the peer port (the
// UDP heartbeats share the port number, not the socket). Each message is one
// peer frame (agent/peer_frame.h, type kRaft: cluster check, optional HMAC)
// preceded by its u32 length.
//
// Outbound: one connection per peer, opened on the first message, with a
// capped exponential backoff after a failure. Raft tolerates loss, so while a
// peer is unreachable its messages are dropped (and counted) rather than
// piled up, and the embedding is told (OnUnreachable) so the leader probes it
// again later. A queue above max_queue_bytes drops too.
// Inbound: any number of connections; a frame longer than kMaxStreamFrame,
// or one that fails a check, is dropped and counted by reason; a bad length
// prefix closes the connection (the stream cannot be resynchronised).
//
// Heartbeats never wait behind Raft traffic: they use their own UDP socket,
// and nothing here blocks the loop.
//
// Threading: lives on the core io_context; call every method from it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/peer/peer_frame.h"
#include "exporters/agent_metrics.h"
#include "raft/types.h"

namespace ringwatch::agent {

class RaftTransport {
 public:
  struct Options {
    std::string cluster;
    std::string key;  // HMAC key; empty: none
    std::chrono::milliseconds backoff_min{50};
    std::chrono::milliseconds backoff_max{2000};
    std::size_t max_queue_bytes = 64u << 20;
  };

  struct Counters {
    uint64_t sent = 0;
    uint64_t received = 0;
    uint64_t dropped_unreachable = 0;  // no address, not connected, queue full
    uint64_t connects = 0;
    uint64_t connect_failures = 0;
  };

  RaftTransport(boost::asio::io_context& ioc, Options options, exporters::PeerMetrics& metrics);
  ~RaftTransport();

  // Listens on `listen`. May be called again after CloseListener().
  std::error_code Start(const boost::asio::ip::tcp::endpoint& listen);
  // Stops listening only (to retry Start on another port).
  void CloseListener();
  void Stop();

  // Where `peer` listens for Raft traffic. A changed address resets the connection.
  void SetAddress(const std::string& peer, const boost::asio::ip::tcp::endpoint& endpoint);
  bool HasAddress(const std::string& peer) const { return peers_.count(peer) > 0; }

  // Queues `message` for message.to. Never blocks.
  void Send(const raft::Message& message);
  // Queues a membership request (membership/peer_message.h) for `peer`.
  void SendMembership(const std::string& peer, std::string payload);

  void OnMessage(std::function<void(raft::Message)> callback) { on_message_ = std::move(callback); }
  void OnMembership(std::function<void(std::string_view)> callback) {
    on_membership_ = std::move(callback);
  }
  // `peer` could not be reached: a Raft message to it was dropped, or its
  // connection failed (`why`: the error).
  void OnUnreachable(
      std::function<void(const std::string& peer, const std::string& why)> callback) {
    on_unreachable_ = std::move(callback);
  }

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  const Counters& counters() const { return counters_; }

 private:
  struct Outbound;
  class Inbound;

  void Accept();
  void Connect(Outbound& peer);
  void Write(Outbound& peer);
  void Fail(Outbound& peer, const std::string& why);
  void Deliver(std::string_view frame);

  boost::asio::io_context& ioc_;
  Options options_;
  exporters::PeerMetrics& metrics_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  std::map<std::string, std::unique_ptr<Outbound>> peers_;
  std::vector<std::unique_ptr<Outbound>> retired_;  // replaced by SetAddress
  std::map<Inbound*, std::weak_ptr<Inbound>> inbound_;
  void Enqueue(const std::string& peer, FrameType type, std::string_view payload);

  std::function<void(raft::Message)> on_message_;
  std::function<void(std::string_view)> on_membership_;
  std::function<void(const std::string&, const std::string&)> on_unreachable_;
  Counters counters_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringwatch::agent
