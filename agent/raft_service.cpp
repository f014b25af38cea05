#include "agent/raft_service.h"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "core/log.h"

namespace ringwatch::agent {

namespace net = boost::asio;

namespace {

// Four ticks per heartbeat interval: fine enough for randomized and fast
// retry timers (several distinct values within an interval), coarse enough
// that an idle agent wakes up rarely (measured by bench/idle_cpu.sh).
constexpr int kTicksPerHeartbeat = 4;

prometheus::Gauge& Gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

std::vector<std::string> Names(const std::set<raft::NodeId>& ids) {
  std::vector<std::string> out;
  for (const auto& id : ids)
    out.push_back(id.value);
  return out;
}

}  // namespace

RaftService::RaftService(net::io_context& ioc, Options options, RaftTransport& transport,
                         prometheus::Registry& registry)
    : ioc_(ioc),
      options_(std::move(options)),
      transport_(transport),
      storage_(options_.dir),
      timer_(ioc),
      term_(Gauge(registry, "ringwatch_raft_term", "Current Raft term of this node.")),
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
      commit_seconds_(prometheus::BuildHistogram()
                          .Name("ringwatch_raft_commit_seconds")
                          .Help("Time from a proposal on this leader to its commit.")
                          .Register(registry)
                          .Add({}, prometheus::Histogram::BucketBoundaries{
                                       0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                       0.5, 1, 2.5})) {
  auto interval = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      options_.raft.heartbeat_interval);
  tick_ = std::max<std::chrono::steady_clock::duration>(interval / kTicksPerHeartbeat,
                                                        std::chrono::microseconds(100));
  election_ticks_ = static_cast<int>(options_.raft.election_timeout / tick_);
}

std::string RaftService::Start() {
  auto loaded = storage_.Load();
  if (!loaded.ok()) return loaded.error().message;
  raft::Restored restored = std::move(loaded).value();
  if (storage_.truncated_bytes() > 0)
    log::Warn("raft", "recovered from a torn write",
              {{"file", storage_.wal_path()},
               {"bytes_truncated", std::to_string(storage_.truncated_bytes())}});

  bool sole = false;
  if (storage_.fresh()) {
    raft::ConfState conf;
    const auto& boot = options_.bootstrap_voters;
    if (std::find(boot.begin(), boot.end(), options_.node_id) != boot.end()) {
      for (const auto& v : boot)
        conf.voters.insert(raft::NodeId{v});
    } else if (boot.empty() && !options_.has_seeds) {
      conf.voters.insert(raft::NodeId{options_.node_id});
    }
    if (!conf.voters.empty()) {
      restored = raft::Bootstrap(conf);
      raft::Ready first;
      first.hard_state = restored.hard_state;
      first.entries = restored.entries;
      auto saved = storage_.Save(first);
      if (!saved.ok()) return saved.error().message;
      log::Info("raft", "bootstrapped a new cluster",
                {{"voters", std::to_string(conf.voters.size())}});
      sole = conf.voters.size() == 1;
    } else {
      log::Info("raft", "new member; waiting for the leader to add it",
                {{"bootstrap_voters", std::to_string(boot.size())}});
    }
  }

  if (restored.snapshot && on_restore_) on_restore_(*restored.snapshot);

  raft::Options o;
  o.id = raft::NodeId{options_.node_id};
  o.heartbeat_ticks = kTicksPerHeartbeat;
  o.election_ticks = std::max(election_ticks_, o.heartbeat_ticks + 1);
  o.learner_heartbeat_ticks = 5 * o.heartbeat_ticks;
  o.seed = options_.seed;
  node_ = std::make_unique<raft::Node>(o, std::move(restored));
  log::Info("raft", "started",
            {{"term", std::to_string(node_->term().value)},
             {"last_index", std::to_string(node_->log().last_index().value)},
             {"commit", std::to_string(node_->log().committed().value)},
             {"voters", std::to_string(node_->conf().voters.size())}});

  transport_.OnMessage([this](raft::Message m) {
    if (stopped_) return;
    node_->Step(std::move(m));
    ScheduleProcess();
  });
  transport_.OnUnreachable([this](const std::string& peer) {
    if (!stopped_ && node_) node_->ReportUnreachable(raft::NodeId{peer});
  });
  // A one-voter cluster need not wait an election timeout for itself.
  if (sole || (node_->conf().voters.size() == 1 && node_->IsVoter())) node_->Campaign();
  Process();
  ScheduleTick();
  return "";
}

void RaftService::Stop() {
  stopped_ = true;
  timer_.cancel();
}

void RaftService::ScheduleTick() {
  // A learner never campaigns, leads or transfers leadership: its timer
  // fires every kLearnerTickBatch ticks and delivers them together, the same
  // count at a coarser grain, with fewer wakeups of an idle agent (most
  // members are learners). A voter ticks at the full rate.
  const int batch = node_->IsVoter() ? 1 : kLearnerTickBatch;
  timer_.expires_after(tick_ * batch);
  timer_.async_wait([this, batch](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    for (int i = 0; i < batch; ++i)
      node_->Tick();
    Process();
    if (transfer_done_) {
      bool moved = node_->role() != raft::Role::kLeader;
      if (moved || (transfer_ticks_left_ -= batch) <= 0) {
        auto done = std::move(transfer_done_);
        transfer_done_ = nullptr;
        log::Info("raft", moved ? "leadership transferred" : "leadership transfer timed out",
                  {{"leader", node_->leader().value}});
        done();
      }
    }
    if (!stopped_) ScheduleTick();
  });
}

void RaftService::ScheduleProcess() {
  // Everything that arrives before the loop gets back here shares one Ready,
  // hence one fsync: proposals and appends batch themselves under load, and
  // an idle proposal waits for nothing.
  if (process_scheduled_) return;
  process_scheduled_ = true;
  net::post(ioc_, [this, alive = std::weak_ptr<bool>(alive_)] {
    if (alive.expired()) return;
    process_scheduled_ = false;
    Process();
  });
}

void RaftService::Process() {
  // A Propose() or Step() from inside the loop (say, from a transport
  // callback) only queues work for the loop already running.
  if (processing_) return;
  processing_ = true;
  while (!stopped_ && node_->HasReady()) {
    raft::Ready rd = node_->GetReady();
    // Durable first: nothing that depends on this state may leave before it.
    auto saved = storage_.Save(rd);
    if (!saved.ok()) return Fatal(saved.error().message);
    for (const raft::Message& m : rd.messages)
      transport_.Send(m);
    if (rd.snapshot && rd.restore && on_restore_) on_restore_(*rd.snapshot);
    for (const raft::Entry& e : rd.committed)
      Apply(e);
    node_->Advance(rd);
    const raft::RaftLog& log = node_->log();
    if (log.applied().value >= log.snapshot_index().value + options_.raft.snapshot_entries) {
      node_->Compact(log.applied(), snapshot_source_ ? snapshot_source_() : "");
    }
  }
  processing_ = false;
  Publish();
  // Posted, not called: a callback that proposes again must not recurse
  // (a one-voter group commits inside Propose).
  for (auto& [callback, committed] : outcomes_)
    net::post(ioc_, [callback = std::move(callback), ok = committed] { callback(ok); });
  outcomes_.clear();
}

void RaftService::Apply(const raft::Entry& e) {
  if (on_apply_) on_apply_(e);
  while (!pending_.empty() && pending_.begin()->first <= e.index) {
    auto it = pending_.begin();
    bool ours = it->first == e.index && it->second.term == e.term;
    if (ours)
      commit_seconds_.Observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - it->second.at).count());
    if (it->second.committed) outcomes_.emplace_back(std::move(it->second.committed), ours);
    pending_.erase(it);
  }
}

core::Result<raft::Proposal, raft::Rejection> RaftService::Propose(
    std::string data, std::function<void(bool)> committed) {
  if (!node_ || stopped_)
    return core::MakeError(raft::Rejection{raft::Refusal::kNotLeader, {}, "raft not running"});
  auto p = node_->Propose(std::move(data));
  if (p.ok() && !p.value().forwarded)
    pending_[p.value().index] =
        Pending{p.value().term, std::chrono::steady_clock::now(), std::move(committed)};
  ScheduleProcess();
  return p;
}

core::Result<raft::Proposal, raft::Rejection> RaftService::ProposeConfChange(
    const raft::ConfChange& change) {
  if (!node_ || stopped_)
    return core::MakeError(raft::Rejection{raft::Refusal::kNotLeader, {}, "raft not running"});
  auto p = node_->ProposeConfChange(change);
  ScheduleProcess();
  return p;
}

void RaftService::SetLeaderSuspected(bool suspected) {
  if (!node_ || stopped_ || !options_.raft.failover_from_detector) return;
  node_->SetLeaderSuspected(suspected);
  Process();
}

void RaftService::TransferLeadershipThen(std::function<void()> done) {
  if (!node_ || stopped_ || node_->role() != raft::Role::kLeader) return done();
  raft::Status s = node_->GetStatus();
  const raft::PeerStatus* best = nullptr;
  for (const auto& p : s.peers)
    if (p.voter && (!best || p.match > best->match)) best = &p;
  if (!best) return done();
  log::Info("raft", "transferring leadership", {{"to", best->id.value}});
  if (node_->TransferLeadership(best->id)) return done();
  transfer_done_ = std::move(done);
  transfer_ticks_left_ = election_ticks_;
  Process();
}

RaftView RaftService::View() const {
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
  return v;
}

void RaftService::Publish() {
  if (!node_) return;
  const raft::NodeId& leader = node_->leader();
  if (leader != last_leader_ && !leader.empty()) {
    leader_changes_.Increment();
    log::Info("raft", "leader",
              {{"leader", leader.value}, {"term", std::to_string(node_->term().value)}});
  }
  bool changed = leader != last_leader_ || node_->role() != last_role_;
  last_leader_ = leader;
  last_role_ = node_->role();
  term_.Set(static_cast<double>(node_->term().value));
  commit_index_.Set(static_cast<double>(node_->log().committed().value));
  applied_index_.Set(static_cast<double>(node_->log().applied().value));
  is_leader_.Set(node_->role() == raft::Role::kLeader ? 1 : 0);
  has_leader_.Set(leader.empty() ? 0 : 1);
  voters_.Set(static_cast<double>(node_->conf().voters.size()));
  learners_.Set(static_cast<double>(node_->conf().learners.size()));
  if (changed && on_change_) on_change_();
}

void RaftService::Fatal(const std::string& message) {
  log::Error("raft", "storage failed; stopping (continuing could break Raft safety)",
             {{"error", message}});
  Stop();
  if (on_fatal_) on_fatal_(message);
}

}  // namespace ringwatch::agent
