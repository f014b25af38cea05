#include "agent/core/agent_core.h"

#include <algorithm>
#include <cstdio>

#include "core/log.h"
#include "membership/command.h"

namespace ringwatch::agent {

using core::Instant;

namespace {

// Four Raft ticks per heartbeat interval: fine enough for randomized and
// fast retry timers, coarse enough that an idle agent wakes up rarely.
constexpr int kTicksPerHeartbeat = 4;
// A learner never campaigns, leads or transfers leadership: it gets its
// ticks in batches (the same count at a coarser grain, fewer wakeups).
constexpr int kLearnerTickBatch = 4;

std::string Fixed3(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s);
  return buf;
}

// A detector tick that comes later than this after the previous one means
// the observer itself was paused (stopped process, starved CPU, VM pause).
core::Duration StallBound(core::Duration interval) {
  return std::max(2 * interval, interval + std::chrono::milliseconds(100));
}

std::vector<std::string> Names(const std::set<raft::NodeId>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids)
    out.push_back(id.value);
  return out;
}

membership::CoordinatorOptions CoordinatorOptionsOf(const CoreOptions& o) {
  membership::CoordinatorOptions c;
  c.self = o.self;
  c.observers = o.observers;
  c.confirmations = o.confirmations;
  c.heartbeat_interval = o.detector.heartbeat_interval;
  c.rejoin_probation = o.rejoin_probation;
  c.target_voters = o.target_voters;
  c.join_backoff_min = o.join_backoff_min;
  c.join_backoff_max = o.join_backoff_max;
  c.random_seed = o.random_seed;
  c.restart_grace = o.restart_grace;
  return c;
}

}  // namespace

namespace {

CoreOptions WithIdentity(CoreOptions o) {
  if (o.identity.secret_key.empty()) o.identity = core::SigningKey::Generate();
  o.self.identity = o.identity.public_key;
  return o;
}

}  // namespace

AgentCore::AgentCore(CoreOptions options, raft::Storage& storage)
    : options_(WithIdentity(std::move(options))),
      storage_(storage),
      coordinator_(CoordinatorOptionsOf(options_)),
      stall_(StallBound(options_.detector.heartbeat_interval)) {
  raft_tick_ = std::max<core::Duration>(options_.raft_heartbeat_interval / kTicksPerHeartbeat,
                                        std::chrono::microseconds(100));
  election_ticks_ = static_cast<int>(options_.election_timeout / raft_tick_);
}

raft::Options AgentCore::RaftOptions() const {
  raft::Options o;
  o.id = raft::NodeId{options_.self.id};
  o.heartbeat_ticks = kTicksPerHeartbeat;
  o.election_ticks = std::max(election_ticks_, o.heartbeat_ticks + 1);
  o.learner_heartbeat_ticks = 5 * o.heartbeat_ticks;
  o.seed = options_.random_seed;
  return o;
}

core::Result<CoreEffects, std::string> AgentCore::Start(CoreTime t) {
  auto loaded = storage_.Load();
  if (!loaded.ok()) return core::MakeError(loaded.error().message);
  raft::Restored restored = std::move(loaded).value();
  const bool fresh =
      restored.hard_state.term.value == 0 && !restored.snapshot && restored.entries.empty();
  bool sole = false;
  if (fresh) {
    raft::ConfState conf;
    const auto& boot = options_.bootstrap_voters;
    if (std::find(boot.begin(), boot.end(), options_.self.id) != boot.end()) {
      for (const auto& v : boot)
        conf.voters.insert(raft::NodeId{v});
    } else if (boot.empty() && options_.seeds.empty()) {
      conf.voters.insert(raft::NodeId{options_.self.id});
    }
    if (!conf.voters.empty()) {
      restored = raft::Bootstrap(conf);
      raft::Ready first;
      first.hard_state = restored.hard_state;
      first.entries = restored.entries;
      auto saved = storage_.Save(first);
      if (!saved.ok()) return core::MakeError(saved.error().message);
      log::Info("raft", "bootstrapped a new cluster",
                {{"voters", std::to_string(conf.voters.size())}});
      sole = conf.voters.size() == 1;
    } else {
      log::Info("raft", "new member; joining through the seeds",
                {{"seeds", std::to_string(options_.seeds.size())}});
    }
  }
  if (restored.snapshot && !coordinator_.Restore(*restored.snapshot))
    log::Error("membership", "snapshot does not decode; starting from an empty view",
               {{"index", std::to_string(restored.snapshot->index.value)}});
  node_ = std::make_unique<raft::Node>(RaftOptions(), std::move(restored));
  if (fresh) {
    // No Raft state: this may be a member whose disk was replaced. Until the
    // cluster has replaced its old Raft identity it must not vote (docs/raft.md
    // "Lost state"); in a brand-new cluster the first election ends this.
    node_->SetQuarantined(true);
  } else if (node_->quarantined()) {
    log::Warn("raft", "still quarantined (started without Raft state earlier); not voting yet");
  }
  was_quarantined_ = node_->quarantined();
  log::Info("raft", "started",
            {{"term", std::to_string(node_->term().value)},
             {"last_index", std::to_string(node_->log().last_index().value)},
             {"commit", std::to_string(node_->log().committed().value)},
             {"voters", std::to_string(node_->conf().voters.size())}});
  for (const std::string& seed : options_.seeds)
    if (seed == options_.self.address)
      log::Info("membership", "seed is this agent; skipped", {{"seed", seed}});
  started_ = t.now;
  next_raft_tick_ = t.now + raft_tick_;
  next_detector_tick_ = t.now;
  // A one-voter cluster need not wait an election timeout for itself.
  if (sole || (node_->conf().voters.size() == 1 && node_->IsVoter())) node_->Campaign();
  fx_.view_changed = true;
  SyncAddresses();
  Process(t);
  UpdateWatch(t);
  return Take();
}

CoreEffects AgentCore::Take() {
  CoreEffects out = std::move(fx_);
  fx_ = CoreEffects{};
  return out;
}

membership::RaftFacts AgentCore::Facts() const {
  return membership::RaftFacts{node_->leader().value, node_->role() == raft::Role::kLeader,
                               node_->term().value, node_->quarantined()};
}

Instant AgentCore::NextWakeup() const {
  Instant next = std::min(next_raft_tick_, next_detector_tick_);
  for (const auto& [id, w] : watched_)
    if (w.reprobe_at) next = std::min(next, *w.reprobe_at);
  return next;
}

CoreEffects AgentCore::Advance(CoreTime t) {
  if (fatal_ || !node_) return {};
  if (t.now >= next_raft_tick_) RaftTick(t);
  if (t.now >= next_detector_tick_) DetectorTick(t);
  for (auto& [id, w] : watched_) {
    if (!w.reprobe_at || *w.reprobe_at > t.now) continue;
    w.reprobe_at.reset();
    CloseProbe(id, w);
  }
  Process(t);
  return Take();
}

void AgentCore::RaftTick(CoreTime t) {
  const int batch = node_->IsVoter() ? 1 : kLearnerTickBatch;
  for (int i = 0; i < batch; ++i)
    node_->Tick();
  next_raft_tick_ = t.now + raft_tick_ * batch;
  if (stop_ && stop_->phase == StopPhase::kTransfer) {
    stop_->transfer_ticks_left -= batch;
    StepStop(t);
  }
}

Refusal AgentCore::CheckOrigin(const PeerOrigin& from) const {
  const membership::Member* m = view().Find(from.id);
  if (!m) return Refusal::kNone;
  if (!m->info.identity.empty() && !core::ConstantTimeEqual(m->info.identity, from.public_key))
    return Refusal::kBadIdentity;
  if (from.incarnation < m->info.incarnation) return Refusal::kReplay;
  return Refusal::kNone;
}

Refusal AgentCore::StepRaft(const PeerOrigin& from, raft::Message message) {
  if (fatal_ || !node_) return Refusal::kNone;
  if (message.from.value != from.id) return Refusal::kBadIdentity;
  if (Refusal r = CheckOrigin(from); r != Refusal::kNone) return r;
  // Only servers of the configuration speak Raft to this node — a node
  // that has none yet (a joiner) hears whoever replicates to it.
  const raft::ConfState& conf = node_->conf();
  if ((!conf.voters.empty() || !conf.learners.empty()) && !conf.Contains(message.from))
    return Refusal::kBadIdentity;
  if (message.type == raft::MessageType::kPropose) {
    for (const raft::Entry& e : message.entries) {
      if (!ProposalAllowed(from.id, e)) return Refusal::kBadIdentity;
    }
  }
  node_->Step(std::move(message));
  return Refusal::kNone;
}

bool AgentCore::ProposalAllowed(const std::string& from, const raft::Entry& entry) const {
  // What followers propose (AgentCore::StepStop, Remove, the lock
  // requests): their own Leave and restart notice, operator removals of
  // members out of the ring, and lock commands (below). Everything else is
  // the leader's to propose itself.
  auto c = membership::DecodeCommand(entry.data);
  if (!c) return false;
  if (const auto* l = std::get_if<membership::Leave>(&c->body)) return l->id == from;
  if (const auto* x = std::get_if<membership::Restarting>(&c->body)) return x->id == from;
  if (const auto* r = std::get_if<membership::Remove>(&c->body)) {
    const membership::Member* m = view().Find(r->id);
    return m && !membership::InRing(m->state);
  }
  // Locks: taken only through the proposing member, expired only by it;
  // renewed or released through any member by a client with the token
  // (the table checks it).
  if (const auto* x = std::get_if<membership::LockAcquire>(&c->body)) return x->member == from;
  if (const auto* x = std::get_if<membership::LockExpire>(&c->body)) {
    const membership::Lock* l = view().locks().Find(x->name);
    return l && l->member == from;
  }
  return std::holds_alternative<membership::LockRenew>(c->body) ||
         std::holds_alternative<membership::LockRelease>(c->body);
}

CoreEffects AgentCore::Flush(CoreTime t) {
  if (fatal_ || !node_) return {};
  Process(t);
  return Take();
}

void AgentCore::Unreachable(const core::MemberId& peer) {
  if (!fatal_ && node_) node_->ReportUnreachable(raft::NodeId{peer.value});
}

void AgentCore::Process(CoreTime t, bool again) {
  while (!fatal_ && !persisting_ && node_->HasReady()) {
    raft::Ready rd = node_->GetReady();
    if (rd.hard_state || rd.snapshot || !rd.entries.empty() || rd.quarantined) {
      // Durable first: nothing that depends on this state may leave before
      // it. The runtime saves it off this thread; the cycle resumes in
      // OnPersisted().
      raft::Ready save;
      save.hard_state = rd.hard_state;
      save.quarantined = rd.quarantined;
      save.snapshot = rd.snapshot;
      save.entries = std::move(rd.entries);
      // Advance() needs only the last entry (its index and term).
      if (!save.entries.empty()) rd.entries.push_back(save.entries.back());
      fx_.persist = std::move(save);
      persisting_ = std::move(rd);
      break;
    }
    FinishReady(rd, t);
  }
  if (fatal_) return;
  NoteRaftChanges();
  CheckProgress(t);
  // Proposals CheckProgress made (a lock freed for a waiter here) leave
  // now, not at the next input.
  if (!fatal_ && !persisting_ && node_->HasReady() && !again) Process(t, true);
}

CoreEffects AgentCore::OnPersisted(std::optional<std::string> error, CoreTime t) {
  if (fatal_ || !node_ || !persisting_) return {};
  raft::Ready rd = std::move(*persisting_);
  persisting_.reset();
  if (error) {
    fatal_ = true;
    fx_.fatal = *error;
    log::Error("raft", "storage failed; stopping (continuing could break Raft safety)",
               {{"error", *error}});
    return Take();
  }
  FinishReady(rd, t);
  Process(t);
  return Take();
}

void AgentCore::FinishReady(raft::Ready& rd, CoreTime t) {
  for (raft::Message& m : rd.messages)
    fx_.raft.push_back(std::move(m));
  rd.messages.clear();
  if (rd.snapshot && rd.restore) {
    if (!coordinator_.Restore(*rd.snapshot))
      log::Error("membership", "snapshot does not decode; keeping the current view",
                 {{"index", std::to_string(rd.snapshot->index.value)}});
    locks_.Restored(view(), self(), t.now);
    watch_dirty_ = true;
    fx_.view_changed = true;
    SyncAddresses();
  }
  for (const raft::Entry& e : rd.committed)
    Apply(e, t);
  const bool applied = !rd.committed.empty();
  node_->Advance(rd);
  if (applied && node_->role() == raft::Role::kLeader)
    Execute(coordinator_.AfterApply(Facts(), t.wall_ms), t);
  const raft::RaftLog& log = node_->log();
  if (log.applied().value >= log.snapshot_index().value + options_.snapshot_entries)
    node_->Compact(log.applied(), coordinator_.SnapshotData());
}

void AgentCore::Apply(const raft::Entry& e, CoreTime t) {
  const bool unknown = node_->quarantined() && !view().Find(options_.self.id);
  const bool changed = coordinator_.Apply(e);
  if (auto locks = coordinator_.TakeLockChanges(); !locks.empty()) {
    locks_.Applied(locks, self(), t.now);
    fx_.lock_changes.insert(fx_.lock_changes.end(), locks.begin(), locks.end());
  }
  if (changed) {
    if (unknown && coordinator_.Alive()) {
      // Admitted as a member the committed view never had: there is no old
      // Raft identity to replace (a bootstrap voter of a new cluster that
      // sat out the first election, a new member).
      node_->SetQuarantined(false);
      log::Info("raft", "quarantine over; voting again", {{"reason", "admitted as a new member"}});
    }
    watch_dirty_ = true;
    // Only a join brings an address (new, or moved with a restart).
    if (auto c = membership::DecodeCommand(e.data))
      if (const auto* add = std::get_if<membership::AddMember>(&c->body))
        if (const membership::Member* m = view().Find(add->info.id))
          SetAddress(m->info.id, m->info.address);
  }
  // Members are watched once they are in the Raft configuration.
  if (e.type == raft::EntryType::kConfChange || e.type == raft::EntryType::kBootstrap)
    watch_dirty_ = true;
  fx_.view_changed = true;
  while (!proposed_.empty() && proposed_.begin()->first <= e.index) {
    auto it = proposed_.begin();
    if (it->first == e.index && it->second.term == e.term)
      fx_.commit_seconds.push_back(core::ToSeconds(t.now - it->second.at));
    proposed_.erase(it);
  }
}

void AgentCore::NoteRaftChanges() {
  if (was_quarantined_ && !node_->quarantined() && *node_->quarantine_lift_reason())
    log::Info("raft", "quarantine over; voting again",
              {{"reason", node_->quarantine_lift_reason()}});
  was_quarantined_ = node_->quarantined();
  const raft::NodeId& leader = node_->leader();
  if (leader != last_leader_ && !leader.empty()) {
    fx_.leader_changed = true;
    locks_.LeaderChanged();
    log::Info("raft", "leader",
              {{"leader", leader.value}, {"term", std::to_string(node_->term().value)}});
  }
  if (leader != last_leader_ || node_->role() != last_role_) fx_.raft_changed = true;
  last_leader_ = leader;
  last_role_ = node_->role();
}

void AgentCore::Propose(const membership::Command& command, CoreTime t) {
  auto p = node_->Propose(membership::EncodeCommand(command));
  if (!p.ok()) {
    log::Debug("membership", "proposal refused", {{"reason", p.error().detail}});
    return;
  }
  if (!p.value().forwarded) proposed_[p.value().index] = Proposed{p.value().term, t.now};
}

void AgentCore::Execute(membership::Effects fx, CoreTime t) {
  for (const membership::Command& c : fx.proposals)
    Propose(c, t);
  if (fx.conf_change) {
    auto p = node_->ProposeConfChange(*fx.conf_change);
    if (p.ok())
      log::Info("membership", "configuration change",
                {{"change", raft::ToString(fx.conf_change->type)},
                 {"member", fx.conf_change->node.value}});
  }
  for (auto& [to, message] : fx.messages) {
    Sign(message, t);
    // To a member whose address this agent knows; else — it heard of the
    // leader through its Raft messages, but its view is too far behind to
    // say where the leader listens (a lost wal tail, an old snapshot) — as
    // when no leader is known: through the seeds, whose answer names the
    // leader's address and who forward the request once.
    if (!to.empty() && (to == options_.self.id || addresses_.count(core::MemberId{to}))) {
      fx_.membership.push_back(MembershipSend{core::MemberId{to}, std::move(message)});
      continue;
    }
    if (!leader_hint_.empty() && t.now < leader_hint_until_ &&
        addresses_.count(core::MemberId{leader_hint_})) {
      log::Debug("membership", "join request", {{"leader", leader_hint_}});
      fx_.membership.push_back(MembershipSend{core::MemberId{leader_hint_}, std::move(message)});
      continue;
    }
    const std::string seed = NextSeed();
    if (seed.empty()) continue;  // no seed to ask (WarnIfJoiningTooLong says so)
    log::Debug("membership",
               std::holds_alternative<membership::JoinRequest>(message) ? "join request"
                                                                        : "rejoin request",
               {{"seed", seed}, {"attempt", std::to_string(coordinator_.join_attempts())}});
    fx_.membership.push_back(MembershipSend{SeedAddress{seed}, std::move(message)});
  }
  if (fx.watch_changed) watch_dirty_ = true;
}

std::string AgentCore::NextSeed() {
  const auto& seeds = options_.seeds;
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    const std::string& s = seeds[next_seed_++ % seeds.size()];
    if (s != options_.self.address && !self_seeds_.count(s)) return s;
  }
  return "";
}

void AgentCore::OnSeedFailed(const std::string& seed, const std::string& reason, bool is_self) {
  if (is_self) {
    if (self_seeds_.insert(seed).second)
      log::Info("membership", "seed is this agent; skipped", {{"seed", seed}});
    return;
  }
  auto [it, fresh] = seed_failures_.try_emplace(seed, reason);
  if (!fresh && it->second == reason) return;
  it->second = reason;
  // A name that does not resolve is most likely a typo in cluster.seeds; a
  // refused connection is common while a cluster starts.
  if (reason.rfind("does not resolve", 0) == 0) {
    log::Warn("membership", "seed does not resolve", {{"seed", seed}, {"error", reason}});
  } else {
    log::Debug("membership", "seed unreachable", {{"seed", seed}, {"error", reason}});
  }
}

void AgentCore::Hint(const std::string& id, const std::string& address) {
  if (id.empty() || address.empty() || id == options_.self.id || view().Find(id)) return;
  hints_[id] = address;
  SetAddress(id, address);
}

void AgentCore::SetAddress(const std::string& id, const std::string& address) {
  if (id == options_.self.id || address.empty()) return;
  auto [it, fresh] = addresses_.try_emplace(core::MemberId{id}, address);
  if (!fresh && it->second == address) return;
  it->second = address;
  fx_.addresses.emplace_back(core::MemberId{id}, address);
}

void AgentCore::SyncAddresses() {
  for (const auto& [id, m] : view().members())
    SetAddress(id, m.info.address);
}

Refusal AgentCore::CheckMessage(const PeerOrigin& from, const membership::PeerMessage& message,
                                CoreTime t) const {
  auto registered = [&](const std::string& id) -> const std::string* {
    const membership::Member* m = view().Find(id);
    return m && !m->info.identity.empty() ? &m->info.identity : nullptr;
  };
  auto signed_by = [&](const std::string& key, const std::string& signature) {
    return core::VerifySignature(key, membership::SignedBytes(message), signature);
  };
  if (const auto* j = std::get_if<membership::JoinRequest>(&message)) {
    // The one message whose sender may bring a key the view does not have
    // yet: a first join, or the return of a member whose old life ended
    // (a replaced disk). Signed by the key it registers.
    if (!j->forwarded && j->info.id != from.id) return Refusal::kBadIdentity;
    if (j->info.identity.empty() || !signed_by(j->info.identity, j->signature))
      return Refusal::kBadIdentity;
    if (!j->forwarded && !core::ConstantTimeEqual(j->info.identity, from.public_key))
      return Refusal::kBadIdentity;
    const membership::Member* m = view().Find(j->info.id);
    if (m && !membership::IdentityMayChange(*m, j->info.identity)) return Refusal::kBadIdentity;
    if (m && j->info.incarnation < m->info.incarnation) return Refusal::kReplay;
    return Refusal::kNone;
  }
  if (Refusal r = CheckOrigin(from); r != Refusal::kNone) return r;
  if (const auto* j = std::get_if<membership::RejoinRequest>(&message)) {
    if (!j->forwarded && j->id != from.id) return Refusal::kBadIdentity;
    if (const std::string* key = registered(j->id); key && !signed_by(*key, j->signature))
      return Refusal::kBadIdentity;
  } else if (const auto* r = std::get_if<membership::ReportMessage>(&message)) {
    if (!r->forwarded && r->report.observer != from.id) return Refusal::kBadIdentity;
    const std::string* key = registered(r->report.observer);
    // Reports count only from members (observers are); from one with a key, signed by it.
    if (!view().Find(r->report.observer)) return Refusal::kBadIdentity;
    if (key && !signed_by(*key, r->signature)) return Refusal::kBadIdentity;
    if (r->sent_ms < t.wall_ms - membership::kMaxReportAgeMs ||
        r->sent_ms > t.wall_ms + membership::kMaxReportAgeMs)
      return Refusal::kReplay;
  } else if (const auto* a = std::get_if<membership::JoinReply>(&message)) {
    if (a->id != from.id) return Refusal::kBadIdentity;
  }
  return Refusal::kNone;
}

void AgentCore::Sign(membership::PeerMessage& message, CoreTime t) const {
  const std::string& self = options_.self.id;
  if (auto* j = std::get_if<membership::JoinRequest>(&message)) {
    if (j->info.id != self || !j->signature.empty()) return;
    j->info.identity = options_.identity.public_key;
    j->signature = options_.identity.Sign(membership::SignedBytes(message));
  } else if (auto* r = std::get_if<membership::RejoinRequest>(&message)) {
    if (r->id != self || !r->signature.empty()) return;
    r->signature = options_.identity.Sign(membership::SignedBytes(message));
  } else if (auto* p = std::get_if<membership::ReportMessage>(&message)) {
    if (p->report.observer != self || !p->signature.empty()) return;
    p->sent_ms = t.wall_ms;
    p->signature = options_.identity.Sign(membership::SignedBytes(message));
  }
}

CoreEffects AgentCore::OnPeerMessage(const PeerOrigin& from, const membership::PeerMessage& message,
                                     CoreTime t, Refusal* refused) {
  if (fatal_ || !node_) return {};
  if (Refusal r = CheckMessage(from, message, t); r != Refusal::kNone) {
    if (refused) *refused = r;
    return {};
  }
  if (const auto* j = std::get_if<membership::JoinRequest>(&message)) {
    if (j->info.id == options_.self.id) return {};  // a seed that is this agent
    // Tell the joiner who answers here and where the leader is: it must
    // answer the Raft messages that will replicate the view to it before
    // it knows any address (and bootstrap voters find each other this way).
    Hint(j->info.id, j->info.address);
    const std::string leader = node_->leader().value;
    const auto at = addresses_.find(core::MemberId{leader});
    fx_.membership.push_back(
        MembershipSend{core::MemberId{j->info.id},
                       membership::JoinReply{options_.self.id, options_.self.address, leader,
                                             leader == options_.self.id ? options_.self.address
                                             : at != addresses_.end()   ? at->second
                                                                        : ""}});
  } else if (const auto* a = std::get_if<membership::JoinReply>(&message)) {
    log::Debug("membership", "join reply", {{"from", a->id}, {"leader", a->leader}});
    Hint(a->id, a->address);
    Hint(a->leader, a->leader_address);
    const bool leader_known =
        !a->leader.empty() && a->leader != options_.self.id && !a->leader_address.empty();
    if (leader_known) {  // ask that leader directly for a while
      leader_hint_ = a->leader;
      leader_hint_until_ = t.now + kLeaderHintFor;
    }
    coordinator_.JoinAnswered(t.now, leader_known);
    return Take();
  }
  Execute(coordinator_.Receive(Facts(), message, t.now, t.wall_ms), t);
  Process(t);
  return Take();
}

void AgentCore::DetectorTick(CoreTime t) {
  const Instant now = t.now;
  const core::Duration interval = options_.detector.heartbeat_interval;
  // Keep the cadence; after falling behind, restart it from now.
  const Instant next = next_detector_tick_ + interval;
  next_detector_tick_ = next > now ? next : now + interval;
  fx_.ticked = true;

  const bool stalled = stall_.Tick(now);
  // Stalls of this loop in the last minute, with when they ended: part of
  // this member's account should it find itself declared dead.
  if (stall_.last_gap() > interval + std::chrono::milliseconds(50)) {
    pauses_.emplace_back(t.wall_ms, stall_.last_gap() - interval);
    if (pauses_.size() > kMaxPauses) pauses_.pop_front();
  }
  while (!pauses_.empty() && pauses_.front().first < t.wall_ms - kAccountWindowMs)
    pauses_.pop_front();
  if (stalled) {
    // The second guard: our own pause must not accuse anyone.
    log::Warn("detector", "observer stalled; restarting every peer's silence",
              {{"bound_seconds", Fixed3(core::ToSeconds(stall_.bound()))}});
    for (auto& [id, w] : watched_)
      w.policy.Resync(now);
  }

  if (!targets_.empty()) {
    Heartbeat h;
    h.sender = options_.self.id;
    h.incarnation = coordinator_.self().incarnation;
    h.sequence = ++heartbeat_sequence_;
    h.send_time_ns = now.time_since_epoch().count();
    h.health = health_;
    for (const auto& [id, rtt] : target_rtt_) {
      if (h.rtt_us.size() >= kMaxHeartbeatRtts) break;
      const auto us = std::chrono::duration_cast<std::chrono::microseconds>(rtt);
      h.rtt_us.emplace_back(id.value, static_cast<uint32_t>(us.count()));
    }
    fx_.heartbeat = std::move(h);
  }

  const std::string leader = node_->leader().value;
  std::optional<bool> leader_suspected;
  std::vector<membership::LocalObservation> observations;
  observations.reserve(watched_.size());
  for (auto& [id, w] : watched_) {
    const detectors::Observation o = w.policy.Observe(now);
    // A refused port after its connection closed (the fast path) holds
    // until the member is heard again.
    const bool suspected = o.suspected || w.refused;
    if (suspected && !w.suspected) {
      fx_.suspected.push_back(core::MemberId{id});
      log::Warn("detector", "peer suspected",
                {{"peer", id},
                 {"reason", detectors::ToString(o.reason)},
                 {"phi", Fixed3(o.phi)},
                 {"silence_seconds", Fixed3(core::ToSeconds(o.silence))}});
    }
    w.suspected = suspected;
    if (id == leader) leader_suspected = suspected;
    membership::LocalObservation lo;
    lo.id = id;
    lo.suspected = suspected;
    lo.path = PathOf(w, o);
    lo.phi = o.phi;
    lo.silence_seconds = core::ToSeconds(o.silence);
    if (w.health)
      lo.health = membership::Health{w.health->load1_per_core, w.health->memory_available_ratio,
                                     w.health->fullest_filesystem_ratio, w.health->agent_cpu_ratio};
    // Probe before suspecting: once phi is half way, or — a member never
    // heard, which phi cannot judge — half way to the timeout.
    const bool probe = suspected || o.phi >= options_.probe_phi ||
                       (!o.heard && o.silence >= options_.detector.timeout / 2);
    if (probe) {
      auto it = probes_.find(id);
      if (it == probes_.end()) {
        probes_[id] = membership::ProbeResult::kNone;
        fx_.probes.push_back(ProbeRequest{core::MemberId{id}, w.address});
      } else {
        lo.probe = it->second;
      }
    } else if (o.phi < options_.probe_phi / 2 && !w.close_probe) {
      probes_.erase(id);  // heard normally again: the next episode probes afresh
    }
    observations.push_back(std::move(lo));
  }
  TrackEpisode(t);
  if (const membership::Member* me = view().Find(options_.self.id);
      me && me->state == membership::MemberState::kDead) {
    // Declared dead: what it says about the time away is what it knew when
    // it found out (its watches change from here on), about the time the
    // verdict speaks of: from when its observers last heard it (with a
    // second's slack for clocks) — an older pause or episode is another
    // story.
    if (!frozen_account_) {
      int64_t since = t.wall_ms - kAccountWindowMs;
      if (me->diagnosis) {
        double silence = 0;
        for (const auto& o : me->diagnosis->observers)
          if (o.suspected) silence = std::max(silence, o.silence_seconds);
        since = me->diagnosis->decided_at_ms - static_cast<int64_t>(silence * 1000) - 1000;
      }
      frozen_account_ = OwnAccount(since);
    }
    coordinator_.SetAccount(*frozen_account_);
  } else {
    frozen_account_.reset();
  }
  // Only a verdict about a known leader: while no leader is known (say,
  // during the pre-vote the suspicion started) the flag stays as it is, so
  // one suspicion episode starts one pre-vote, not one per tick.
  if (leader_suspected && options_.failover_from_detector)
    node_->SetLeaderSuspected(*leader_suspected);

  Execute(coordinator_.Tick(Facts(), now, t.wall_ms, observations), t);
  WarnIfJoiningTooLong(t);
  for (const auto& [id, until] : lingering_)
    if (until <= now) watch_dirty_ = true;
  // The watch follows the committed view once per tick: a burst of applied
  // entries (a catching-up member, a thousand joins) costs one assignment.
  if (watch_dirty_ || node_->leader().value != watched_leader_) UpdateWatch(t);
}

void AgentCore::TrackEpisode(CoreTime t) {
  // An isolation episode: this member suspects most of those it watches.
  // The ones it kept hearing: it watched them when the episode began, never
  // suspected them in it, and their heartbeats came meanwhile (OnHeartbeat).
  // All three: a watch re-planned in the episode (the leader lost, or a new
  // one heard of when the link comes back) starts detectors that suspect
  // nobody before the timeout, yet heard nothing of the isolation; and when
  // the link comes back, heartbeats from everyone arrive before the tick
  // that ends the episode.
  std::size_t suspected = 0;
  for (const auto& [id, w] : watched_)
    suspected += w.suspected ? 1 : 0;
  if (!watched_.empty() && 2 * suspected > watched_.size()) {
    if (episodes_.empty() || !episodes_.back().active) {
      episodes_.push_back(Episode{true, {}, {}, {}, 0});
      if (episodes_.size() > kMaxEpisodes) episodes_.pop_front();
      for (const auto& [id, w] : watched_)
        episodes_.back().watched.insert(id);
    }
    Episode& e = episodes_.back();
    for (const auto& [id, w] : watched_)
      if (w.suspected) e.suspected.insert(id);
    e.last_wall_ms = t.wall_ms;
  } else if (!episodes_.empty()) {
    episodes_.back().active = false;
  }
  while (!episodes_.empty() && !episodes_.front().active &&
         episodes_.front().last_wall_ms < t.wall_ms - kAccountWindowMs)
    episodes_.pop_front();
}

membership::Account AgentCore::OwnAccount(int64_t since_wall_ms) const {
  membership::Account a;
  // The first episode since then is the one the verdict speaks of. A later
  // one is what followed it: back, the member finds the others no longer
  // heartbeat it (it is dead in their views, not yet in its own) while the
  // leader still does — that is no isolation with the leader heard.
  const Episode* episode = nullptr;
  for (const Episode& e : episodes_)
    if (e.active || e.last_wall_ms >= since_wall_ms) {
      episode = &e;
      break;
    }
  a.episode = episode != nullptr;
  if (episode) {
    for (const std::string& id : episode->arrived)
      if (episode->watched.count(id) && !episode->suspected.count(id)) a.heard.push_back(id);
  } else {
    for (const auto& [id, w] : watched_)
      a.heard.push_back(id);  // no episode: it heard them all along
  }
  if (a.heard.size() > membership::kMaxAccountHeard) a.heard.resize(membership::kMaxAccountHeard);
  core::Duration longest{0};
  for (const auto& [ended_ms, pause] : pauses_)
    if (ended_ms >= since_wall_ms) longest = std::max(longest, pause);
  a.longest_pause_ms = static_cast<uint32_t>(std::min<int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(longest).count(), UINT32_MAX));
  return a;
}

void AgentCore::UpdateWatch(CoreTime t) {
  watch_dirty_ = false;
  watched_leader_ = node_->leader().value;
  const WatchPlan plan = PlanWatch(coordinator_, node_->conf(), watched_leader_);

  // Targets that leave the plan linger for a while.
  for (const auto& [id, address] : targets_)
    if (!plan.targets.count(id) && !lingering_.count(id)) {
      lingering_[id] = t.now + options_.linger;
      lingering_addresses_[id] = address;
    }
  for (auto it = lingering_.begin(); it != lingering_.end();) {
    if (it->second > t.now && !plan.targets.count(it->first)) {
      ++it;
      continue;
    }
    lingering_addresses_.erase(it->first);
    it = lingering_.erase(it);
  }
  std::map<core::MemberId, std::string> targets = plan.targets;
  for (const auto& [id, address] : lingering_addresses_)
    targets.emplace(id, address);
  if (targets != targets_) {
    targets_ = std::move(targets);
    fx_.heartbeat_targets_changed = true;
    std::erase_if(target_rtt_, [&](const auto& kv) { return !targets_.count(kv.first); });
  }

  for (auto it = watched_.begin(); it != watched_.end();) {
    if (plan.watched.count(it->first)) {
      ++it;
      continue;
    }
    fx_.unwatched.push_back(core::MemberId{it->first});
    fx_.connections_changed = true;
    probes_.erase(it->first);
    it = watched_.erase(it);
  }
  for (const auto& [id, address] : plan.watched) {
    const membership::Member* m = view().Find(id);
    const uint64_t life = m ? m->info.incarnation : 0;
    auto it = watched_.find(id);
    if (it != watched_.end() && it->second.view_incarnation != life) {
      // A new life (back from a restart): judged afresh, not by the silence
      // of the restart itself.
      probes_.erase(id);
      watched_.erase(it);
      it = watched_.end();
    }
    if (it == watched_.end()) {
      it = watched_.emplace(id, Watched(address, options_.detector, t.now)).first;
      fx_.connections_changed = true;
      it->second.view_incarnation = life;
    } else {
      it->second.address = address;
    }
  }
}

AgentCore::HeartbeatReceipt AgentCore::OnHeartbeat(const PeerOrigin& from, const Heartbeat& h,
                                                   CoreTime t) {
  HeartbeatReceipt r;
  if (h.sender != from.id || h.incarnation != from.incarnation) {
    r.refused = Refusal::kBadIdentity;
    return r;
  }
  if (r.refused = CheckOrigin(from); r.refused != Refusal::kNone) return r;
  if (h.sender == options_.self.id) return r;  // our own, come back
  r.ack = h.sequence % kAckEvery == 0;
  auto it = watched_.find(h.sender);
  if (it == watched_.end()) return r;  // not watched by this agent: acked only
  Watched& w = it->second;
  if (h.incarnation < w.incarnation) return r;  // a delayed heartbeat of an earlier life
  r.watched = true;
  w.incarnation = h.incarnation;
  if (h.health) w.health = h.health;
  if (const auto last = w.policy.phi().last_heartbeat())
    r.interval_seconds = core::ToSeconds(t.now - *last);
  if (w.policy.Heartbeat(t.now) || w.refused)
    log::Info("detector", "peer suspicion cleared", {{"peer", h.sender}});
  w.suspected = false;
  w.refused = false;  // heard: whatever closed, it is there
  w.close_probe = false;
  w.close_probes = 0;
  w.reprobe_at.reset();
  // The round trip the member measured to this agent, unless this agent
  // measures it itself (it heartbeats the member too, and gets acks).
  if (!targets_.count(core::MemberId{h.sender})) {
    for (const auto& [receiver, us] : h.rtt_us) {
      if (receiver != options_.self.id) continue;
      w.rtt = std::chrono::microseconds(us);
      r.rtt_seconds = static_cast<double>(us) / 1e6;
      break;
    }
  }
  w.arrivals.push_back(t.now);
  if (w.arrivals.size() > kArrivalHistory) w.arrivals.pop_front();
  if (!episodes_.empty() && episodes_.back().active)
    episodes_.back().arrived.insert(h.sender);  // bounded by watched_
  return r;
}

AgentCore::AckReceipt AgentCore::OnAck(const HeartbeatAck& a, CoreTime t) {
  AckReceipt r;
  const core::Duration rtt = t.now.time_since_epoch() - core::Duration(a.echoed_send_time_ns);
  if (rtt < core::Duration::zero() || rtt > std::chrono::seconds(60)) return r;  // not our echo
  r.valid = true;
  r.rtt_seconds = core::ToSeconds(rtt);
  if (targets_.count(core::MemberId{a.sender})) target_rtt_[core::MemberId{a.sender}] = rtt;
  auto it = watched_.find(a.sender);
  if (it != watched_.end()) {
    it->second.rtt = rtt;
    r.watched = true;
  }
  return r;
}

CoreEffects AgentCore::OnProbeResult(const core::MemberId& id, membership::ProbeResult result,
                                     CoreTime t) {
  auto it = probes_.find(id.value);
  if (it != probes_.end()) it->second = result;  // still the same suspicion episode
  auto w = watched_.find(id.value);
  if (w == watched_.end() || !w->second.close_probe || !node_) return Take();
  w->second.close_probe = false;
  if (result != membership::ProbeResult::kRefused) {
    // Closed, yet the port accepts: the member restarted, the connection
    // was closed for another reason — or its process is still dying (its
    // listener goes after its connections). Asked again shortly, a few
    // times; a port that keeps accepting is not evidence.
    if (w->second.close_probes < kCloseProbes) {
      w->second.reprobe_at = t.now + kReprobeDelay * w->second.close_probes;
    } else {
      log::Debug("detector", "peer connection closed; its port still accepts",
                 {{"peer", id.value}, {"probe", membership::ToString(result)}});
    }
    return Take();
  }
  // Its planned restart (or leave) committed meanwhile: it closed by plan.
  if (!AliveInView(id.value)) return Take();
  // The process is gone: the kernel closed its connection and refuses its
  // port. Suspected now, reported now.
  Watched& watched = w->second;
  watched.refused = true;
  const detectors::Observation o = watched.policy.Observe(t.now);
  if (!watched.suspected) {
    fx_.suspected.push_back(id);
    log::Warn("detector", "peer suspected",
              {{"peer", id.value},
               {"reason", "fast"},
               {"phi", Fixed3(o.phi)},
               {"silence_seconds", Fixed3(core::ToSeconds(o.silence))}});
  }
  watched.suspected = true;
  probes_[id.value] = result;
  membership::LocalObservation lo;
  lo.id = id.value;
  lo.suspected = true;
  lo.path = membership::DetectionPath::kFast;
  lo.phi = o.phi;
  lo.silence_seconds = core::ToSeconds(o.silence);
  lo.probe = result;
  if (watched.health)
    lo.health = membership::Health{
        watched.health->load1_per_core, watched.health->memory_available_ratio,
        watched.health->fullest_filesystem_ratio, watched.health->agent_cpu_ratio};
  Execute(coordinator_.Observe(Facts(), t.now, t.wall_ms, {lo}), t);
  // Its leader: the pre-vote need not wait for phi.
  if (id.value == node_->leader().value && options_.failover_from_detector)
    node_->SetLeaderSuspected(true);
  Process(t);
  return Take();
}

CoreEffects AgentCore::OnConnectionClosed(const core::MemberId& id, bool by_plan, CoreTime) {
  auto w = watched_.find(id.value);
  if (w == watched_.end() || by_plan || w->second.refused || w->second.close_probe ||
      w->second.reprobe_at || !AliveInView(id.value))
    return Take();
  w->second.close_probes = 0;
  CloseProbe(id.value, w->second);
  return Take();
}

void AgentCore::CloseProbe(const std::string& id, Watched& w) {
  w.close_probe = true;
  ++w.close_probes;
  // A probe of its own: the result of an earlier one (say, "connected" while
  // phi rose) says nothing about now. (A probe already running answers for
  // both.)
  auto p = probes_.find(id);
  if (p == probes_.end() || p->second != membership::ProbeResult::kNone) {
    probes_[id] = membership::ProbeResult::kNone;
    fx_.probes.push_back(ProbeRequest{core::MemberId{id}, w.address});
  }
}

bool AgentCore::AliveInView(const std::string& id) const {
  // A member restarting by plan, leaving or gone closes its connections by
  // plan: no evidence (its watch ends at the next tick).
  const membership::Member* m = view().Find(id);
  return m && m->state == membership::MemberState::kAlive;
}

std::vector<core::MemberId> AgentCore::HeldConnections() const {
  std::vector<core::MemberId> out;
  out.reserve(watched_.size());
  for (const auto& [id, w] : watched_)
    out.push_back(core::MemberId{id});
  return out;
}

membership::DetectionPath AgentCore::PathOf(const Watched& w, const detectors::Observation& o) {
  if (w.refused) return membership::DetectionPath::kFast;
  if (!o.suspected) return membership::DetectionPath::kNone;
  return o.reason == detectors::SuspectReason::kTimeout ? membership::DetectionPath::kTimeout
                                                        : membership::DetectionPath::kPhi;
}

CoreEffects AgentCore::Stop(StopMode mode, uint64_t token, CoreTime t) {
  if (fatal_ || !node_) return {};
  if (stop_) {
    if (token) fx_.completions.push_back({token, 409, "the agent is already stopping"});
    return Take();
  }
  if (mode == StopMode::kLeave && token && !coordinator_.Alive()) {
    fx_.completions.push_back({token, 409, "this agent is not an alive member of the view"});
    return Take();
  }
  stop_ = StopState{};
  stop_->mode = mode;
  stop_->token = token;
  stop_->transfer_ticks_left = election_ticks_;
  if (node_->role() == raft::Role::kLeader) {
    // The most up-to-date voter takes over, so the cluster does not wait an
    // election timeout for a new leader.
    raft::Status s = node_->GetStatus();
    const raft::PeerStatus* best = nullptr;
    for (const auto& p : s.peers)
      if (p.voter && (!best || p.match > best->match)) best = &p;
    if (best && !node_->TransferLeadership(best->id)) {
      stop_->transferring = true;
      log::Info("raft", "transferring leadership", {{"to", best->id.value}});
    }
  }
  StepStop(t);
  Process(t);
  return Take();
}

void AgentCore::StepStop(CoreTime t) {
  if (!stop_ || fx_.stopped) return;
  const bool leave = stop_->mode == StopMode::kLeave;
  if (stop_->phase == StopPhase::kTransfer) {
    if (stop_->transferring) {
      const bool moved = node_->role() != raft::Role::kLeader;
      if (!moved && stop_->transfer_ticks_left > 0) return;
      log::Info("raft", moved ? "leadership transferred" : "leadership transfer timed out",
                {{"leader", node_->leader().value}});
    }
    stop_->phase = StopPhase::kAnnounce;
    if (!coordinator_.Alive()) return FinishStop(false);
    log::Info("membership", leave ? "leaving the cluster"
                                  : "planned restart: announcing it (the ring stays as it is)");
    stop_->deadline = t.now + options_.leave_timeout;
  }
  if (t.now >= stop_->next_proposal) {
    // Right after a hand-over no leader may be known yet, and a proposal
    // forwarded to a leader that just lost its post is lost: propose again
    // (both commands are idempotent) every other heartbeat interval until
    // it is applied or the deadline passes.
    const membership::Command c =
        leave ? coordinator_.Leave(t.wall_ms) : coordinator_.Restarting(t.wall_ms);
    auto p = node_->Propose(membership::EncodeCommand(c));
    stop_->next_proposal = t.now + (p.ok() ? 2 * options_.detector.heartbeat_interval
                                           : options_.detector.heartbeat_interval / 4);
    if (!p.ok())
      log::Debug("membership", leave ? "leave not proposed yet" : "restart notice not proposed yet",
                 {{"reason", p.error().detail}});
  }
  const membership::Member* me = view().Find(options_.self.id);
  const bool done = leave ? (!me || me->state == membership::MemberState::kLeft)
                          : (!me || me->state != membership::MemberState::kAlive ||
                             me->info.incarnation != options_.self.incarnation);
  if (done) return FinishStop(true);
  if (t.now >= stop_->deadline) {
    log::Info("membership",
              leave ? "leave not confirmed in time" : "restart notice not confirmed in time");
    FinishStop(false);
  }
}

void AgentCore::FinishStop(bool announced) {
  const bool leave = stop_->mode == StopMode::kLeave;
  if (announced)
    log::Info("agent", leave ? "left the cluster"
                             : "restart announced; the member is `restarting` until it returns");
  if (stop_->token) {
    if (leave) {
      fx_.completions.push_back(
          announced ? Completion{stop_->token, 200, "left the cluster; the agent is stopping"}
                    : Completion{stop_->token, 409,
                                 "not left: the leave did not commit in time; the agent is "
                                 "stopping"});
    } else {
      fx_.completions.push_back(
          announced ? Completion{stop_->token, 200, "restart announced; the agent is stopping"}
                    : Completion{stop_->token, 409,
                                 "restart not announced in time; the agent is stopping"});
    }
  }
  fx_.stopped = true;
  stop_->token = 0;
}

CoreEffects AgentCore::Remove(const core::MemberId& member, uint64_t token, CoreTime t) {
  if (fatal_ || !node_) return {};
  const std::string& id = member.value;
  const membership::Member* m = view().Find(id);
  if (!m) {
    fx_.completions.push_back({token, 404, "no member " + id + " in the committed view"});
  } else if (membership::InRing(m->state)) {
    fx_.completions.push_back({token, 409,
                               "member " + id + " is " + membership::ToString(m->state) +
                                   "; only dead or left members can be removed"});
  } else {
    auto p = node_->Propose(
        membership::EncodeCommand(membership::Command{t.wall_ms, membership::Remove{id}}));
    if (!p.ok()) {
      fx_.completions.push_back({token, 503, "cannot propose the removal: " + p.error().detail});
    } else {
      log::Info("membership", "removing member", {{"member", id}});
      removals_.push_back({id, token, t.now + options_.remove_timeout});
    }
  }
  Process(t);
  return Take();
}

CoreEffects AgentCore::AcquireLock(const LockRequest& request, uint64_t token, CoreTime t) {
  if (fatal_ || !node_) return {};
  LockRequests::Output out;
  locks_.Acquire(request, token, view(), self(), coordinator_.Alive() && !stop_, !leader().empty(),
                 t.now, t.wall_ms, out);
  Perform(std::move(out), t);
  Process(t);
  return Take();
}

CoreEffects AgentCore::RenewLock(const std::string& name, uint64_t lock_token, uint64_t token,
                                 CoreTime t) {
  if (fatal_ || !node_) return {};
  LockRequests::Output out;
  locks_.Renew(name, lock_token, token, view(), !leader().empty(), t.now, t.wall_ms, out);
  Perform(std::move(out), t);
  Process(t);
  return Take();
}

CoreEffects AgentCore::ReleaseLock(const std::string& name, uint64_t lock_token, uint64_t token,
                                   CoreTime t) {
  if (fatal_ || !node_) return {};
  LockRequests::Output out;
  locks_.Release(name, lock_token, token, view(), !leader().empty(), t.now, t.wall_ms, out);
  Perform(std::move(out), t);
  Process(t);
  return Take();
}

void AgentCore::Perform(LockRequests::Output out, CoreTime t) {
  for (const membership::Command& c : out.proposals)
    Propose(c, t);
  for (Completion& c : out.completions)
    fx_.completions.push_back(std::move(c));
  fx_.lock_handovers.insert(fx_.lock_handovers.end(), out.handovers.begin(), out.handovers.end());
}

void AgentCore::CheckProgress(CoreTime t) {
  for (auto it = removals_.begin(); it != removals_.end();) {
    if (!view().Find(it->id)) {
      fx_.completions.push_back({it->token, 200, "removed " + it->id});
    } else if (t.now >= it->deadline) {
      fx_.completions.push_back(
          {it->token, 504, "the removal of " + it->id + " was not committed in time (no quorum?)"});
    } else {
      ++it;
      continue;
    }
    it = removals_.erase(it);
  }
  if (stop_ && stop_->phase == StopPhase::kAnnounce) StepStop(t);
  if (locks_.pending() || !view().locks().locks().empty()) {
    LockRequests::Output out;
    locks_.Check(view(), self(), coordinator_.Alive(), t.now, t.wall_ms, out);
    Perform(std::move(out), t);
  }
  if (!ready_notified_ && !stop_) {
    if (coordinator_.Alive()) {
      ready_notified_ = true;
      fx_.ready = ReadyNotice::kMember;
    } else if (t.now - started_ >= options_.ready_fallback) {
      ready_notified_ = true;
      fx_.ready = ReadyNotice::kStillJoining;
    }
  }
}

void AgentCore::WarnIfJoiningTooLong(CoreTime t) {
  if (coordinator_.Alive() || stop_) {
    joining_since_.reset();
    next_join_warning_.reset();
    return;
  }
  if (!joining_since_) joining_since_ = t.now;
  if (t.now - *joining_since_ < options_.join_warning_after) return;
  if (next_join_warning_ && t.now < *next_join_warning_) return;
  next_join_warning_ = t.now + options_.join_warning_every;
  log::Warn("membership", "not a member of the cluster yet",
            {{"seconds", Fixed3(core::ToSeconds(t.now - *joining_since_))},
             {"attempts", std::to_string(coordinator_.join_attempts())},
             {"reason", JoinStatus()}});
}

std::string AgentCore::JoinStatus() const {
  const membership::Member* me = view().Find(options_.self.id);
  if (me && me->state == membership::MemberState::kDead)
    return "declared dead in the committed view; asking the leader to readmit this member";
  if (me && me->state == membership::MemberState::kLeft)
    return "this member left the cluster; start it with a new id or remove it first";
  if (me && me->state == membership::MemberState::kRestarting &&
      me->info.incarnation != options_.self.incarnation && !node_->leader().empty())
    return "back from a planned restart; leader " + node_->leader().value +
           " has not admitted the return yet";
  const std::string leader = node_->leader().value;
  if (!leader.empty() && leader != options_.self.id)
    return "leader " + leader + " is known but has not admitted this member yet";
  std::string seeds;
  for (const std::string& s : options_.seeds) {
    if (!seeds.empty()) seeds += "; ";
    seeds += s;
    if (s == options_.self.address || self_seeds_.count(s)) {
      seeds += ": this agent";
    } else if (auto it = seed_failures_.find(s); it != seed_failures_.end()) {
      seeds += ": " + it->second;
    } else {
      seeds += ": no member answered through it";
    }
  }
  if (seeds.empty()) return "no leader known and cluster.seeds is empty";
  return "no leader known; seeds: " + seeds;
}

bool AgentCore::Ready() const {
  return coordinator_.Alive() && node_ && !node_->leader().empty();
}

std::string AgentCore::NotReadyReason() const {
  if (Ready()) return "";
  const membership::Member* me = view().Find(options_.self.id);
  if (me && me->state == membership::MemberState::kDead)
    return "this member is declared dead in the committed view; rejoining";
  if (me && me->state == membership::MemberState::kLeft) return "this member has left the cluster";
  if (me && me->state == membership::MemberState::kRestarting &&
      me->info.incarnation != options_.self.incarnation)
    return "back from a planned restart; returning";
  if (!coordinator_.Alive()) return "not a member of the committed view yet (joining)";
  return "no Raft leader known";
}

RaftView AgentCore::Raft() const {
  RaftView v;
  if (!node_) return v;
  raft::Status s = node_->GetStatus();
  v.role = raft::ToString(s.role);
  v.term = s.term.value;
  v.leader = s.leader.value;
  v.commit_index = s.commit.value;
  v.applied_index = s.applied.value;
  v.last_index = s.last_index.value;
  v.snapshot_index = s.snapshot_index.value;
  v.voters = Names(s.conf.voters);
  v.learners = Names(s.conf.learners);
  v.quarantined = node_->quarantined();
  return v;
}

std::vector<PeerView> AgentCore::Peers(Instant now) const {
  std::vector<PeerView> out;
  out.reserve(watched_.size());
  for (const auto& [id, w] : watched_) {
    const detectors::Observation o = w.policy.Observe(now);
    PeerView v;
    v.id = id;
    v.address = w.address;
    v.incarnation = w.incarnation;
    v.heard = o.heard;
    v.phi = o.phi;
    v.silence_seconds = core::ToSeconds(o.silence);
    if (w.rtt) v.rtt_seconds = core::ToSeconds(*w.rtt);
    v.suspected = o.suspected || w.refused;
    v.suspected_by = w.refused ? "fast" : o.suspected ? detectors::ToString(o.reason) : "";
    v.health = w.health;
    out.push_back(std::move(v));
  }
  return out;
}

std::optional<std::vector<double>> AgentCore::Arrivals(const core::MemberId& id) const {
  auto it = watched_.find(id.value);
  if (it == watched_.end()) return std::nullopt;
  std::vector<double> out;
  out.reserve(it->second.arrivals.size());
  for (const auto& a : it->second.arrivals)
    out.push_back(core::ToSeconds(a.time_since_epoch()));
  return out;
}

}  // namespace ringwatch::agent
