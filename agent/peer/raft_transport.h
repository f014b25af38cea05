#pragma once
// RaftTransport: Raft messages between agents over TCP on the peer port (the
// UDP heartbeats share the port number, not the socket). Each message is one
// peer frame (agent/peer/peer_frame.h, type kRaft: keyring tag, cluster,
// the sender's signature or pair MAC — a pair MAC when SetIdentity gave the
// receiver's key) preceded by its u32 length. Received frames pass a replay
// window (ReplayGuard) and go to the embedding with their authenticated
// origin; whether that origin may say what it says is the core's decision.
//
// Outbound: one connection per peer, opened on the first message, with a
// capped exponential backoff after a failure. Held connections (Hold: the
// members this agent watches, for the fast path) are opened at once,
// reopened after a failure, kept from the receiver's idle deadline by a
// keepalive frame, and read: the peer never writes on them, so a read ends
// only when the connection does — closed or reset by the other end, which
// is reported (OnClosed) and then reopened — with whether the peer said
// goodbye first (Goodbye, a graceful stop). Whether that means anything is
// the core's decision (it probes the port). Raft tolerates loss, so while a
// peer is unreachable its messages are dropped (and counted) rather than
// piled up, and the embedding is told (OnUnreachable) so the leader probes it
// again later. A queue above max_queue_bytes drops too.
// Inbound: bounded before anything is authenticated. At most
// max_inbound connections, max_inbound_per_address from one address (more
// are closed at accept, `conn_limit`). A frame's body is read in chunks and
// buffered only as its bytes arrive — never allocated from the announced
// length — out of one budget shared by all connections (inbound_budget:
// a connection that would exceed it is closed, `busy`). A connection must
// deliver its first frame, and every frame once begun, within
// frame_deadline, and may stay idle between frames for idle_deadline
// (`timeout`). A frame longer than kMaxStreamFrame closes the connection
// (`oversize`; the stream cannot be resynchronised); one that fails a check
// is dropped and counted by reason.
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
#include <set>
#include <string>
#include <vector>

#include "agent/core/peer_origin.h"
#include "agent/peer/peer_frame.h"
#include "agent/peer/replay_guard.h"
#include "exporters/agent_metrics.h"
#include "raft/types.h"

namespace ringwatch::agent {

class RaftTransport {
 public:
  struct Options {
    std::string cluster;
    PeerCredentials* credentials = nullptr;  // outlives the transport
    std::chrono::milliseconds backoff_min{50};
    std::chrono::milliseconds backoff_max{2000};
    std::size_t max_queue_bytes = 64u << 20;
    std::size_t max_inbound = 1024;
    std::size_t max_inbound_per_address = 64;
    std::size_t inbound_budget = kMaxStreamFrame;  // bytes buffered by all inbound connections
    std::chrono::milliseconds frame_deadline{10'000};
    std::chrono::milliseconds idle_deadline{300'000};
    std::chrono::milliseconds keepalive{60'000};  // on held connections
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
  // `peer`'s public key, as the view registers it: frames to it carry a pair
  // MAC instead of a signature (peer_frame.h). Empty: forget it.
  void SetIdentity(const std::string& peer, const std::string& public_key);

  // The peers to hold a connection to (replacing the previous set).
  void Hold(const std::vector<std::string>& peers);

  // Queues `message` for message.to. Never blocks.
  void Send(const raft::Message& message);
  // Queues a membership request (membership/peer_message.h) for `peer`.
  void SendMembership(const std::string& peer, std::string payload);

  // Frames that passed every check, replays included: the origin is the
  // authenticated sender (whose key the core still checks against the view).
  void OnMessage(std::function<void(const PeerOrigin&, raft::Message)> callback) {
    on_message_ = std::move(callback);
  }
  void OnMembership(std::function<void(const PeerOrigin&, std::string_view)> callback) {
    on_membership_ = std::move(callback);
  }
  // `peer` could not be reached: a Raft message to it was dropped, or its
  // connection failed (`why`: the error).
  void OnUnreachable(
      std::function<void(const std::string& peer, const std::string& why)> callback) {
    on_unreachable_ = std::move(callback);
  }

  // A held connection that was open was closed or reset by the other end;
  // `by_plan`: it said goodbye first (Goodbye).
  void OnClosed(std::function<void(const std::string& peer, bool by_plan)> callback) {
    on_closed_ = std::move(callback);
  }
  // A graceful stop: one byte (kGoodbye) on every inbound connection before
  // the process closes them, so that the members holding one to this agent
  // tell the stop from a crash. Not authenticated: it can only make them
  // fall back to phi for this close, and writing into someone's TCP stream
  // takes being on its path (which can drop heartbeats anyway).
  void Goodbye();
  static constexpr char kGoodbye = '\xb1';

  boost::asio::ip::tcp::endpoint local_endpoint() const;
  const Counters& counters() const { return counters_; }

 private:
  struct Outbound;
  class Inbound;

  void Accept();
  void Connect(Outbound& peer);
  void Write(Outbound& peer);
  // `closed`: the other end closed an open connection.
  void Fail(Outbound& peer, const std::string& why, bool closed = false);
  void ReadForClose(Outbound& peer);
  void Keepalive();

  void Deliver(std::string_view frame);
  bool Reserve(std::size_t bytes);
  void Release(std::size_t bytes) { inbound_buffered_ -= bytes; }
  std::size_t inbound_buffered_ = 0;
  std::chrono::steady_clock::time_point last_limit_log_{};
  std::map<std::string, std::size_t> inbound_per_address_;

  boost::asio::io_context& ioc_;
  Options options_;
  exporters::PeerMetrics& metrics_;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer accept_retry_;
  boost::asio::steady_timer keepalive_;
  std::set<std::string> held_;
  std::function<void(const std::string&, bool)> on_closed_;
  std::map<std::string, std::unique_ptr<Outbound>> peers_;
  std::map<std::string, std::string> identities_;   // peer -> public key
  std::vector<std::unique_ptr<Outbound>> retired_;  // replaced by SetAddress
  std::map<Inbound*, std::weak_ptr<Inbound>> inbound_;
  void Enqueue(const std::string& peer, FrameType type, std::string_view payload);

  std::function<void(const PeerOrigin&, raft::Message)> on_message_;
  std::function<void(const PeerOrigin&, std::string_view)> on_membership_;
  ReplayGuard replay_;
  uint64_t sequence_ = 0;
  std::function<void(const std::string&, const std::string&)> on_unreachable_;
  Counters counters_;
  bool stopped_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringwatch::agent
