#include "agent/heartbeat_service.h"

#include <algorithm>

#include <boost/asio/buffer.hpp>
#include <memory>

#include "agent/endpoint_text.h"
#include "agent/peer_frame.h"
#include "core/log.h"

namespace ringwatch::agent {

namespace net = boost::asio;
using udp = net::ip::udp;
using core::Instant;

namespace {

// Three decimals, for phi and seconds in log fields.
std::string Fixed3(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

// A tick that comes later than this after the previous one means the
// observer itself was paused (stopped process, starved CPU, VM pause).
core::Duration StallBound(core::Duration interval) {
  return std::max(2 * interval, interval + std::chrono::milliseconds(100));
}

}  // namespace

HeartbeatService::HeartbeatService(net::io_context& ioc, Options options, PeerMetrics& metrics)
    : ioc_(ioc),
      options_(std::move(options)),
      metrics_(metrics),
      socket_(ioc),
      timer_(ioc),
      stall_(StallBound(options_.detector.heartbeat_interval)),
      receive_buffer_(65536) {}

std::error_code HeartbeatService::Start(const udp::endpoint& listen) {
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
  timer_.expires_after(std::chrono::milliseconds(0));
  ScheduleTick();
  return {};
}

void HeartbeatService::Stop() {
  stopped_ = true;
  boost::system::error_code ec;
  timer_.cancel();
  socket_.close(ec);
}

udp::endpoint HeartbeatService::local_endpoint() const {
  boost::system::error_code ec;
  return socket_.local_endpoint(ec);
}

void HeartbeatService::SetTargets(std::vector<udp::endpoint> targets) {
  targets_ = std::move(targets);
}

void HeartbeatService::SetWatchList(std::vector<WatchedPeer> peers) {
  const Instant now = core::MonotonicNow();
  std::map<udp::endpoint, Peer> next;
  for (auto& w : peers) {
    auto it = peers_.find(w.endpoint);
    if (it != peers_.end() && (w.id.empty() || w.id == it->second.watched.id)) {
      // Still watched: keep what was learned.
      next.emplace(w.endpoint, std::move(it->second));
      peers_.erase(it);
      continue;
    }
    Peer p(w, options_.detector, now);
    p.label = w.id.empty() ? EndpointText(w.endpoint) : w.id;
    next.emplace(w.endpoint, std::move(p));
  }
  for (auto& [endpoint, peer] : peers_)
    metrics_.Remove(peer.label);  // no longer watched
  peers_ = std::move(next);
}

void HeartbeatService::ScheduleTick() {
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    Tick();
    // Keep the cadence; after falling behind, restart it from now.
    const auto next = timer_.expiry() + options_.detector.heartbeat_interval;
    const auto now = std::chrono::steady_clock::now();
    timer_.expires_at(next > now ? next : now + options_.detector.heartbeat_interval);
    ScheduleTick();
  });
}

void HeartbeatService::Tick() {
  const Instant now = core::MonotonicNow();
  if (stall_.Tick(now)) {
    // The second guard: our own pause must not accuse anyone.
    log::Warn("detector", "observer stalled; restarting every peer's silence",
              {{"bound_seconds", Fixed3(core::ToSeconds(stall_.bound()))}});
    for (auto& [endpoint, peer] : peers_)
      peer.policy.Resync(now);
  }
  SendHeartbeats(now);
  for (auto& [endpoint, peer] : peers_)
    Evaluate(peer, now);
  if (on_change_) on_change_();
}

void HeartbeatService::SendHeartbeats(Instant now) {
  Heartbeat h;
  h.sender = options_.node_id;
  h.incarnation = options_.incarnation;
  h.sequence = ++sequence_;
  h.send_time_ns = now.time_since_epoch().count();
  h.health = health_;
  for (auto it = target_rtt_.begin(); it != target_rtt_.end();) {
    if (std::find(targets_.begin(), targets_.end(), it->first) == targets_.end()) {
      it = target_rtt_.erase(it);  // no longer a target
      continue;
    }
    const auto us = std::chrono::duration_cast<std::chrono::microseconds>(it->second.second);
    if (h.rtt_us.size() < kMaxHeartbeatRtts)
      h.rtt_us.emplace_back(it->second.first, static_cast<uint32_t>(us.count()));
    ++it;
  }
  const std::string frame =
      EncodeFrame(FrameType::kHeartbeat, options_.cluster, EncodeHeartbeat(h), options_.key);
  for (const auto& target : targets_) {
    Send(frame, target);
    metrics_.sent().Increment();
  }
}

void HeartbeatService::Send(const std::string& frame, const udp::endpoint& to) {
  // One sendto(2), no allocation and no reactor round trip: most of an idle
  // agent's work is these datagrams.
  boost::system::error_code ec;
  socket_.send_to(net::buffer(frame), to, 0, ec);
  if (ec)
    log::Debug("detector", "send failed", {{"to", EndpointText(to)}, {"error", ec.message()}});
}

void HeartbeatService::Evaluate(Peer& peer, Instant now) {
  const detectors::Observation o = peer.policy.Observe(now);
  auto& series = metrics_.For(peer.label);
  series.phi->Set(o.phi);
  series.silence->Set(core::ToSeconds(o.silence));
  if (o.suspected && !peer.suspected) {
    series.suspicions->Increment();
    log::Warn("detector", "peer suspected",
              {{"peer", peer.label},
               {"reason", detectors::ToString(o.reason)},
               {"phi", Fixed3(o.phi)},
               {"silence_seconds", Fixed3(core::ToSeconds(o.silence))}});
  }
  peer.suspected = o.suspected;
}

void HeartbeatService::Receive() {
  socket_.async_receive_from(
      net::buffer(receive_buffer_), receive_from_,
      [this](const boost::system::error_code& ec, std::size_t n) {
        if (ec == net::error::operation_aborted || stopped_) return;
        if (!ec) {
          OnDatagram(std::string_view(receive_buffer_.data(), n), receive_from_,
                     core::MonotonicNow());
        } else {
          // e.g. ICMP errors surfacing on the socket: not fatal for a datagram service.
          log::Debug("detector", "receive failed", {{"error", ec.message()}});
        }
        Receive();
      });
}

void HeartbeatService::OnDatagram(std::string_view bytes, const udp::endpoint& from, Instant now) {
  auto frame = DecodeFrame(bytes, options_.cluster, options_.key, kMaxDatagram);
  if (!frame.ok()) {
    metrics_.dropped(frame.error()).Increment();
    log::Debug("detector", "dropped datagram",
               {{"from", EndpointText(from)}, {"reason", ToString(frame.error())}});
    return;
  }
  if (frame.value().type == FrameType::kHeartbeat) {
    if (auto h = DecodeHeartbeat(frame.value().payload)) return OnHeartbeat(*h, from, now);
  } else if (frame.value().type == FrameType::kHeartbeatAck) {
    if (auto a = DecodeAck(frame.value().payload)) return OnAck(*a, from, now);
  }
  // Undecodable, or a stream frame type sent as a datagram.
  metrics_.dropped(DropReason::kMalformed).Increment();
}

void HeartbeatService::OnHeartbeat(const Heartbeat& h, const udp::endpoint& from, Instant now) {
  if (h.sender == options_.node_id) {
    // One of the seeds is this agent: stop sending to and watching it.
    log::Debug("detector", "seed is this agent", {{"address", EndpointText(from)}});
    Forget(from);
    return;
  }
  metrics_.received().Increment();
  // Every kAckEvery-th heartbeat is acked: the round trip is sampled, not
  // measured per heartbeat, which saves a quarter of the datagrams.
  if (h.sequence % kAckEvery == 0) {
    HeartbeatAck ack{options_.node_id, h.sequence, h.send_time_ns};
    Send(EncodeFrame(FrameType::kHeartbeatAck, options_.cluster, EncodeAck(ack), options_.key),
         from);
  }

  auto it = peers_.find(from);
  if (it == peers_.end()) return;  // not watched by this agent: acked only
  Peer& peer = it->second;
  if (peer.watched.id != h.sender) {
    // A seed names itself (or another agent now answers at this address).
    if (!peer.watched.id.empty()) peer.policy = detectors::Policy(options_.detector, now);
    metrics_.Remove(peer.label);
    peer.watched.id = h.sender;
    peer.label = h.sender;
    log::Info("detector", "watching peer", {{"peer", h.sender}, {"address", EndpointText(from)}});
  }
  if (h.incarnation < peer.incarnation) return;  // a delayed heartbeat of an earlier life
  peer.incarnation = h.incarnation;
  if (h.health) peer.health = h.health;
  auto& series = metrics_.For(peer.label);
  if (const auto last = peer.policy.phi().last_heartbeat())
    series.interval->Observe(core::ToSeconds(now - *last));
  if (peer.policy.Heartbeat(now)) {
    log::Info("detector", "peer suspicion cleared", {{"peer", peer.label}});
  }
  peer.suspected = false;
  // The round trip the member measured to this agent, unless this agent
  // measures it itself (it heartbeats the member too, and gets acks).
  if (std::find(targets_.begin(), targets_.end(), from) == targets_.end()) {
    for (const auto& [receiver, us] : h.rtt_us) {
      if (receiver != options_.node_id) continue;
      peer.rtt = std::chrono::microseconds(us);
      series.rtt->Observe(static_cast<double>(us) / 1e6);
      break;
    }
  }
  peer.arrivals.push_back(now);
  if (peer.arrivals.size() > kArrivalHistory) peer.arrivals.pop_front();
}

void HeartbeatService::OnAck(const HeartbeatAck& a, const udp::endpoint& from, Instant now) {
  const core::Duration rtt = now.time_since_epoch() - core::Duration(a.echoed_send_time_ns);
  if (rtt < core::Duration::zero() || rtt > std::chrono::seconds(60)) {
    metrics_.dropped(DropReason::kMalformed).Increment();  // not an echo of ours
    return;
  }
  if (std::find(targets_.begin(), targets_.end(), from) != targets_.end())
    target_rtt_[from] = {a.sender, rtt};
  auto it = peers_.find(from);
  if (it == peers_.end()) return;
  it->second.rtt = rtt;
  metrics_.For(it->second.label).rtt->Observe(core::ToSeconds(rtt));
}

void HeartbeatService::Forget(const udp::endpoint& endpoint) {
  std::erase(targets_, endpoint);
  auto it = peers_.find(endpoint);
  if (it == peers_.end()) return;
  metrics_.Remove(it->second.label);
  peers_.erase(it);
}

std::vector<PeerView> HeartbeatService::Status() const {
  const Instant now = core::MonotonicNow();
  std::vector<PeerView> out;
  for (const auto& [endpoint, peer] : peers_) {
    const detectors::Observation o = peer.policy.Observe(now);
    PeerView v;
    v.id = peer.watched.id;
    v.address = EndpointText(endpoint);
    v.incarnation = peer.incarnation;
    v.heard = o.heard;
    v.phi = o.phi;
    v.silence_seconds = core::ToSeconds(o.silence);
    if (peer.rtt) v.rtt_seconds = core::ToSeconds(*peer.rtt);
    v.suspected = o.suspected;
    v.suspected_by = o.suspected ? detectors::ToString(o.reason) : "";
    v.health = peer.health;
    out.push_back(std::move(v));
  }
  return out;
}

std::optional<std::vector<double>> HeartbeatService::Arrivals(const std::string& id) const {
  for (const auto& [endpoint, peer] : peers_) {
    if (peer.watched.id != id) continue;
    std::vector<double> out;
    out.reserve(peer.arrivals.size());
    for (const auto& a : peer.arrivals)
      out.push_back(core::ToSeconds(a.time_since_epoch()));
    return out;
  }
  return std::nullopt;
}

}  // namespace ringwatch::agent
