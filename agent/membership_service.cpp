#include "agent/membership_service.h"

#include <boost/asio/ip/udp.hpp>
#include <chrono>

#include "agent/endpoint_text.h"
#include "core/log.h"
#include "membership/peer_message.h"

namespace ringwatch::agent {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using udp = net::ip::udp;

namespace {

int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

MembershipService::MembershipService(net::io_context& ioc, Options options, RaftService& raft,
                                     RaftTransport& transport, HeartbeatService& heartbeats,
                                     PeerMetrics& metrics, prometheus::Registry& registry)
    : ioc_(ioc),
      options_(std::move(options)),
      raft_(raft),
      transport_(transport),
      heartbeats_(heartbeats),
      metrics_(metrics),
      coordinator_(options_.coordinator),
      timer_(ioc),
      members_(prometheus::BuildGauge()
                   .Name("ringwatch_members")
                   .Help("Members of the committed view by state.")
                   .Register(registry)),
      member_up_(prometheus::BuildGauge()
                     .Name("ringwatch_member_up")
                     .Help("1 when the member is alive in the committed view, else 0.")
                     .Register(registry)),
      changes_(prometheus::BuildCounter()
                   .Name("ringwatch_membership_changes_total")
                   .Help("Membership events applied from the committed log, by kind.")
                   .Register(registry)),
      detection_seconds_(
          prometheus::BuildHistogram()
              .Name("ringwatch_detection_seconds")
              .Help("From a dead member's last heartbeat (as its observers heard it) to this "
                    "agent applying the committed MarkDead.")
              .Register(registry)
              .Add({}, prometheus::Histogram::BucketBoundaries{0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1,
                                                               1.5, 2, 3, 5, 10, 30})),
      view_version_(prometheus::BuildGauge()
                        .Name("ringwatch_view_version")
                        .Help("Version of the committed membership view applied here.")
                        .Register(registry)
                        .Add({})) {
  for (const char* state : {"alive", "dead", "left"})
    members_.Add({{"state", state}});
  for (auto kind : {membership::EventKind::kJoin, membership::EventKind::kDead,
                    membership::EventKind::kAlive, membership::EventKind::kLeave,
                    membership::EventKind::kLeader, membership::EventKind::kVoterAdded,
                    membership::EventKind::kVoterRemoved, membership::EventKind::kRemoved})
    changes_.Add({{"kind", membership::ToString(kind)}});
}

void MembershipService::UpdateMetrics() {
  const membership::View& view = coordinator_.view();
  view_version_.Set(static_cast<double>(view.version()));
  members_.Add({{"state", "alive"}})
      .Set(static_cast<double>(view.Count(membership::MemberState::kAlive)));
  members_.Add({{"state", "dead"}})
      .Set(static_cast<double>(view.Count(membership::MemberState::kDead)));
  members_.Add({{"state", "left"}})
      .Set(static_cast<double>(view.Count(membership::MemberState::kLeft)));
  // A member that left (or was removed) is not down: its series goes, so
  // that "member_up == 0" means a member declared dead.
  auto gone = [&](const std::string& id) {
    const membership::Member* m = view.Find(id);
    return !m || m->state == membership::MemberState::kLeft;
  };
  for (auto it = up_series_.begin(); it != up_series_.end();) {
    if (!gone(it->first)) {
      ++it;
      continue;
    }
    member_up_.Remove(it->second);
    it = up_series_.erase(it);
  }
  for (const auto& [id, m] : view.members()) {
    if (gone(id)) continue;
    auto [it, added] = up_series_.try_emplace(id, nullptr);
    if (added) it->second = &member_up_.Add({{"member", id}});
    it->second->Set(m.state == membership::MemberState::kAlive ? 1 : 0);
  }
  const int64_t now_ms = WallMs();
  for (const membership::Event& e : view.events()) {
    if (e.seq <= counted_seq_) continue;
    counted_seq_ = e.seq;
    changes_.Add({{"kind", membership::ToString(e.kind)}}).Increment();
    if (e.kind != membership::EventKind::kDead) continue;
    const membership::Member* m = view.Find(e.member);
    if (!m || !m->diagnosis) continue;
    // The most recent heartbeat any suspecting observer had heard.
    double silence = -1;
    for (const auto& o : m->diagnosis->observers)
      if (o.suspected && (silence < 0 || o.silence_seconds < silence)) silence = o.silence_seconds;
    if (silence < 0) continue;
    double since_decision = static_cast<double>(now_ms - m->diagnosis->decided_at_ms) / 1000.0;
    // Only deaths decided while this agent ran: a replayed log is history.
    if (since_decision >= 0 && since_decision < 60)
      detection_seconds_.Observe(silence + since_decision);
  }
}

void MembershipService::Attach() {
  raft_.OnApply([this](const raft::Entry& e) {
    if (coordinator_.Apply(e)) watch_dirty_ = true;
    UpdateMetrics();
    if (e.type == raft::EntryType::kNormal && on_change_) on_change_();
  });
  raft_.OnRestore([this](const raft::Snapshot& s) {
    if (!coordinator_.Restore(s))
      log::Error("membership", "snapshot does not decode; keeping the current view",
                 {{"index", std::to_string(s.index.value)}});
    watch_dirty_ = true;
    UpdateMetrics();
    if (on_change_) on_change_();
  });
  raft_.SnapshotSource([this] { return coordinator_.SnapshotData(); });
  transport_.OnMembership([this](std::string_view payload) {
    auto m = membership::DecodePeerMessage(payload);
    if (!m) {
      metrics_.dropped(DropReason::kMalformed).Increment();
      return;
    }
    Execute(coordinator_.Receive(Facts(), *m, core::MonotonicNow(), WallMs()));
  });
}

void MembershipService::Start() {
  UpdateWatch();
  timer_.expires_after(std::chrono::milliseconds(0));
  ScheduleTick();
}

void MembershipService::Stop() {
  stopped_ = true;
  timer_.cancel();
  for (auto& [id, socket] : probing_) {
    boost::system::error_code ignored;
    socket->close(ignored);
  }
  alive_.reset();
}

bool MembershipService::Ready() const {
  return coordinator_.Alive() && !raft_.leader().empty();
}

membership::RaftFacts MembershipService::Facts() const {
  return membership::RaftFacts{raft_.leader(), raft_.is_leader(), raft_.term()};
}

void MembershipService::ScheduleTick() {
  timer_.async_wait([this, alive = std::weak_ptr<bool>(alive_)](boost::system::error_code ec) {
    if (ec || alive.expired() || stopped_) return;
    Tick(heartbeats_.Status());
    timer_.expires_after(2 * options_.coordinator.heartbeat_interval);
    ScheduleTick();
  });
}

void MembershipService::OnDetectorTick(const std::vector<PeerView>& peers) {
  if (stopped_) return;
  Tick(peers);
  // The detector drives the cadence; the timer only stands in when it does not.
  timer_.expires_after(2 * options_.coordinator.heartbeat_interval);
  ScheduleTick();
}

void MembershipService::Tick(const std::vector<PeerView>& peers) {
  std::vector<membership::LocalObservation> observations;
  for (const PeerView& p : peers) {
    if (p.id.empty()) continue;
    membership::LocalObservation o;
    o.id = p.id;
    o.suspected = p.suspected;
    o.phi = p.phi;
    o.silence_seconds = p.silence_seconds;
    if (p.health)
      o.health = membership::Health{static_cast<float>(p.health->load1_per_core),
                                    static_cast<float>(p.health->memory_available_ratio),
                                    static_cast<float>(p.health->fullest_filesystem_ratio),
                                    static_cast<float>(p.health->agent_cpu_ratio)};
    if (p.suspected || p.phi >= options_.probe_phi) {
      auto it = probes_.find(p.id);
      if (it == probes_.end()) {
        probes_[p.id] = membership::ProbeResult::kNone;
        if (const auto* m = coordinator_.view().Find(p.id)) Probe(p.id, m->info.address);
      } else {
        o.probe = it->second;
      }
    } else if (p.phi < options_.probe_phi / 2) {
      probes_.erase(p.id);  // heard normally again: the next episode probes afresh
    }
    observations.push_back(std::move(o));
  }
  membership::RaftFacts facts = Facts();
  Execute(coordinator_.Tick(facts, core::MonotonicNow(), WallMs(), observations));
  heartbeats_.SetIncarnation(coordinator_.self().incarnation);
  bool lapsed = false;
  for (const auto& [ep, until] : lingering_)
    lapsed = lapsed || until <= std::chrono::steady_clock::now();
  if (watch_dirty_ || facts.leader != watched_leader_ || lapsed) UpdateWatch();
}

void MembershipService::Execute(membership::Effects fx) {
  for (const membership::Command& c : fx.proposals) {
    auto p = raft_.Propose(membership::EncodeCommand(c));
    if (!p.ok()) log::Debug("membership", "proposal refused", {{"reason", p.error().detail}});
  }
  if (fx.conf_change) {
    auto p = raft_.ProposeConfChange(*fx.conf_change);
    if (p.ok())
      log::Info("membership", "configuration change",
                {{"change", raft::ToString(fx.conf_change->type)},
                 {"member", fx.conf_change->node.value}});
  }
  for (auto& [to, message] : fx.messages) {
    std::string payload = membership::EncodePeerMessage(message);
    if (!to.empty()) {
      transport_.SendMembership(to, payload);
      continue;
    }
    for (const PeerView& p : heartbeats_.Status())  // no leader known: every seed heard of
      if (!p.id.empty()) transport_.SendMembership(p.id, payload);
  }
  if (fx.watch_changed) watch_dirty_ = true;
}

void MembershipService::UpdateWatch() {
  watch_dirty_ = false;
  const membership::View& view = coordinator_.view();
  for (const auto& [id, m] : view.members())
    if (auto ep = ParseEndpointText<tcp::endpoint>(m.info.address)) transport_.SetAddress(id, *ep);
  RaftView raft = raft_.View();
  watched_leader_ = raft.leader;
  const auto now = std::chrono::steady_clock::now();
  const auto linger = now + kLinger;
  std::erase_if(lingering_, [&](const auto& kv) { return kv.second <= now; });
  auto with_lingering = [&](std::vector<udp::endpoint> targets) {
    for (const auto& t : targets)
      lingering_[t] = linger;
    for (const auto& [ep, until] : lingering_)
      if (std::find(targets.begin(), targets.end(), ep) == targets.end()) targets.push_back(ep);
    return targets;
  };
  if (!coordinator_.Alive()) {
    // Not (or no longer) a member: heartbeat with the seeds, as before membership.
    heartbeats_.SetTargets(with_lingering(options_.seeds));
    std::vector<WatchedPeer> watched;
    for (const auto& s : options_.seeds)
      watched.push_back({"", s});
    heartbeats_.SetWatchList(std::move(watched));
    return;
  }
  const std::string& self = coordinator_.self().id;
  std::map<std::string, membership::MemberInfo> targets, watched;
  for (const auto& m : coordinator_.HeartbeatTargets())
    targets[m.id] = m;
  for (const auto& m : coordinator_.Watched())
    watched[m.id] = m;
  const bool voter = std::find(raft.voters.begin(), raft.voters.end(), self) != raft.voters.end();
  if (raft.leader == self) {
    // The leader heartbeats every voter, so each can detect its death.
    for (const std::string& v : raft.voters)
      if (const auto* m = view.Find(v); m && v != self) targets[v] = m->info;
  } else if (voter && !raft.leader.empty()) {
    if (const auto* m = view.Find(raft.leader)) watched[raft.leader] = m->info;
  }
  std::vector<udp::endpoint> target_endpoints;
  for (const auto& [id, info] : targets)
    if (auto ep = ParseEndpointText<udp::endpoint>(info.address)) target_endpoints.push_back(*ep);
  std::vector<WatchedPeer> watch;
  for (const auto& [id, info] : watched)
    if (auto ep = ParseEndpointText<udp::endpoint>(info.address)) watch.push_back({id, *ep});
  heartbeats_.SetTargets(with_lingering(std::move(target_endpoints)));
  heartbeats_.SetWatchList(std::move(watch));
}

void MembershipService::Probe(const std::string& id, const std::string& address) {
  auto ep = ParseEndpointText<tcp::endpoint>(address);
  if (!ep || probing_.count(id)) return;
  auto socket = std::make_shared<tcp::socket>(ioc_);
  auto timer = std::make_shared<net::steady_timer>(ioc_);
  probing_[id] = socket;
  auto done = std::make_shared<bool>(false);
  auto finish = [this, id, done, socket, timer,
                 alive = std::weak_ptr<bool>(alive_)](membership::ProbeResult result) {
    if (*done || alive.expired()) return;
    *done = true;
    timer->cancel();
    boost::system::error_code ignored;
    socket->close(ignored);
    probing_.erase(id);
    auto it = probes_.find(id);
    if (it != probes_.end()) it->second = result;  // still the same suspicion episode
  };
  timer->expires_after(std::chrono::seconds(1));
  timer->async_wait([finish](boost::system::error_code ec) {
    if (!ec) finish(membership::ProbeResult::kTimeout);
  });
  socket->async_connect(*ep, [finish](boost::system::error_code ec) {
    if (ec == net::error::operation_aborted) return;
    if (!ec) return finish(membership::ProbeResult::kConnected);
    finish(ec == net::error::connection_refused ? membership::ProbeResult::kRefused
                                                : membership::ProbeResult::kTimeout);
  });
}

void MembershipService::WaitFor(std::function<bool()> reached, std::chrono::milliseconds timeout,
                                std::function<void(bool)> done) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto timer = std::make_shared<net::steady_timer>(ioc_);
  // The pending wait holds the only strong reference to `check`.
  auto check = std::make_shared<std::function<void()>>();
  *check = [timer, weak = std::weak_ptr<std::function<void()>>(check), reached, deadline, done,
            alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    if (reached()) return done(true);
    if (std::chrono::steady_clock::now() >= deadline) return done(false);
    timer->expires_after(std::chrono::milliseconds(10));
    timer->async_wait([strong = weak.lock()](boost::system::error_code ec) {
      if (!ec && strong) (*strong)();
    });
  };
  (*check)();
}

void MembershipService::Leave(std::chrono::milliseconds timeout, std::function<void(bool)> done) {
  const std::string self = coordinator_.self().id;
  if (!coordinator_.view().Find(self)) return done(false);
  auto p = raft_.Propose(membership::EncodeCommand(coordinator_.Leave(WallMs())));
  if (!p.ok()) return done(false);
  log::Info("membership", "leaving the cluster");
  // A follower's proposal is forwarded; its outcome shows when it is applied here.
  WaitFor(
      [this, self] {
        const auto* m = coordinator_.view().Find(self);
        return !m || m->state == membership::MemberState::kLeft;
      },
      timeout, std::move(done));
}

void MembershipService::Remove(const std::string& id, std::chrono::milliseconds timeout,
                               std::function<void(int, std::string)> done) {
  const auto* m = coordinator_.view().Find(id);
  if (!m) return done(404, "no member " + id + " in the committed view");
  if (m->state == membership::MemberState::kAlive)
    return done(409, "member " + id + " is alive; only dead or left members can be removed");
  auto p = raft_.Propose(
      membership::EncodeCommand(membership::Command{WallMs(), membership::Remove{id}}));
  if (!p.ok()) return done(503, "cannot propose the removal: " + p.error().detail);
  log::Info("membership", "removing member", {{"member", id}});
  WaitFor([this, id] { return coordinator_.view().Find(id) == nullptr; }, timeout,
          [done, id](bool removed) {
            if (removed) return done(200, "removed " + id);
            done(504, "the removal of " + id + " was not committed in time (no quorum?)");
          });
}

}  // namespace ringwatch::agent
