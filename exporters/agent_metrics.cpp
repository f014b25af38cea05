#include "exporters/agent_metrics.h"

#include "membership/view.h"

namespace ringwatch::exporters {

namespace {
// ringwatch_detection_seconds: the fast path decides in milliseconds, phi in
// about a third of a second, the timeout in seconds.
prometheus::Histogram::BucketBoundaries DetectionBuckets() {
  return {0.025, 0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30};
}

prometheus::Gauge& Gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

// Heartbeat intervals: around 100 ms by default, tails up to seconds.
const prometheus::Histogram::BucketBoundaries kIntervalBuckets{
    0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0};
// Round trips: loopback tens of microseconds, LAN sub-millisecond, WAN tens of ms.
const prometheus::Histogram::BucketBoundaries kRttBuckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};

}  // namespace

PeerMetrics::PeerMetrics(prometheus::Registry& registry)
    : phi_(prometheus::BuildGauge()
               .Name("ringwatch_peer_phi")
               .Help("Phi-accrual suspicion level of a watched peer, as seen by this agent.")
               .Register(registry)),
      silence_(prometheus::BuildGauge()
                   .Name("ringwatch_peer_silence_seconds")
                   .Help("Time since the last heartbeat from a watched peer.")
                   .Register(registry)),
      interval_(prometheus::BuildHistogram()
                    .Name("ringwatch_peer_heartbeat_interval_seconds")
                    .Help("Intervals between heartbeats received from a watched peer.")
                    .Register(registry)),
      rtt_(prometheus::BuildHistogram()
               .Name("ringwatch_peer_rtt_seconds")
               .Help("Round-trip time of heartbeats to a peer (heartbeat to ack).")
               .Register(registry)),
      suspicions_(prometheus::BuildCounter()
                      .Name("ringwatch_peer_suspicions_total")
                      .Help("Times this agent began to suspect a watched peer.")
                      .Register(registry)) {
  sent_ = &prometheus::BuildCounter()
               .Name("ringwatch_heartbeats_sent_total")
               .Help("Heartbeats sent to peers.")
               .Register(registry)
               .Add({});
  received_ = &prometheus::BuildCounter()
                   .Name("ringwatch_heartbeats_received_total")
                   .Help("Valid heartbeats received from peers.")
                   .Register(registry)
                   .Add({});
  keyring_keys_ = &prometheus::BuildGauge()
                       .Name("ringwatch_keyring_keys")
                       .Help(
                           "Keys in the cluster keyring (cluster.secret_file); 0: peer traffic "
                           "is not authenticated.")
                       .Register(registry)
                       .Add({});
  auto& dropped = prometheus::BuildCounter()
                      .Name("ringwatch_messages_dropped_total")
                      .Help("Peer messages dropped unparsed, by reason.")
                      .Register(registry);
  for (const char* r : kDropReasons)
    dropped_.emplace(r, &dropped.Add({{"reason", r}}));
}

PeerMetrics::Series& PeerMetrics::For(const std::string& peer) {
  auto it = series_.find(peer);
  if (it != series_.end()) return it->second;
  const std::map<std::string, std::string> labels{{"peer", peer}};
  // Add returns the existing counter of a peer watched before: suspicions
  // keep counting across an unwatch and a re-watch.
  Series s{&phi_.Add(labels), &silence_.Add(labels), &interval_.Add(labels, kIntervalBuckets),
           &rtt_.Add(labels, kRttBuckets), &suspicions_.Add(labels)};
  return series_.emplace(peer, s).first->second;
}

void PeerMetrics::Remove(const std::string& peer) {
  auto it = series_.find(peer);
  if (it == series_.end()) return;
  phi_.Remove(it->second.phi);
  silence_.Remove(it->second.silence);
  interval_.Remove(it->second.interval);
  rtt_.Remove(it->second.rtt);
  // The suspicion counter stays: a peer is typically unwatched because it was
  // declared dead right after being suspected, and a scrape must still see
  // that suspicion (increase() over a series that vanished misses it).
  series_.erase(it);
}

prometheus::Counter& PeerMetrics::dropped(std::string_view reason) {
  auto it = dropped_.find(reason);
  if (it == dropped_.end()) it = dropped_.find(std::string_view("malformed"));
  return *it->second;
}

LockMetrics::LockMetrics(prometheus::Registry& registry)
    : held_(prometheus::BuildGauge()
                .Name("ringwatch_locks_held")
                .Help("Locks held in the committed lock table (cluster-wide; the same on every "
                      "agent).")
                .Register(registry)
                .Add({})),
      acquisitions_(prometheus::BuildCounter()
                        .Name("ringwatch_lock_acquisitions_total")
                        .Help("Lock acquisitions applied from the committed log (cluster-wide).")
                        .Register(registry)
                        .Add({})),
      releases_(prometheus::BuildCounter()
                    .Name("ringwatch_lock_releases_total")
                    .Help("Lock releases applied from the committed log (cluster-wide), by "
                          "reason: released, expired, member_dead, member_left, restarted.")
                    .Register(registry)),
      handover_(prometheus::BuildHistogram()
                    .Name("ringwatch_lock_handover_seconds")
                    .Help("From a lock's release to its acquisition by a holder that waited for "
                          "it through this agent (the leader's clock, as the view records both).")
                    .Register(registry)
                    .Add({}, prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1,
                                                                     0.25, 0.5, 1, 2.5, 5, 10})) {
  for (uint8_t r = 1; r <= membership::kMaxLockReleaseReason; ++r)
    releases_.Add(
        {{"reason", membership::ToString(static_cast<membership::LockReleaseReason>(r))}});
}

void LockMetrics::Applied(const std::vector<membership::LockChange>& changes, std::size_t held) {
  for (const membership::LockChange& c : changes) {
    if (c.kind == membership::LockChange::Kind::kAcquired) acquisitions_.Increment();
    if (c.kind == membership::LockChange::Kind::kReleased)
      releases_.Add({{"reason", membership::ToString(c.reason)}}).Increment();
  }
  Held(held);
}

MembershipMetrics::MembershipMetrics(prometheus::Registry& registry)
    : members_(prometheus::BuildGauge()
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
      diagnoses_(prometheus::BuildCounter()
                     .Name("ringwatch_diagnoses_total")
                     .Help("Deaths and leaves applied from the committed log, by the class of "
                           "their diagnosis (the verdict).")
                     .Register(registry)),
      revisions_(prometheus::BuildCounter()
                     .Name("ringwatch_diagnosis_revisions_total")
                     .Help("Verdicts revised by the account of a member that came back, by "
                           "verdict (from) and revision (to).")
                     .Register(registry)),
      verdict_(prometheus::BuildGauge()
                   .Name("ringwatch_member_verdict")
                   .Help("1 for each member dead in the committed view, labelled with the class "
                         "of the verdict on its death (the MemberDown alert carries it).")
                   .Register(registry)),
      detection_seconds_(prometheus::BuildHistogram()
                             .Name("ringwatch_detection_seconds")
                             .Help("From a dead member's last heartbeat (as its observers heard "
                                   "it) to this agent applying the committed MarkDead, by the "
                                   "detector path that decided (fast, phi, timeout).")
                             .Register(registry)),
      view_version_(prometheus::BuildGauge()
                        .Name("ringwatch_view_version")
                        .Help("Version of the committed membership view applied here.")
                        .Register(registry)
                        .Add({})) {
  for (const char* state : {"alive", "restarting", "dead", "left"})
    members_.Add({{"state", state}});
  for (auto kind :
       {membership::EventKind::kJoin, membership::EventKind::kDead, membership::EventKind::kAlive,
        membership::EventKind::kLeave, membership::EventKind::kLeader,
        membership::EventKind::kVoterAdded, membership::EventKind::kVoterRemoved,
        membership::EventKind::kRemoved, membership::EventKind::kRestarting,
        membership::EventKind::kReturned, membership::EventKind::kRevised})
    changes_.Add({{"kind", membership::ToString(kind)}});
  // Every detection path has its series from the start (dashboards query them).
  for (auto path : {membership::DetectionPath::kFast, membership::DetectionPath::kPhi,
                    membership::DetectionPath::kTimeout})
    detection_seconds_.Add({{"path", membership::ToString(path)}}, DetectionBuckets());
  for (uint8_t c = 1; c <= membership::kMaxDiagnosisClass; ++c) {
    const auto cls = static_cast<membership::DiagnosisClass>(c);
    if (membership::IsVerdict(cls) || cls == membership::DiagnosisClass::kLeft ||
        cls == membership::DiagnosisClass::kStopped)
      diagnoses_.Add({{"class", membership::ToString(cls)}});
  }
}

void MembershipMetrics::Update(const membership::View& view, int64_t now_ms) {
  view_version_.Set(static_cast<double>(view.version().value));
  members_.Add({{"state", "alive"}})
      .Set(static_cast<double>(view.Count(membership::MemberState::kAlive)));
  members_.Add({{"state", "restarting"}})
      .Set(static_cast<double>(view.Count(membership::MemberState::kRestarting)));
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
    // A planned restart is not a death: up stays 1 while it is restarting.
    it->second->Set(membership::InRing(m.state) ? 1 : 0);
  }
  // The verdict of each dead member, as a label.
  for (auto it = verdict_series_.begin(); it != verdict_series_.end();) {
    const membership::Member* m = view.Find(it->first);
    const bool keep = m && m->state == membership::MemberState::kDead && m->diagnosis &&
                      membership::ToString(m->diagnosis->cls) == it->second.first;
    if (keep) {
      ++it;
      continue;
    }
    verdict_.Remove(it->second.second);
    it = verdict_series_.erase(it);
  }
  for (const auto& [id, m] : view.members()) {
    if (m.state != membership::MemberState::kDead || !m.diagnosis || verdict_series_.count(id))
      continue;
    const std::string cls = membership::ToString(m.diagnosis->cls);
    prometheus::Gauge* g = &verdict_.Add({{"member", id}, {"class", cls}});
    g->Set(1);
    verdict_series_.emplace(id, std::make_pair(cls, g));
  }
  for (const membership::Event& e : view.events()) {
    if (e.seq <= counted_seq_) continue;
    counted_seq_ = e.seq;
    changes_.Add({{"kind", membership::ToString(e.kind)}}).Increment();
    if (e.diagnosis &&
        (e.kind == membership::EventKind::kDead || e.kind == membership::EventKind::kLeave))
      diagnoses_.Add({{"class", membership::ToString(*e.diagnosis)}}).Increment();
    if (e.kind == membership::EventKind::kRevised && e.diagnosis) {
      const membership::Member* m = view.Find(e.member);
      const std::string from =
          m && m->diagnosis ? membership::ToString(m->diagnosis->cls) : "unknown";
      revisions_.Add({{"from", from}, {"to", membership::ToString(*e.diagnosis)}}).Increment();
    }
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
      detection_seconds_
          .Add({{"path", membership::ToString(m->diagnosis->path)}}, DetectionBuckets())
          .Observe(silence + since_decision);
  }
}

RaftMetrics::RaftMetrics(prometheus::Registry& registry)
    : term_(Gauge(registry, "ringwatch_raft_term", "Current Raft term of this node.")),
      commit_index_(Gauge(registry, "ringwatch_raft_commit_index",
                          "Highest Raft log index known to be committed.")),
      applied_index_(Gauge(registry, "ringwatch_raft_applied_index",
                           "Highest Raft log index applied by this node.")),
      is_leader_(
          Gauge(registry, "ringwatch_raft_is_leader", "1 when this node is the Raft leader.")),
      has_leader_(Gauge(registry, "ringwatch_raft_has_leader",
                        "1 when this node knows a Raft leader (itself included).")),
      voters_(
          Gauge(registry, "ringwatch_raft_voters", "Voters in this node's Raft configuration.")),
      learners_(Gauge(registry, "ringwatch_raft_learners",
                      "Learners in this node's Raft configuration.")),
      leader_changes_(prometheus::BuildCounter()
                          .Name("ringwatch_raft_leader_changes_total")
                          .Help("Times this node saw the Raft leader change to a new member.")
                          .Register(registry)
                          .Add({})),
      commit_seconds_(
          prometheus::BuildHistogram()
              .Name("ringwatch_raft_commit_seconds")
              .Help("Time from a proposal on this leader to its commit.")
              .Register(registry)
              .Add({},
                   prometheus::Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                           0.05, 0.1, 0.25, 0.5, 1, 2.5})),
      persist_seconds_(prometheus::BuildHistogram()
                           .Name("ringwatch_raft_persist_seconds")
                           .Help("Time to make one Raft Ready durable (write + fdatasync), on "
                                 "the storage thread.")
                           .Register(registry)
                           .Add({}, prometheus::Histogram::BucketBoundaries{
                                        0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                        0.5, 1, 2.5})) {}

void RaftMetrics::Update(const raft::Node& node) {
  term_.Set(static_cast<double>(node.term().value));
  commit_index_.Set(static_cast<double>(node.log().committed().value));
  applied_index_.Set(static_cast<double>(node.log().applied().value));
  is_leader_.Set(node.role() == raft::Role::kLeader ? 1 : 0);
  has_leader_.Set(node.leader().empty() ? 0 : 1);
  voters_.Set(static_cast<double>(node.conf().voters.size()));
  learners_.Set(static_cast<double>(node.conf().learners.size()));
}

RingMetrics::RingMetrics(prometheus::Registry& registry)
    : version_(Gauge(registry, "ringwatch_ring_version",
                     "Ring version: the view version of the latest change to the ring's members")),
      moved_ratio_(Gauge(registry, "ringwatch_ring_moved_ratio",
                         "Share of the key space that changed owner in the latest ring change")),
      ownership_(prometheus::BuildGauge()
                     .Name("ringwatch_ring_ownership_ratio")
                     .Help("Share of the key space each member owns in the current ring")
                     .Register(registry)),
      hook_runs_(prometheus::BuildCounter()
                     .Name("ringwatch_ring_hook_runs_total")
                     .Help("ring.on_change runs by result (ok, failed, timeout, error)")
                     .Register(registry)),
      file_writes_ok_(prometheus::BuildCounter()
                          .Name("ringwatch_ring_file_writes_total")
                          .Help("ring.file rewrites by result (ok, failed)")
                          .Register(registry)
                          .Add({{"result", "ok"}})),
      file_writes_failed_(prometheus::BuildCounter()
                              .Name("ringwatch_ring_file_writes_total")
                              .Help("ring.file rewrites by result (ok, failed)")
                              .Register(registry)
                              .Add({{"result", "failed"}})) {
  for (const char* result : {"ok", "failed", "timeout", "error"})
    hook_runs_.Add({{"result", result}});
}

void RingMetrics::SetRing(core::ViewVersion version, double moved_ratio,
                          const std::vector<std::pair<std::string, double>>& ownership) {
  version_.Set(static_cast<double>(version.value));
  moved_ratio_.Set(moved_ratio);
  std::map<std::string, prometheus::Gauge*> series;
  for (const auto& [id, share] : ownership) {
    auto it = ownership_series_.find(id);
    prometheus::Gauge* g =
        it != ownership_series_.end() ? it->second : &ownership_.Add({{"member", id}});
    g->Set(share);
    series.emplace(id, g);
  }
  for (const auto& [id, g] : ownership_series_)
    if (!series.count(id)) ownership_.Remove(g);
  ownership_series_ = std::move(series);
}

void RingMetrics::HookRun(const char* result) {
  hook_runs_.Add({{"result", result}}).Increment();
}

void RingMetrics::FileWrite(bool ok) {
  (ok ? file_writes_ok_ : file_writes_failed_).Increment();
}

HttpMetrics::HttpMetrics(prometheus::Registry& registry)
    : requests_(prometheus::BuildCounter()
                    .Name("ringwatch_http_requests_total")
                    .Help("HTTP requests answered, by route and status code.")
                    .Register(registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("ringwatch_http_connections_rejected_total")
                    .Help("HTTP connections closed at once because http.max_connections were open.")
                    .Register(registry)
                    .Add({})),
      open_(Gauge(registry, "ringwatch_http_connections", "Open HTTP connections.")),
      waiters_(Gauge(registry, "ringwatch_http_waiters",
                     "Blocking queries (?index=&wait=) parked until the state they watch moves.")),
      refused_(prometheus::BuildCounter()
                   .Name("ringwatch_http_refused_total")
                   .Help("HTTP requests or connections refused for their credentials, origin or "
                         "protocol, by reason.")
                   .Register(registry)),
      tls_reloads_(prometheus::BuildCounter()
                       .Name("ringwatch_http_tls_reloads_total")
                       .Help("Reloads of the HTTPS certificate and key (SIGHUP), by result.")
                       .Register(registry)),
      tls_reloaded_(tls_reloads_.Add({{"result", "ok"}})),
      tls_reload_failed_(tls_reloads_.Add({{"result", "failed"}})) {
  for (const char* reason : {"missing_token", "bad_token", "not_loopback", "foreign_origin",
                             "plain_http", "tls_handshake"})
    refused_.Add({{"reason", reason}});
}

void HttpMetrics::Count(const std::string& route, int status) {
  requests_.Add({{"route", route}, {"code", std::to_string(status)}}).Increment();
}

void HttpMetrics::Refused(const std::string& reason) {
  refused_.Add({{"reason", reason}}).Increment();
}

}  // namespace ringwatch::exporters
