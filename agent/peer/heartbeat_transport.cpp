#include "agent/peer/heartbeat_transport.h"

#include <boost/asio/buffer.hpp>

#include "agent/peer/endpoint_text.h"
#include "agent/peer/peer_frame.h"
#include "core/clock.h"
#include "core/log.h"

namespace ringwatch::agent {

namespace net = boost::asio;
using udp = net::ip::udp;

HeartbeatTransport::HeartbeatTransport(net::io_context& ioc, Options options,
                                       exporters::PeerMetrics& metrics)
    : options_(std::move(options)), metrics_(metrics), socket_(ioc), receive_buffer_(65536) {}

std::error_code HeartbeatTransport::Start(const udp::endpoint& listen) {
  boost::system::error_code ec;
  socket_.open(listen.protocol(), ec);
  if (!ec) socket_.bind(listen, ec);
  // Sends are synchronous and never wait: a datagram the kernel cannot take
  // at once is dropped like one lost on the wire.
  if (!ec) socket_.non_blocking(true, ec);
  if (ec) {
    boost::system::error_code ignored;
    socket_.close(ignored);
    return ec;
  }
  Receive();
  return {};
}

void HeartbeatTransport::Stop() {
  stopped_ = true;
  boost::system::error_code ec;
  socket_.close(ec);
}

udp::endpoint HeartbeatTransport::local_endpoint() const {
  boost::system::error_code ec;
  return socket_.local_endpoint(ec);
}

void HeartbeatTransport::SendHeartbeat(const Heartbeat& heartbeat,
                                       const std::vector<Target>& targets) {
  if (stopped_ || targets.empty()) return;
  const std::string payload = EncodeHeartbeat(heartbeat);
  for (const auto& target : targets) {
    // Sealed for each receiver: its pair MAC (a few microseconds) instead
    // of one signature that every receiver would check (~45 us each).
    Send(Seal(FrameType::kHeartbeat, payload, target.public_key), target.endpoint);
    metrics_.sent().Increment();
  }
}

void HeartbeatTransport::SendAck(const HeartbeatAck& ack, const udp::endpoint& to,
                                 std::string_view public_key) {
  if (stopped_) return;
  Send(Seal(FrameType::kHeartbeatAck, EncodeAck(ack), public_key), to);
}

std::string HeartbeatTransport::Seal(FrameType type, std::string_view payload,
                                     std::string_view receiver_key) {
  PeerCredentials& c = *options_.credentials;
  const std::string* pair =
      receiver_key.empty() ? nullptr : c.pairs.For(c.sender.key, receiver_key);
  return EncodeFrame(type, options_.cluster, c.sender, ++sequence_, core::WallClockMs(), payload,
                     c.keyring.empty() ? std::string_view() : std::string_view(c.keyring.front()),
                     pair);
}

void HeartbeatTransport::Send(const std::string& frame, const udp::endpoint& to) {
  boost::system::error_code ec;
  socket_.send_to(net::buffer(frame), to, 0, ec);
  if (ec)
    log::Debug("detector", "send failed", {{"to", EndpointText(to)}, {"error", ec.message()}});
}

void HeartbeatTransport::Receive() {
  socket_.async_receive_from(
      net::buffer(receive_buffer_), receive_from_,
      [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec == net::error::operation_aborted || stopped_) return;
        if (!ec) {
          OnDatagram(std::string_view(receive_buffer_.data(), n), receive_from_);
        } else {
          // e.g. ICMP errors surfacing on the socket: not fatal for a datagram service.
          log::Debug("detector", "receive failed", {{"error", ec.message()}});
        }
        Receive();
      });
}

void HeartbeatTransport::OnDatagram(std::string_view bytes, const udp::endpoint& from) {
  PeerCredentials& c = *options_.credentials;
  auto frame =
      DecodeFrame(bytes, options_.cluster, c.keyring, kMaxDatagram, &c.sender.key, &c.pairs);
  auto drop = [&](DropReason reason) {
    metrics_.dropped(ToString(reason)).Increment();
    log::Debug("detector", "dropped datagram",
               {{"from", EndpointText(from)}, {"reason", ToString(reason)}});
  };
  if (!frame.ok()) return drop(frame.error());
  const FrameOrigin& o = frame.value().origin;
  if (frame.value().type == FrameType::kHeartbeat) {
    if (auto h = DecodeHeartbeat(frame.value().payload)) {
      // Whether it may speak for its sender is the core's to say (OnHeartbeat).
      if (!replay_.Accept(o, core::WallClockMs())) return drop(DropReason::kReplay);
      metrics_.received().Increment();
      if (on_heartbeat_)
        on_heartbeat_(PeerOrigin{std::string(o.sender), o.incarnation, std::string(o.public_key)},
                      *h, from);
      return;
    }
  } else if (frame.value().type == FrameType::kHeartbeatAck) {
    if (auto a = DecodeAck(frame.value().payload)) {
      // An ack only samples a round trip; one naming another sender than
      // its frame's is inconsistent, like a stream type in a datagram.
      if (a->sender != o.sender) return drop(DropReason::kBadIdentity);
      if (!replay_.Accept(o, core::WallClockMs())) return drop(DropReason::kReplay);
      if (on_ack_) on_ack_(*a);
      return;
    }
  }
  // Undecodable, or a stream frame type sent as a datagram.
  metrics_.dropped(ToString(DropReason::kMalformed)).Increment();
}

}  // namespace ringwatch::agent
