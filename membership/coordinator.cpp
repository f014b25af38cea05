#include "membership/coordinator.h"

#include <algorithm>

#include "core/log.h"
#include "raft/codec.h"

namespace ringwatch::membership {

Coordinator::Coordinator(CoordinatorOptions options)
    : options_(std::move(options)),
      aggregator_({options_.confirmations,
                   // Reports are repeated every interval; three missed ones retire it.
                   3 * options_.heartbeat_interval, 20 * options_.heartbeat_interval,
                   // Observers probe before they suspect, and their next report (one
                   // interval on) carries the result: wait up to two intervals for it.
                   2 * options_.heartbeat_interval}),
      random_state_(options_.random_seed * 0x9E3779B97F4A7C15ull + 1) {}

bool Coordinator::Alive() const {
  const Member* me = view_.Find(options_.self.id);
  return me && me->state == MemberState::kAlive &&
         me->info.incarnation == options_.self.incarnation;
}

const Observers& Coordinator::observers() const {
  if (observers_dirty_) {
    // Members away for a planned restart keep their observers and subjects:
    // a rolling restart does not reshuffle who watches whom.
    observers_ = Observers::Compute(view_.InRingIds(), options_.observers);
    observers_dirty_ = false;
  }
  return observers_;
}

bool Coordinator::Apply(const raft::Entry& entry) {
  switch (entry.type) {
    case raft::EntryType::kBootstrap:
      if (auto conf = raft::DecodeConfState(entry.data)) {
        conf_ = *conf;
        for (const raft::NodeId& v : conf_.voters)
          view_.VoterAdded(v.value);
      }
      return false;
    case raft::EntryType::kConfChange:
      if (auto change = raft::DecodeConfChange(entry.data)) {
        bool was_voter = conf_.voters.count(change->node) > 0;
        switch (change->type) {
          case raft::ConfChangeType::kAddLearner:
            if (!conf_.Contains(change->node)) conf_.learners.insert(change->node);
            break;
          case raft::ConfChangeType::kPromote:
            if (conf_.learners.erase(change->node)) {
              conf_.voters.insert(change->node);
              view_.VoterAdded(change->node.value);
            }
            break;
          case raft::ConfChangeType::kRemove:
            conf_.voters.erase(change->node);
            conf_.learners.erase(change->node);
            if (was_voter) view_.VoterRemoved(change->node.value);
            break;
        }
      }
      return false;
    case raft::EntryType::kNormal:
      if (auto command = DecodeCommand(entry.data)) {
        View::Change change = view_.Apply(*command, entry.index.value);
        lock_changes_.insert(lock_changes_.end(), change.locks.begin(), change.locks.end());
        if (change.member_changed) {
          Recompute();
          return true;
        }
      } else {
        // Malformed or out of bounds (an entry written by an agent that did
        // not check, or forged into an old log): the same no-op everywhere.
        log::Warn("membership", "committed entry refused (malformed or out of bounds); ignored",
                  {{"index", std::to_string(entry.index.value)}});
      }
      return false;
    case raft::EntryType::kEmpty:
      return false;
  }
  return false;
}

bool Coordinator::Restore(const raft::Snapshot& snapshot) {
  conf_ = snapshot.conf;
  if (snapshot.data.empty()) {
    view_ = View{};
  } else if (auto v = View::Decode(snapshot.data)) {
    view_ = std::move(*v);
  } else {
    return false;
  }
  Recompute();
  return true;
}

Command Coordinator::Leave(int64_t wall_ms) {
  leaving_ = true;
  return Command{wall_ms, membership::Leave{options_.self.id}};
}

Command Coordinator::Restarting(int64_t wall_ms) {
  leaving_ = true;
  return Command{wall_ms, membership::Restarting{options_.self.id, options_.self.incarnation}};
}

std::vector<MemberInfo> Coordinator::HeartbeatTargets() const {
  std::vector<MemberInfo> out;
  for (const std::string& id : observers().Of(options_.self.id))
    if (const Member* m = view_.Find(id)) out.push_back(m->info);
  return out;
}

std::vector<MemberInfo> Coordinator::Watched() const {
  std::vector<MemberInfo> out;
  for (const std::string& id : observers().SubjectsOf(options_.self.id))
    if (const Member* m = view_.Find(id)) out.push_back(m->info);
  return out;
}

void Coordinator::Route(const RaftFacts& raft, PeerMessage m, Effects& fx) {
  if (!raft.leader.empty() && raft.leader != options_.self.id) {
    fx.messages.emplace_back(raft.leader, std::move(m));
  } else if (raft.leader.empty() && !std::holds_alternative<ReportMessage>(m)) {
    // No leader known — a new agent, or one cut off and perhaps removed from
    // the Raft configuration meanwhile: ask the seeds, who forward once.
    fx.messages.emplace_back("", std::move(m));
  }
}

void Coordinator::JoinAnswered(core::Instant now, bool leader_known) {
  if (Alive()) return;
  const core::Duration wait =
      leader_known ? options_.join_backoff_min
                   : std::min<core::Duration>(std::chrono::seconds(1), options_.join_backoff_max);
  join_attempts_ = std::min<uint32_t>(join_attempts_, leader_known ? 0 : 2);
  if (next_join_ && *next_join_ > now + wait) next_join_ = now + wait;
}

core::Duration Coordinator::JoinBackoff() {
  const uint32_t doublings = std::min<uint32_t>(join_attempts_, 20);
  core::Duration wait = options_.join_backoff_max;
  if (options_.join_backoff_min * (int64_t{1} << doublings) < wait)
    wait = options_.join_backoff_min * (int64_t{1} << doublings);
  // splitmix64: the jitter replays exactly from the seed.
  uint64_t z = (random_state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  const auto half = wait.count() / 2;
  return wait -
         core::Duration(half > 0 ? static_cast<int64_t>(z % static_cast<uint64_t>(half)) : 0);
}

Effects Coordinator::Tick(const RaftFacts& raft, core::Instant now, int64_t wall_ms,
                          const std::vector<LocalObservation>& observations) {
  Effects fx;
  BeginTerm(raft, wall_ms, fx);  // before this tick's own reports reach the aggregator
  MemberInfo& self = options_.self;
  const Member* me = view_.Find(self.id);
  if (!raft.leader.empty()) {
    leaderless_since_.reset();
  } else if (!leaderless_since_) {
    leaderless_since_ = now;
  }
  const bool lost = leaderless_since_ && now - *leaderless_since_ >= kLeaderlessRejoin;
  if (Alive() && !raft.quarantined && !lost) {
    next_join_.reset();
    join_attempts_ = 0;
  }
  if (!leaving_) {
    if (me && me->state == MemberState::kDead) {
      // Declared dead while alive (paused, partitioned): come back as a new
      // incarnation, after the leader's probation.
      if (me->info.incarnation >= self.incarnation) self.incarnation = me->info.incarnation + 1;
      RejoinRequest r{self.id, self.incarnation, false, {}, account_};
      // This process held the incarnation that died, or it started after.
      r.account.restarted = me->info.incarnation < start_incarnation_;
      if (raft.is_leader) {
        OnRejoin(r, now, wall_ms, fx);
      } else {
        Route(raft, r, fx);
      }
    } else if (!me || me->info.incarnation < self.incarnation || raft.quarantined || lost) {
      // (Quarantined: the join requests say so, until the leader has taken
      // the old Raft identity out of the configuration.)
      if (me && me->state != MemberState::kAlive && me->info.incarnation >= self.incarnation)
        self.incarnation = me->info.incarnation + 1;
      if (!next_join_ || now >= *next_join_) {
        next_join_ = now + JoinBackoff();
        ++join_attempts_;
        if (raft.is_leader) {
          fx.proposals.push_back(Command{wall_ms, AddMember{self}});
        } else {
          Route(raft, JoinRequest{self, false, raft.quarantined, {}}, fx);
        }
      }
    }
  }

  ReportObservations(raft, now, observations, fx);

  if (raft.is_leader) {
    LeaderDuties(raft, now, wall_ms, fx);
  } else {
    aggregator_.Clear();
    rejoining_.clear();
    joins_proposed_.clear();
    stopped_proposed_.clear();
    revisions_proposed_.clear();
  }
  return fx;
}

void Coordinator::ReportObservations(const RaftFacts& raft, core::Instant now,
                                     const std::vector<LocalObservation>& observations,
                                     Effects& fx) {
  // Reports about the members this agent watches: repeated while suspected,
  // one clearing report when the suspicion ends.
  const MemberInfo& self = options_.self;
  for (const LocalObservation& o : observations) {
    const Member* m = view_.Find(o.id);
    if (!m || m->state != MemberState::kAlive) {
      suspected_.erase(o.id);
      continue;
    }
    bool was = suspected_.count(o.id) > 0;
    if (!o.suspected && !was) continue;
    Report r;
    r.observer = self.id;
    r.subject = o.id;
    // Reports speak of the member as the committed view knows it. A newer
    // life it heard (a restart whose re-join has not committed yet) that
    // falls silent too leaves the view's life no less dead; reporting the
    // newer incarnation would never match the view, and a member that
    // restarted and died before its re-join committed would never be
    // declared dead.
    r.incarnation = m->info.incarnation;
    r.suspected = o.suspected;
    r.phi = o.phi;
    r.silence_seconds = o.silence_seconds;
    r.probe = o.probe;
    r.health = o.health;
    r.path = o.path;
    if (o.suspected) {
      suspected_.insert(o.id);
    } else {
      suspected_.erase(o.id);
    }
    if (raft.is_leader) {
      aggregator_.Receive(r, now);
    } else {
      Route(raft, ReportMessage{r, false, 0, {}}, fx);
    }
  }
}

Effects Coordinator::Observe(const RaftFacts& raft, core::Instant now, int64_t wall_ms,
                             const std::vector<LocalObservation>& observations) {
  Effects fx;
  BeginTerm(raft, wall_ms, fx);
  ReportObservations(raft, now, observations, fx);
  if (raft.is_leader)
    for (Decision& d : aggregator_.Decide(view_, observers(), now, wall_ms))
      fx.proposals.push_back(
          Command{wall_ms, MarkDead{d.subject, d.incarnation, std::move(d.diagnosis)}});
  return fx;
}

void Coordinator::BeginTerm(const RaftFacts& raft, int64_t wall_ms, Effects& fx) {
  if (!raft.is_leader || raft.term == led_term_) return;
  // A new term as leader: decisions start from the reports of this term.
  led_term_ = raft.term;
  aggregator_.Clear();
  fx.proposals.push_back(Command{wall_ms, LeaderElected{options_.self.id, raft.term}});
}

void Coordinator::LeaderDuties(const RaftFacts& raft, core::Instant now, int64_t wall_ms,
                               Effects& fx) {
  BeginTerm(raft, wall_ms, fx);
  for (Decision& d : aggregator_.Decide(view_, observers(), now, wall_ms))
    fx.proposals.push_back(
        Command{wall_ms, MarkDead{d.subject, d.incarnation, std::move(d.diagnosis)}});

  // Readmit members whose rejoin requests came steadily for their probation,
  // doubled for every recent flap (at most 64 times).
  for (auto it = rejoining_.begin(); it != rejoining_.end();) {
    const Member* m = view_.Find(it->first);
    const Probation& p = it->second;
    if (!m || m->state != MemberState::kDead || p.incarnation <= m->info.incarnation ||
        now - p.last > 5 * options_.heartbeat_interval) {
      it = rejoining_.erase(it);
      continue;
    }
    auto probation = options_.rejoin_probation * (1u << std::min<uint32_t>(m->flaps, 6));
    if (p.last - p.first >= probation) {
      fx.proposals.push_back(Command{wall_ms, MarkAlive{it->first, p.incarnation}});
      it = rejoining_.erase(it);
      continue;
    }
    ++it;
  }

  // Planned restarts that did not come back within the grace: dead, class
  // `stopped` (proposed again after a second if the first is lost).
  const int64_t grace_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.restart_grace).count();
  const int64_t view_now = std::max(wall_ms, view_.last_time_ms());
  for (const auto& [id, m] : view_.members()) {
    if (m.state != MemberState::kRestarting) {
      stopped_proposed_.erase(id);
      continue;
    }
    if (view_now - m.since_ms < grace_ms) continue;
    auto [it, fresh] = stopped_proposed_.try_emplace(id, now);
    if (!fresh && now - it->second < options_.join_retry) continue;
    it->second = now;
    Diagnosis d;
    d.cls = DiagnosisClass::kStopped;
    d.decided_at_ms = view_now;
    fx.proposals.push_back(Command{wall_ms, MarkDead{id, m.info.incarnation, std::move(d)}});
  }

  Autopilot(wall_ms, fx);
}

void Coordinator::Autopilot(int64_t wall_ms, Effects& fx) {
  AutopilotInput in;
  in.view = &view_;
  in.conf = conf_;
  in.leader = options_.self.id;
  in.target_voters = options_.target_voters;
  in.now_ms = std::max(wall_ms, view_.last_time_ms());
  for (const auto& [id, version] : view_.removed())
    in.removed.insert(id);
  in.stabilization_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(options_.stabilization).count();
  in.departure_grace_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(10 * options_.heartbeat_interval)
          .count();
  if (auto step = NextVoterChange(in)) fx.conf_change = step->change;
}

Effects Coordinator::AfterApply(const RaftFacts& raft, int64_t wall_ms) {
  Effects fx;
  if (raft.is_leader && led_term_ == raft.term) Autopilot(wall_ms, fx);
  return fx;
}

void Coordinator::OnRejoin(const RejoinRequest& r, core::Instant now, int64_t wall_ms,
                           Effects& fx) {
  // Its account revises the verdict on its death, once (proposed again
  // after join_retry if lost; applied only while it is still dead).
  const Member* m = view_.Find(r.id);
  if (m && m->state == MemberState::kDead && m->diagnosis && IsVerdict(m->diagnosis->cls) &&
      !m->diagnosis->revision) {
    auto [at, fresh] = revisions_proposed_.try_emplace(r.id, now);
    if (fresh || now - at->second >= options_.join_retry) {
      at->second = now;
      Revision revision;
      revision.cls = ReviseClass(*m->diagnosis, r.account);
      revision.account = r.account;
      fx.proposals.push_back(Command{wall_ms, Revise{r.id, m->info.incarnation, revision}});
    }
  }
  auto [it, fresh] = rejoining_.try_emplace(r.id, Probation{r.incarnation, now, now});
  if (!fresh) {
    if (it->second.incarnation != r.incarnation) it->second = Probation{r.incarnation, now, now};
    it->second.last = now;
  }
}

Effects Coordinator::Receive(const RaftFacts& raft, const PeerMessage& message, core::Instant now,
                             int64_t wall_ms) {
  Effects fx;
  if (std::holds_alternative<JoinReply>(message)) return fx;  // the embedding's
  if (!raft.is_leader) {
    // One hop to the leader; a forwarded request is not forwarded again.
    bool forwarded = std::visit([](const auto& m) { return m.forwarded; }, message);
    if (!forwarded && !raft.leader.empty() && raft.leader != options_.self.id) {
      PeerMessage copy = message;
      std::visit([](auto& m) { m.forwarded = true; }, copy);
      fx.messages.emplace_back(raft.leader, std::move(copy));
    }
    return fx;
  }
  BeginTerm(raft, wall_ms, fx);
  if (const auto* j = std::get_if<JoinRequest>(&message)) {
    if (j->info.id == options_.self.id) return fx;
    const Member* m = view_.Find(j->info.id);
    // A dead member comes back through a rejoin and its probation, not a
    // join. One that asks to join does not know it is dead — it lost its
    // Raft state, or was cut off and taken out of the configuration
    // meanwhile: as a learner it receives the view, sees itself dead and
    // asks to rejoin. (One with a new identity — a replaced disk, its key
    // gone with it — cannot prove it is the member that died: it joins anew.)
    if (m && m->state == MemberState::kDead && j->info.identity == m->info.identity) {
      if (!conf_.Contains(raft::NodeId{j->info.id}))
        fx.conf_change = raft::ConfChange{raft::ConfChangeType::kAddLearner,
                                          raft::NodeId{j->info.id}, m->info.address};
      return fx;
    }
    if (j->lost_state && m && conf_.voters.count(raft::NodeId{j->info.id})) {
      // A member the view knows lost its Raft state: its old identity — its
      // votes, the entries it acknowledged — is gone. Out of the
      // configuration with it; autopilot adds the member again as a learner,
      // and promotes it in time. (One the view never had has no old
      // identity: a bootstrap voter of a new cluster; it is admitted as is.)
      fx.conf_change =
          raft::ConfChange{raft::ConfChangeType::kRemove, raft::NodeId{j->info.id}, ""};
    }
    if (m && m->info.incarnation >= j->info.incarnation) return fx;  // nothing new

    auto it = joins_proposed_.find(j->info.id);
    if (it != joins_proposed_.end() && now - it->second < options_.join_retry) return fx;
    joins_proposed_[j->info.id] = now;
    fx.proposals.push_back(Command{wall_ms, AddMember{j->info}});
  } else if (const auto* r = std::get_if<RejoinRequest>(&message)) {
    OnRejoin(*r, now, wall_ms, fx);
  } else if (const auto* rep = std::get_if<ReportMessage>(&message)) {
    aggregator_.Receive(rep->report, now);
    // Decide at once: the report that completes a quorum of suspicions
    // should not wait for the next tick.
    if (rep->report.suspected)
      for (Decision& d : aggregator_.Decide(view_, observers(), now, wall_ms))
        fx.proposals.push_back(
            Command{wall_ms, MarkDead{d.subject, d.incarnation, std::move(d.diagnosis)}});
  }
  return fx;
}

}  // namespace ringwatch::membership
