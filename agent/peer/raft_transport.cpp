#include "agent/peer/raft_transport.h"

#include <algorithm>
#include <iterator>

#include <boost/asio/connect.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "agent/peer/endpoint_text.h"
#include "agent/peer/peer_frame.h"
#include "core/byte_codec.h"
#include "core/clock.h"
#include "core/log.h"
#include "raft/codec.h"

namespace ringwatch::agent {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct RaftTransport::Outbound {
  Outbound(net::io_context& ioc, std::string id, tcp::endpoint ep)
      : id(std::move(id)), endpoint(ep), socket(ioc), retry(ioc) {}
  std::string id;
  tcp::endpoint endpoint;
  tcp::socket socket;
  net::steady_timer retry;
  std::deque<std::string> queue;
  std::size_t queued_bytes = 0;
  bool connected = false;
  bool connecting = false;
  bool writing = false;
  bool backing_off = false;
  std::chrono::milliseconds backoff{0};
  bool held = false;           // Hold(): kept open and read for its end
  bool goodbye = false;        // the peer said goodbye on this connection
  uint64_t generation = 0;     // counts connections: a read of an earlier one is stale
  uint64_t reading_close = 0;  // the generation a close-read is out on (0: none)
  char sink[64];               // what a held connection's read lands in (nothing, normally)
};

// One accepted connection: reads length-prefixed frames until it fails, in
// chunks, under deadlines (see the header).
class RaftTransport::Inbound : public std::enable_shared_from_this<Inbound> {
 public:
  static constexpr std::size_t kChunk = 64u << 10;

  Inbound(RaftTransport& owner, tcp::socket socket, std::string address)
      : owner_(owner),
        socket_(std::move(socket)),
        deadline_(socket_.get_executor()),
        address_(std::move(address)),
        alive_(owner.alive_) {}
  ~Inbound() {
    if (alive_.expired()) return;
    owner_.Release(reserved_);
    auto it = owner_.inbound_per_address_.find(address_);
    if (it != owner_.inbound_per_address_.end() && --it->second == 0)
      owner_.inbound_per_address_.erase(it);
  }

  void Start() {
    Arm(owner_.options_.frame_deadline);
    ReadLength();
  }
  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
    deadline_.cancel();
  }
  // One byte, now, into an empty send buffer (it never blocks).
  void Goodbye() {
    boost::system::error_code ignored;
    socket_.non_blocking(true, ignored);
    socket_.write_some(net::buffer(&RaftTransport::kGoodbye, 1), ignored);
  }

 private:
  // Closes the connection unless the current step completes by then.
  void Arm(std::chrono::milliseconds after) {
    deadline_.expires_after(after);
    deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->alive_.expired() || self->done_) return;
      self->owner_.metrics_.dropped("timeout").Increment();
      self->Done();
    });
  }

  void ReadLength() {
    net::async_read(socket_, net::buffer(length_, sizeof length_),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      if (ec || self->alive_.expired()) return self->Done();
                      uint32_t n = 0;
                      core::ByteReader r(std::string_view(self->length_, sizeof self->length_));
                      r.U32(&n);
                      if (n > kMaxStreamFrame) {
                        self->owner_.metrics_.dropped(ToString(DropReason::kOversize)).Increment();
                        log::Warn("raft", "peer frame too large; closing the connection",
                                  {{"bytes", std::to_string(n)}, {"from", self->address_}});
                        return self->Done();
                      }
                      self->expected_ = n;
                      self->body_.clear();
                      self->Arm(self->owner_.options_.frame_deadline);
                      self->ReadChunk();
                    });
  }

  void ReadChunk() {
    if (body_.size() == expected_) return Complete();
    const std::size_t want = std::min(kChunk, expected_ - body_.size());
    if (!owner_.Reserve(want)) {
      owner_.metrics_.dropped("busy").Increment();
      return Done();
    }
    reserved_ += want;
    const std::size_t at = body_.size();
    body_.resize(at + want);  // within the budget just reserved
    net::async_read(socket_, net::buffer(body_.data() + at, want),
                    [self = shared_from_this()](boost::system::error_code ec, std::size_t) {
                      if (ec || self->alive_.expired()) return self->Done();
                      self->ReadChunk();
                    });
  }

  void Complete() {
    owner_.Deliver(body_);
    owner_.Release(reserved_);
    reserved_ = 0;
    body_.clear();
    if (body_.capacity() > kChunk) body_.shrink_to_fit();
    Arm(owner_.options_.idle_deadline);
    ReadLength();
  }

  void Done() {
    if (alive_.expired() || done_) return;
    done_ = true;
    owner_.inbound_.erase(this);
    Close();
  }

  RaftTransport& owner_;
  tcp::socket socket_;
  net::steady_timer deadline_;
  std::string address_;
  std::weak_ptr<bool> alive_;
  bool done_ = false;
  char length_[4];
  std::size_t expected_ = 0;
  std::size_t reserved_ = 0;  // of the shared inbound budget
  std::string body_;
};

bool RaftTransport::Reserve(std::size_t bytes) {
  if (inbound_buffered_ + bytes > options_.inbound_budget) return false;
  inbound_buffered_ += bytes;
  return true;
}

RaftTransport::RaftTransport(net::io_context& ioc, Options options, exporters::PeerMetrics& metrics)
    : ioc_(ioc),
      options_(std::move(options)),
      metrics_(metrics),
      acceptor_(ioc),
      accept_retry_(ioc),
      keepalive_(ioc) {}

RaftTransport::~RaftTransport() {
  Stop();
}

std::error_code RaftTransport::Start(const tcp::endpoint& listen) {
  boost::system::error_code ec;
  if (acceptor_.is_open()) acceptor_.close(ec);
  acceptor_.open(listen.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(listen, ec);
  if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return ec;
  Accept();
  Keepalive();
  return {};
}

void RaftTransport::Stop() {
  if (stopped_) return;
  stopped_ = true;
  boost::system::error_code ignored;
  acceptor_.close(ignored);
  accept_retry_.cancel();
  keepalive_.cancel();
  for (auto& [id, peer] : peers_) {
    peer->socket.close(ignored);
    peer->retry.cancel();
  }
  for (auto& [raw, weak] : inbound_)
    if (auto in = weak.lock()) in->Close();
  inbound_.clear();
  alive_.reset();
}

tcp::endpoint RaftTransport::local_endpoint() const {
  boost::system::error_code ec;
  return acceptor_.local_endpoint(ec);
}

void RaftTransport::Accept() {
  acceptor_.async_accept([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec,
                                                                     tcp::socket socket) {
    if (alive.expired() || stopped_ || !acceptor_.is_open()) return;
    if (ec == net::error::operation_aborted) return;
    if (ec) {
      // Out of descriptors and the like: try again shortly, without spinning.
      log::Warn("raft", "accept failed", {{"error", ec.message()}});
      accept_retry_.expires_after(std::chrono::milliseconds(100));
      accept_retry_.async_wait([this, alive](boost::system::error_code e) {
        if (!e && !alive.expired() && !stopped_) Accept();
      });
      return;
    }
    const auto remote = socket.remote_endpoint(ec);
    const std::string address = ec ? std::string("?") : remote.address().to_string();
    std::size_t& from_there = inbound_per_address_[address];
    if (inbound_.size() >= options_.max_inbound || from_there >= options_.max_inbound_per_address) {
      // Over a cap: closed unread. Logged at most once a minute.
      metrics_.dropped("conn_limit").Increment();
      if (from_there == 0) inbound_per_address_.erase(address);
      const auto now = std::chrono::steady_clock::now();
      if (now - last_limit_log_ > std::chrono::minutes(1)) {
        last_limit_log_ = now;
        log::Warn("raft", "peer connection refused: over the connection cap",
                  {{"from", address}, {"connections", std::to_string(inbound_.size())}});
      }
      socket.close(ec);
      return Accept();
    }
    ++from_there;
    socket.set_option(tcp::no_delay(true), ec);
    auto in = std::make_shared<Inbound>(*this, std::move(socket), address);
    inbound_[in.get()] = in;
    in->Start();
    Accept();
  });
}

void RaftTransport::CloseListener() {
  boost::system::error_code ignored;
  acceptor_.close(ignored);
}

void RaftTransport::SetAddress(const std::string& peer, const tcp::endpoint& endpoint) {
  auto it = peers_.find(peer);
  if (it != peers_.end() && it->second->endpoint == endpoint) return;
  if (it != peers_.end()) {
    boost::system::error_code ignored;
    it->second->socket.close(ignored);
    it->second->retry.cancel();
    // Handlers of the old connection still reference it; keep it until the
    // loop ends (addresses change rarely) instead of freeing it under them.
    retired_.push_back(std::move(it->second));
    peers_.erase(it);
  }
  auto& added =
      *peers_.emplace(peer, std::make_unique<Outbound>(ioc_, peer, endpoint)).first->second;
  added.held = held_.count(peer) > 0;
  if (added.held && !stopped_) Connect(added);
}

void RaftTransport::Hold(const std::vector<std::string>& peers) {
  held_ = std::set<std::string>(peers.begin(), peers.end());
  for (auto& [id, peer] : peers_) {
    peer->held = held_.count(id) > 0;
    if (!peer->held || stopped_) continue;
    if (peer->connected) {
      ReadForClose(*peer);
    } else if (!peer->connecting && !peer->backing_off) {
      Connect(*peer);
    }
  }
}

void RaftTransport::Goodbye() {
  for (auto& [raw, weak] : inbound_)
    if (auto in = weak.lock()) in->Goodbye();
}

void RaftTransport::Keepalive() {
  keepalive_.expires_after(options_.keepalive);
  keepalive_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired() || stopped_) return;
    for (auto& [id, peer] : peers_)
      if (peer->held && peer->connected) Enqueue(id, FrameType::kKeepalive, {});
    Keepalive();
  });
}

void RaftTransport::ReadForClose(Outbound& peer) {
  if (peer.reading_close == peer.generation) return;  // one read per connection
  peer.reading_close = peer.generation;
  peer.socket.async_read_some(
      net::buffer(peer.sink),
      [this, &peer, generation = peer.generation, alive = std::weak_ptr<bool>(alive_)](
          boost::system::error_code ec, std::size_t n) {
        if (alive.expired() || stopped_ || generation != peer.generation || !peer.connected) return;
        if (!ec) {
          // The peer writes here only to say goodbye; anything else is discarded.
          if (std::find(peer.sink, peer.sink + n, kGoodbye) != peer.sink + n) peer.goodbye = true;
          peer.reading_close = 0;
          return ReadForClose(peer);
        }
        if (ec == net::error::operation_aborted) return;
        Fail(peer, "closed by the peer: " + ec.message(), true);
      });
}

void RaftTransport::SetIdentity(const std::string& peer, const std::string& public_key) {
  if (public_key.empty()) {
    identities_.erase(peer);
  } else {
    identities_[peer] = public_key;
  }
}

void RaftTransport::Send(const raft::Message& message) {
  Enqueue(message.to.value, FrameType::kRaft, raft::EncodeMessage(message));
}

void RaftTransport::SendMembership(const std::string& peer, std::string payload) {
  Enqueue(peer, FrameType::kMembership, payload);
}

void RaftTransport::Enqueue(const std::string& to, FrameType type, std::string_view payload) {
  if (stopped_) return;
  auto it = peers_.find(to);
  auto drop = [&](const char* why) {
    ++counters_.dropped_unreachable;
    if (on_unreachable_ && type == FrameType::kRaft) on_unreachable_(to, why);
  };
  if (it == peers_.end()) return drop("no address");
  Outbound& peer = *it->second;
  if (peer.backing_off) return drop("backing off after a failure");
  PeerCredentials& c = *options_.credentials;
  const auto known = identities_.find(to);
  const std::string* pair =
      known == identities_.end() ? nullptr : c.pairs.For(c.sender.key, known->second);
  std::string frame = EncodeFrame(
      type, options_.cluster, c.sender, ++sequence_, core::WallClockMs(), payload,
      c.keyring.empty() ? std::string_view() : std::string_view(c.keyring.front()), pair);
  if (peer.queued_bytes + frame.size() > options_.max_queue_bytes) return drop("queue full");
  core::ByteWriter w;
  w.U32(static_cast<uint32_t>(frame.size()));
  w.Bytes(frame);
  peer.queued_bytes += w.data().size();
  peer.queue.push_back(w.Take());
  if (peer.connected) {
    Write(peer);
  } else if (!peer.connecting) {
    Connect(peer);
  }
}

void RaftTransport::Connect(Outbound& peer) {
  peer.connecting = true;
  boost::system::error_code ignored;
  peer.socket.close(ignored);
  peer.socket.async_connect(peer.endpoint, [this, &peer, alive = std::weak_ptr<bool>(alive_)](
                                               boost::system::error_code ec) {
    if (alive.expired() || stopped_) return;
    peer.connecting = false;
    if (ec) {
      ++counters_.connect_failures;
      return Fail(peer, "connect: " + ec.message());
    }
    ++counters_.connects;
    peer.socket.set_option(tcp::no_delay(true), ec);
    peer.connected = true;
    ++peer.generation;
    peer.goodbye = false;
    peer.backoff = std::chrono::milliseconds(0);
    if (peer.held) {
      ReadForClose(peer);
      // Its first frame now: the receiver closes a connection that says
      // nothing within its frame deadline.
      if (peer.queue.empty()) Enqueue(peer.id, FrameType::kKeepalive, {});
    }
    Write(peer);
  });
}

void RaftTransport::Write(Outbound& peer) {
  if (peer.writing || peer.queue.empty() || !peer.connected) return;
  peer.writing = true;
  // Gather what is queued into one write: fewer syscalls under load.
  auto batch = std::make_shared<std::string>();
  std::size_t count = 0;
  while (!peer.queue.empty() && batch->size() < (1u << 20)) {
    *batch += peer.queue.front();
    peer.queued_bytes -= peer.queue.front().size();
    peer.queue.pop_front();
    ++count;
  }
  net::async_write(peer.socket, net::buffer(*batch),
                   [this, &peer, batch, count, alive = std::weak_ptr<bool>(alive_)](
                       boost::system::error_code ec, std::size_t) {
                     if (alive.expired() || stopped_) return;
                     peer.writing = false;
                     if (ec) return Fail(peer, "write: " + ec.message(), peer.connected);
                     counters_.sent += count;
                     Write(peer);
                   });
}

void RaftTransport::Fail(Outbound& peer, const std::string& why, bool closed) {
  closed = closed && peer.connected && peer.held;
  const bool by_plan = peer.goodbye;
  boost::system::error_code ignored;
  peer.socket.close(ignored);
  peer.connected = false;
  peer.writing = false;
  counters_.dropped_unreachable += peer.queue.size();
  peer.queue.clear();
  peer.queued_bytes = 0;
  peer.backoff = std::clamp(peer.backoff * 2, options_.backoff_min, options_.backoff_max);
  log::Debug("raft", "peer unreachable",
             {{"peer", peer.id},
              {"address", EndpointText(peer.endpoint)},
              {"error", why},
              {"retry_ms", std::to_string(peer.backoff.count())}});
  peer.backing_off = true;
  peer.retry.expires_after(peer.backoff);
  peer.retry.async_wait(
      [this, &peer, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
        if (ec || alive.expired() || stopped_) return;
        peer.backing_off = false;
        // A held connection is reopened; others wait for the next message.
        if (peer.held && !peer.connected && !peer.connecting) Connect(peer);
      });
  if (on_unreachable_) on_unreachable_(peer.id, why);
  if (closed && on_closed_) on_closed_(peer.id, by_plan);
}

void RaftTransport::Deliver(std::string_view bytes) {
  PeerCredentials& c = *options_.credentials;
  auto frame =
      DecodeFrame(bytes, options_.cluster, c.keyring, kMaxStreamFrame, &c.sender.key, &c.pairs);
  if (!frame.ok()) {
    metrics_.dropped(ToString(frame.error())).Increment();
    return;
  }
  const FrameOrigin& o = frame.value().origin;
  std::optional<raft::Message> m;
  if (frame.value().type == FrameType::kRaft) {
    m = raft::DecodeMessage(frame.value().payload);
    if (!m) {
      metrics_.dropped(ToString(DropReason::kMalformed)).Increment();
      return;
    }
    // Whether it may speak for its `from` is the core's to say (StepRaft).
  } else if (frame.value().type != FrameType::kMembership &&
             frame.value().type != FrameType::kKeepalive) {
    metrics_.dropped(ToString(DropReason::kMalformed)).Increment();
    return;
  }
  if (!replay_.Accept(o, core::WallClockMs())) {
    metrics_.dropped(ToString(DropReason::kReplay)).Increment();
    return;
  }
  ++counters_.received;
  if (frame.value().type == FrameType::kKeepalive) return;  // it kept the connection open
  const PeerOrigin origin{std::string(o.sender), o.incarnation, std::string(o.public_key)};
  if (m) {
    if (on_message_) on_message_(origin, std::move(*m));
  } else if (on_membership_) {
    on_membership_(origin, frame.value().payload);
  }
}

}  // namespace ringwatch::agent
