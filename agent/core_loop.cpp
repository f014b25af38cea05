#include "agent/core_loop.h"

#include <boost/asio/post.hpp>
#include <chrono>
#include <thread>

#include "agent/peer/endpoint_text.h"
#include "core/log.h"
#include "membership/peer_message.h"

namespace ringwatch::agent {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using udp = net::ip::udp;

CoreLoop::CoreLoop(net::io_context& ioc, Options options, prometheus::Registry& registry)
    : ioc_(ioc),
      options_(std::move(options)),
      peer_metrics_(registry),
      membership_metrics_(registry),
      raft_metrics_(registry),
      lock_metrics_(registry),
      storage_(options_.raft_dir),
      credentials_{FrameSender{"", 0, options_.identity}, options_.keyring},
      heartbeats_(ioc, {options_.cluster, &credentials_}, peer_metrics_),
      transport_(ioc, {options_.cluster, &credentials_}, peer_metrics_),
      prober_(ioc, std::chrono::seconds(1),
              [this](const std::string& id, membership::ProbeResult result) {
                if (core_ && !closed_)
                  Perform(core_->OnProbeResult(core::MemberId{id}, result, Now()));
              }),
      dialer_(ioc, transport_,
              [this](const std::string& seed, const std::string& why, bool is_self) {
                if (core_ && !closed_) core_->OnSeedFailed(seed, why, is_self);
              }),
      wakeup_(ioc) {
  peer_metrics_.keyring_keys().Set(static_cast<double>(credentials_.keyring.size()));
}

CoreLoop::~CoreLoop() {
  Close();
  storage_thread_.join();  // a save under way completes; its result is dropped
}

void CoreLoop::Persist(raft::Ready ready) {
  net::post(storage_thread_,
            [this, ready = std::move(ready), alive = std::weak_ptr<bool>(alive_)]() mutable {
              const auto t0 = std::chrono::steady_clock::now();
              if (options_.fault_persist_delay.count() > 0)
                std::this_thread::sleep_for(options_.fault_persist_delay);
              auto saved = storage_.Save(ready);
              const double seconds =
                  std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
              std::optional<std::string> error;
              if (!saved.ok()) error = saved.error().message;
              net::post(ioc_, [this, error = std::move(error), seconds, alive] {
                if (alive.expired() || closed_) return;
                raft_metrics_.persist_seconds().Observe(seconds);
                Perform(core_->OnPersisted(error, Now()));
              });
            });
}

CoreTime CoreLoop::Now() const {
  return CoreTime{core::MonotonicNow(), core::WallClockMs()};
}

core::Result<uint16_t, std::string> CoreLoop::Listen(const tcp::endpoint& endpoint) {
  // The peer port carries Raft on TCP and heartbeats on UDP, with one number.
  // With port 0 the kernel picks the TCP port; should its UDP twin be taken,
  // another pick is tried.
  for (int attempt = 0;; ++attempt) {
    std::error_code ec = transport_.Start(endpoint);
    if (ec) return core::MakeError("cannot listen for Raft on the peer port: " + ec.message());
    const uint16_t port = transport_.local_endpoint().port();
    ec = heartbeats_.Start(udp::endpoint(endpoint.address(), port));
    if (!ec) {
      dialer_.SetSelfPort(port);
      return port;
    }
    transport_.CloseListener();
    if (endpoint.port() != 0 || attempt >= 50 || ec != std::errc::address_in_use)
      return core::MakeError("cannot listen on the peer port: " + ec.message());
  }
}

std::string CoreLoop::Start(CoreOptions options) {
  options.identity = options_.identity;
  credentials_.sender.id = options.self.id;
  credentials_.sender.incarnation = options.self.incarnation;
  core_ = std::make_unique<AgentCore>(std::move(options), storage_);
  auto started = core_->Start(Now());
  if (!started.ok()) return started.error();
  if (storage_.truncated_bytes() > 0)
    log::Warn("raft", "recovered from a torn write",
              {{"file", storage_.wal_path()},
               {"bytes_truncated", std::to_string(storage_.truncated_bytes())}});
  heartbeats_.OnHeartbeat([this](const PeerOrigin& origin, const Heartbeat& h,
                                 const udp::endpoint& from) { OnHeartbeat(origin, h, from); });
  heartbeats_.OnAck([this](const HeartbeatAck& a) { OnAck(a); });
  transport_.OnMessage([this](const PeerOrigin& origin, raft::Message m) {
    if (closed_) return;
    if (Refusal r = core_->StepRaft(origin, std::move(m)); r != Refusal::kNone)
      return Refused(r, origin, "raft message");
    ScheduleFlush();
  });
  transport_.OnMembership([this](const PeerOrigin& origin, std::string_view payload) {
    OnMembership(origin, payload);
  });
  transport_.OnClosed([this](const std::string& peer, bool by_plan) {
    if (closed_) return;
    Perform(core_->OnConnectionClosed(core::MemberId{peer}, by_plan, Now()));
  });
  transport_.OnUnreachable([this](const std::string& peer, const std::string& why) {
    if (closed_) return;
    if (SeedDialer::IsSeedKey(peer)) return dialer_.OnUnreachable(peer, why);
    core_->Unreachable(core::MemberId{peer});
  });
  Perform(std::move(started).value());
  return "";
}

void CoreLoop::Close() {
  if (closed_) return;
  closed_ = true;
  wakeup_.cancel();
  prober_.Stop();
  dialer_.Stop();
  transport_.Stop();
  heartbeats_.Stop();
  alive_.reset();
}

void CoreLoop::ScheduleWakeup() {
  if (closed_ || !core_) return;
  const auto at = std::chrono::time_point_cast<std::chrono::steady_clock::duration>(
      std::chrono::steady_clock::time_point(core_->NextWakeup().time_since_epoch()));
  if (wakeup_.expiry() == at) return;
  wakeup_.expires_at(at);
  wakeup_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired() || closed_) return;
    Perform(core_->Advance(Now()));
  });
}

void CoreLoop::ScheduleFlush() {
  // Every Raft message that arrives before the loop gets back here shares one
  // Ready, hence one fsync: appends batch themselves under load.
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  net::post(ioc_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired() || closed_) return;
    flush_scheduled_ = false;
    Perform(core_->Flush(Now()));
  });
}

void CoreLoop::Perform(CoreEffects fx) {
  if (closed_) return;
  // Frames carry the member's current incarnation: one declared dead while
  // it was alive (paused, cut off) rejoins as a higher one, and its frames
  // must not look like an earlier life's (AgentCore::CheckOrigin).
  credentials_.sender.incarnation = core_->self().incarnation;
  for (const auto& [id, address] : fx.addresses)
    if (auto ep = ParseEndpointText<tcp::endpoint>(address)) transport_.SetAddress(id.value, *ep);
  if (fx.heartbeat_targets_changed) {
    targets_.clear();
    for (const auto& [id, address] : core_->HeartbeatTargets())
      if (auto ep = ParseEndpointText<udp::endpoint>(address)) targets_.emplace_back(id.value, *ep);
  }
  if (fx.view_changed) {
    // Members' keys, for the pair MACs of what is sent to them.
    for (const auto& [id, m] : core_->view().members())
      transport_.SetIdentity(id, m.info.identity);
  }
  if (fx.connections_changed) {
    std::vector<std::string> held;
    for (const core::MemberId& id : core_->HeldConnections())
      held.push_back(id.value);
    transport_.Hold(held);
  }
  for (const raft::Message& m : fx.raft)
    transport_.Send(m);
  if (fx.persist) Persist(std::move(*fx.persist));
  for (MembershipSend& s : fx.membership) {
    std::string payload = membership::EncodePeerMessage(s.message);
    if (const auto* member = std::get_if<core::MemberId>(&s.to)) {
      transport_.SendMembership(member->value, std::move(payload));
    } else {
      dialer_.Send(std::get<SeedAddress>(s.to).value, std::move(payload));
    }
  }
  if (fx.heartbeat) {
    sealed_for_.resize(targets_.size());
    for (std::size_t i = 0; i < targets_.size(); ++i) {
      const membership::Member* m = core_->view().Find(targets_[i].first);
      sealed_for_[i].endpoint = targets_[i].second;
      sealed_for_[i].public_key = m ? m->info.identity : std::string();
    }
    heartbeats_.SendHeartbeat(*fx.heartbeat, sealed_for_);
  }
  for (const ProbeRequest& p : fx.probes)
    if (auto ep = ParseEndpointText<tcp::endpoint>(p.address)) prober_.Probe(p.id.value, *ep);

  for (const core::MemberId& id : fx.suspected)
    peer_metrics_.For(id.value).suspicions->Increment();
  for (const core::MemberId& id : fx.unwatched)
    peer_metrics_.Remove(id.value);
  if (fx.ticked) {
    for (const PeerView& p : core_->Peers(core::MonotonicNow())) {
      auto& series = peer_metrics_.For(p.id);
      series.phi->Set(p.phi);
      series.silence->Set(p.silence_seconds);
    }
  }
  if (fx.view_changed) membership_metrics_.Update(core_->view(), core::WallClockMs());
  if (core_->node()) raft_metrics_.Update(*core_->node());
  if (fx.leader_changed) raft_metrics_.leader_changes().Increment();
  for (double s : fx.commit_seconds)
    raft_metrics_.commit_seconds().Observe(s);

  if (!fx.lock_changes.empty())
    lock_metrics_.Applied(fx.lock_changes, core_->view().locks().size());
  if (fx.view_changed) lock_metrics_.Held(core_->view().locks().size());  // a snapshot, too
  for (double s : fx.lock_handovers)
    lock_metrics_.Handover(s);

  for (Completion& c : fx.completions) {
    auto it = waiting_.find(c.token);
    if (it == waiting_.end()) continue;
    auto done = std::move(it->second);
    waiting_.erase(it);
    done(std::move(c));
  }
  if (fx.ready && on_ready_) on_ready_(*fx.ready);
  if (on_change_ && (fx.ticked || fx.view_changed || fx.raft_changed)) on_change_(fx.view_changed);
  if (fx.fatal) {
    if (on_stopped_) on_stopped_(1);
    return;
  }
  if (fx.stopped) {
    // A graceful stop, not a crash, for those holding a connection to us.
    transport_.Goodbye();
    if (on_stopped_) on_stopped_(0);
    return;
  }
  ScheduleWakeup();
}

void CoreLoop::Refused(Refusal refusal, const PeerOrigin& origin, const char* what) {
  peer_metrics_.dropped(ToString(refusal)).Increment();
  // Said at most once a minute (a flood must not flood the journal too).
  const auto now = std::chrono::steady_clock::now();
  if (now - last_identity_log_ < std::chrono::minutes(1)) return;
  last_identity_log_ = now;
  log::Warn("agent", "peer frame refused",
            {{"what", what},
             {"sender", origin.id},
             {"key", core::Hex(origin.public_key).substr(0, 16)},
             {"reason", ToString(refusal)}});
}

void CoreLoop::SetKeyring(config::Keyring keyring) {
  credentials_.keyring = std::move(keyring);
  peer_metrics_.keyring_keys().Set(static_cast<double>(credentials_.keyring.size()));
}

void CoreLoop::OnHeartbeat(const PeerOrigin& origin, const Heartbeat& h,
                           const udp::endpoint& from) {
  if (closed_ || !core_) return;
  const AgentCore::HeartbeatReceipt r = core_->OnHeartbeat(origin, h, Now());
  if (r.refused != Refusal::kNone) return Refused(r.refused, origin, "heartbeat");
  if (r.ack)
    heartbeats_.SendAck(HeartbeatAck{core_->self().id, h.sequence, h.send_time_ns}, from,
                        origin.public_key);
  if (!r.watched) return;
  auto& series = peer_metrics_.For(h.sender);
  if (r.interval_seconds) series.interval->Observe(*r.interval_seconds);
  if (r.rtt_seconds) series.rtt->Observe(*r.rtt_seconds);
}

void CoreLoop::OnAck(const HeartbeatAck& a) {
  if (closed_ || !core_) return;
  const AgentCore::AckReceipt r = core_->OnAck(a, Now());
  if (!r.valid) {
    peer_metrics_.dropped("malformed").Increment();  // not an echo of ours
    return;
  }
  if (r.watched) peer_metrics_.For(a.sender).rtt->Observe(r.rtt_seconds);
}

void CoreLoop::OnMembership(const PeerOrigin& origin, std::string_view payload) {
  if (closed_ || !core_) return;
  std::string why;
  auto m = membership::DecodePeerMessage(payload, &why);
  if (!m) {
    peer_metrics_.dropped(why.empty() ? "malformed" : "out_of_bounds").Increment();
    // Said at most once a minute (a flood must not flood the journal too).
    const auto now = std::chrono::steady_clock::now();
    if (now - last_refusal_log_ > std::chrono::minutes(1)) {
      last_refusal_log_ = now;
      log::Warn("membership", "peer message refused",
                {{"reason", why.empty() ? "malformed" : why}});
    }
    return;
  }
  Refusal refused = Refusal::kNone;
  Perform(core_->OnPeerMessage(origin, *m, Now(), &refused));
  if (refused != Refusal::kNone) Refused(refused, origin, "membership request");
}

uint64_t CoreLoop::Register(std::function<void(int, std::string)> done) {
  if (!done) return 0;
  return Register(
      LockDone([done = std::move(done)](Completion c) { done(c.status, std::move(c.message)); }));
}

uint64_t CoreLoop::Register(LockDone done) {
  if (!done) return 0;
  const uint64_t token = next_token_++;
  waiting_.emplace(token, std::move(done));
  return token;
}

void CoreLoop::AcquireLock(const LockRequest& request, LockDone done) {
  if (closed_ || !core_) return done(Completion{0, 503, "the agent is stopping"});
  Perform(core_->AcquireLock(request, Register(std::move(done)), Now()));
}

void CoreLoop::RenewLock(const std::string& name, uint64_t lock_token, LockDone done) {
  if (closed_ || !core_) return done(Completion{0, 503, "the agent is stopping"});
  Perform(core_->RenewLock(name, lock_token, Register(std::move(done)), Now()));
}

void CoreLoop::ReleaseLock(const std::string& name, uint64_t lock_token, LockDone done) {
  if (closed_ || !core_) return done(Completion{0, 503, "the agent is stopping"});
  Perform(core_->ReleaseLock(name, lock_token, Register(std::move(done)), Now()));
}

void CoreLoop::Stop(StopMode mode, std::function<void(int, std::string)> done) {
  if (closed_ || !core_) {
    if (done) done(409, "the agent is stopping");
    return;
  }
  Perform(core_->Stop(mode, Register(std::move(done)), Now()));
}

void CoreLoop::Remove(const std::string& id, std::function<void(int, std::string)> done) {
  if (closed_ || !core_) return done(503, "the agent is stopping");
  Perform(core_->Remove(core::MemberId{id}, Register(std::move(done)), Now()));
}

void CoreLoop::SetHealth(std::optional<collectors::HealthSummary> health) {
  if (core_) core_->SetHealth(health);
}

std::optional<std::vector<double>> CoreLoop::Arrivals(const std::string& id) const {
  if (!core_) return std::nullopt;
  return core_->Arrivals(core::MemberId{id});
}

}  // namespace ringwatch::agent
