#include "raft/node.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "raft/codec.h"

namespace ringwatch::raft {
namespace {

[[noreturn]] void Broken(const std::string& what) {
  std::fprintf(stderr, "raft node invariant broken: %s\n", what.c_str());
  std::abort();
}

bool IsFromLeader(MessageType t) {
  return t == MessageType::kAppend || t == MessageType::kHeartbeat || t == MessageType::kSnapshot;
}

void ApplyChange(ConfState& conf, const ConfChange& change) {
  switch (change.type) {
    case ConfChangeType::kAddLearner:
      if (!conf.Contains(change.node)) conf.learners.insert(change.node);
      break;
    case ConfChangeType::kPromote:
      if (conf.learners.erase(change.node)) conf.voters.insert(change.node);
      break;
    case ConfChangeType::kRemove:
      conf.voters.erase(change.node);
      conf.learners.erase(change.node);
      break;
  }
}

// Folds one entry into a configuration; other entry types leave it alone.
void ApplyConfEntry(ConfState& conf, const Entry& e) {
  if (e.type == EntryType::kBootstrap) {
    if (auto c = DecodeConfState(e.data)) conf = *c;
  } else if (e.type == EntryType::kConfChange) {
    if (auto c = DecodeConfChange(e.data)) ApplyChange(conf, *c);
  }
}

uint64_t SplitMix(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

}  // namespace

Restored Bootstrap(const ConfState& conf) {
  Restored r;
  r.entries = {Entry{Term{1}, LogIndex{1}, EntryType::kBootstrap, EncodeConfState(conf)}};
  r.hard_state.term = Term{1};
  r.hard_state.commit = LogIndex{1};
  return r;
}

const char* ToString(Role role) {
  switch (role) {
    case Role::kFollower:
      return "follower";
    case Role::kPreCandidate:
      return "pre-candidate";
    case Role::kCandidate:
      return "candidate";
    case Role::kLeader:
      return "leader";
  }
  return "?";
}

const char* ToString(Refusal refusal) {
  switch (refusal) {
    case Refusal::kNotLeader:
      return "not_leader";
    case Refusal::kTransferring:
      return "transferring";
    case Refusal::kConfChangePending:
      return "conf_change_pending";
    case Refusal::kInvalidConfChange:
      return "invalid_conf_change";
  }
  return "?";
}

const char* ToString(ProgressState state) {
  switch (state) {
    case ProgressState::kProbe:
      return "probe";
    case ProgressState::kReplicate:
      return "replicate";
    case ProgressState::kSnapshot:
      return "snapshot";
  }
  return "?";
}

Node::Node(Options options, Restored restored)
    : options_(std::move(options)),
      term_(restored.hard_state.term),
      vote_(restored.hard_state.vote),
      role_(Follower{}) {
  if (options_.id.empty()) Broken("Options::id is empty");
  if (options_.election_ticks <= options_.heartbeat_ticks || options_.heartbeat_ticks < 1)
    Broken("election_ticks must exceed heartbeat_ticks >= 1");
  LogIndex snap_index;
  Term snap_term;
  if (restored.snapshot) {
    snap_index = restored.snapshot->index;
    snap_term = restored.snapshot->term;
    snapshot_conf_ = restored.snapshot->conf;
    snapshot_ = std::move(restored.snapshot);
  }
  // Entries at or before the snapshot are covered by it.
  std::erase_if(restored.entries, [&](const Entry& e) { return e.index <= snap_index; });
  log_ = RaftLog(snap_index, snap_term, std::move(restored.entries), restored.hard_state.commit);
  saved_hard_state_ = CurrentHardState();
  quarantined_ = saved_quarantined_ = restored.quarantined;
  random_state_ = options_.seed;
  for (char c : options_.id.value)
    random_state_ = random_state_ * 131 + static_cast<uint8_t>(c);
  RefreshConf();
  ResetElectionTimer();
}

Role Node::role() const {
  if (std::holds_alternative<Leader>(role_)) return Role::kLeader;
  if (const auto* c = std::get_if<Candidate>(&role_))
    return c->pre ? Role::kPreCandidate : Role::kCandidate;
  return Role::kFollower;
}

uint64_t Node::NextRandom() {
  return SplitMix(random_state_);
}

void Node::ResetElectionTimer() {
  election_elapsed_ = 0;
  if (fast_campaign_) {
    // A campaign the failure detector started retries within a few heartbeat
    // intervals: when several voters suspect the dead leader at once their
    // pre-votes may split, and waiting a whole election timeout would undo
    // the point of the fast input.
    int span = 2 * options_.heartbeat_ticks;
    randomized_election_ticks_ =
        options_.heartbeat_ticks + static_cast<int>(NextRandom() % static_cast<uint64_t>(span));
    return;
  }
  randomized_election_ticks_ =
      options_.election_ticks +
      static_cast<int>(NextRandom() % static_cast<uint64_t>(options_.election_ticks));
}

void Node::SetLeader(NodeId leader) {
  if (leader != leader_ && !leader.empty()) ++stats_.leader_changes;
  leader_ = std::move(leader);
}

// ---- configuration ----------------------------------------------------------

ConfState Node::ConfAt(LogIndex index) const {
  ConfState conf = snapshot_conf_;
  for (LogIndex i = log_.first_index(); i <= std::min(index, log_.last_index()); i = i + 1)
    ApplyConfEntry(conf, log_.At(i));
  return conf;
}

void Node::RefreshConf() {
  conf_ = ConfAt(log_.last_index());
  SyncProgress();
}

void Node::AppendConf(const std::vector<Entry>& appended) {
  // Entries added at the end of the log change the configuration by their
  // own conf entries only: no rescan of the log (a thousand joins mean a
  // thousand conf changes, and a rescan for each would be quadratic).
  for (const Entry& e : appended)
    ApplyConfEntry(conf_, e);
  SyncProgress();
}

void Node::SyncProgress() {
  auto* leader = std::get_if<Leader>(&role_);
  if (!leader) return;
  // Keep one Progress per member other than this node.
  std::erase_if(leader->progress, [&](const auto& kv) { return !conf_.Contains(kv.first); });
  for (const std::set<NodeId>* group : {&conf_.voters, &conf_.learners}) {
    for (const NodeId& id : *group) {
      if (id == options_.id) continue;
      auto [it, added] = leader->progress.try_emplace(id);
      if (added) {
        it->second.next = log_.last_index() + 1;
        it->second.recent_active = true;
      }
      it->second.learner = group == &conf_.learners;
    }
  }
  if (leader->progress.count(leader->transferee) == 0 || conf_.learners.count(leader->transferee))
    leader->transferee = NodeId{};
}

// ---- role transitions -------------------------------------------------------

void Node::BecomeFollower(Term term, NodeId leader) {
  fast_campaign_ = false;
  if (term != term_) {
    term_ = term;
    vote_ = NodeId{};
  }
  role_ = Follower{};
  SetLeader(std::move(leader));
  ResetElectionTimer();
}

void Node::BecomePreCandidate() {
  // A pre-candidate keeps its term and vote: a failed pre-vote changes nothing.
  role_ = Candidate{.pre = true, .votes = {}};
  SetLeader(NodeId{});
  ResetElectionTimer();
  ++stats_.pre_elections;
}

void Node::BecomeCandidate() {
  term_ = term_ + 1;
  vote_ = options_.id;
  role_ = Candidate{.pre = false, .votes = {}};
  SetLeader(NodeId{});
  ResetElectionTimer();
  ++stats_.elections;
}

void Node::BecomeLeader() {
  LiftQuarantine("elected by a brand-new cluster");
  fast_campaign_ = false;
  role_ = Leader{};
  SetLeader(options_.id);
  ResetElectionTimer();
  RefreshConf();
  auto& leader = std::get<Leader>(role_);
  // §5.4.2 / §8: a leader commits entries of earlier terms only by committing
  // one of its own; the empty entry does that at once. Until it commits, no
  // configuration change may be proposed (the single-server change fix).
  AppendAsLeader({Entry{term_, LogIndex{}, EntryType::kEmpty, {}}});
  leader.pending_conf_index = log_.last_index();
  BroadcastAppend();
}

void Node::StartCampaign(CampaignKind kind) {
  if (!IsVoter() || role() == Role::kLeader) return;
  // Lost state: only the first election of a brand-new cluster.
  if (quarantined_ && log_.last_index() > LogIndex{1}) return;
  Term vote_term;
  if (kind == CampaignKind::kPreElection) {
    BecomePreCandidate();
    vote_term = term_ + 1;
  } else {
    BecomeCandidate();
    vote_term = term_;
  }
  Poll(options_.id, true);
  if (!std::holds_alternative<Candidate>(role_)) return;  // single voter: already won
  for (const NodeId& voter : conf_.voters) {
    if (voter == options_.id) continue;
    Message m;
    m.type = kind == CampaignKind::kPreElection ? MessageType::kPreVote : MessageType::kVote;
    m.to = voter;
    m.term = vote_term;
    m.index = log_.last_index();
    m.log_term = log_.last_term();
    m.transfer = kind == CampaignKind::kTransfer;
    Send(std::move(m));
  }
}

void Node::Poll(const NodeId& from, bool granted) {
  auto* candidate = std::get_if<Candidate>(&role_);
  if (!candidate || !conf_.voters.count(from)) return;
  candidate->votes.try_emplace(from, granted);
  std::size_t yes = 0, no = 0;
  for (const auto& [id, vote] : candidate->votes)
    (vote ? yes : no) += 1;
  if (yes >= Quorum()) {
    if (candidate->pre) {
      StartCampaign(CampaignKind::kElection);
    } else {
      BecomeLeader();
    }
  } else if (no >= Quorum()) {
    BecomeFollower(term_, NodeId{});
  } else if (!granted && candidate->pre && fast_campaign_) {
    // A pre-vote the failure detector started, refused (most likely by a
    // voter still in its lease: its own detector fires a moment later when
    // the leader's process died). Ask again at the next tick rather than in
    // a few heartbeats; the fast retries stay bounded (Tick).
    randomized_election_ticks_ = std::min(randomized_election_ticks_, election_elapsed_ + 1);
  }
}

// ---- inputs -----------------------------------------------------------------

void Node::Tick() {
  if (auto* leader = std::get_if<Leader>(&role_)) {
    TickLeader(*leader);
    return;
  }
  ++election_elapsed_;
  if (IsVoter() && election_elapsed_ >= randomized_election_ticks_) {
    // A few fast retries, then textbook timeouts (e.g. a suspecting node
    // that is itself cut off should not keep the short timer for ever).
    if (fast_campaign_ && ++fast_retries_ > 3) fast_campaign_ = false;
    StartCampaign(options_.pre_vote ? CampaignKind::kPreElection : CampaignKind::kElection);
  }
}

void Node::TickLeader(Leader& leader) {
  ++election_elapsed_;
  ++leader.heartbeat_elapsed;
  ++leader.learner_heartbeat_elapsed;
  for (auto& [id, pr] : leader.progress) {
    // A snapshot that got lost must not stall the follower for ever.
    if (pr.state == ProgressState::kSnapshot && ++pr.snapshot_elapsed >= options_.election_ticks)
      pr.BecomeProbe();
  }
  if (election_elapsed_ >= options_.election_ticks) {
    election_elapsed_ = 0;
    if (options_.check_quorum) {
      if (!QuorumActive(leader)) {
        // §6.2 / CheckQuorum: a leader that has not heard from a quorum for
        // an election timeout steps down, so clients look elsewhere.
        BecomeFollower(term_, NodeId{});
        return;
      }
      for (auto& [id, pr] : leader.progress)
        pr.recent_active = false;
    }
    leader.transferee = NodeId{};  // a transfer that did not finish in time is abandoned
  }
  if (leader.heartbeat_elapsed >= options_.heartbeat_ticks) {
    leader.heartbeat_elapsed = 0;
    bool learners = leader.learner_heartbeat_elapsed >= options_.learner_heartbeat_ticks;
    if (learners) leader.learner_heartbeat_elapsed = 0;
    BroadcastHeartbeat(learners);
  }
}

bool Node::QuorumActive(Leader& leader) const {
  std::size_t active = 0;
  for (const NodeId& voter : conf_.voters) {
    if (voter == options_.id) {
      ++active;
      continue;
    }
    auto it = leader.progress.find(voter);
    if (it != leader.progress.end() && it->second.recent_active) ++active;
  }
  return active >= Quorum();
}

void Node::Campaign() {
  StartCampaign(options_.pre_vote ? CampaignKind::kPreElection : CampaignKind::kElection);
}

void Node::SetLeaderSuspected(bool suspected) {
  if (!suspected) {
    suspected_leader_ = NodeId{};
    return;
  }
  if (leader_.empty() || leader_ == options_.id || suspected_leader_ == leader_) return;
  suspected_leader_ = leader_;
  // Always a pre-vote: a wrong suspicion must not raise anybody's term.
  if (role() == Role::kFollower && IsVoter()) {
    fast_campaign_ = true;
    fast_retries_ = 0;
    StartCampaign(CampaignKind::kPreElection);
  }
}

void Node::ReportUnreachable(const NodeId& peer) {
  auto* leader = std::get_if<Leader>(&role_);
  if (!leader) return;
  auto it = leader->progress.find(peer);
  if (it != leader->progress.end() && it->second.state == ProgressState::kReplicate)
    it->second.BecomeProbe();
}

core::Result<Proposal, Rejection> Node::Propose(std::string data) {
  auto* leader = std::get_if<Leader>(&role_);
  if (!leader) {
    if (leader_.empty() || role() != Role::kFollower)
      return core::MakeError(Rejection{Refusal::kNotLeader, leader_, "no leader known"});
    Message m;
    m.type = MessageType::kPropose;
    m.to = leader_;
    m.entries.push_back(Entry{Term{}, LogIndex{}, EntryType::kNormal, std::move(data)});
    Send(std::move(m));
    return Proposal{LogIndex{}, Term{}, true};
  }
  if (!leader->transferee.empty())
    return core::MakeError(Rejection{Refusal::kTransferring, leader_, "leadership transfer"});
  AppendAsLeader({Entry{term_, LogIndex{}, EntryType::kNormal, std::move(data)}});
  BroadcastAppend();
  return Proposal{log_.last_index(), term_, false};
}

core::Result<Proposal, Rejection> Node::ProposeConfChange(const ConfChange& change) {
  auto* leader = std::get_if<Leader>(&role_);
  if (!leader) return core::MakeError(Rejection{Refusal::kNotLeader, leader_, "not the leader"});
  if (!leader->transferee.empty())
    return core::MakeError(Rejection{Refusal::kTransferring, leader_, "leadership transfer"});
  if (leader->pending_conf_index > log_.committed())
    return core::MakeError(Rejection{Refusal::kConfChangePending, leader_,
                                     "a configuration change (or this leader's first entry) "
                                     "is not committed yet"});
  const NodeId& n = change.node;
  std::string invalid;
  switch (change.type) {
    case ConfChangeType::kAddLearner:
      if (conf_.Contains(n)) invalid = n.value + " is already a member";
      break;
    case ConfChangeType::kPromote:
      if (!conf_.learners.count(n)) invalid = n.value + " is not a learner";
      break;
    case ConfChangeType::kRemove:
      if (!conf_.Contains(n)) {
        invalid = n.value + " is not a member";
      } else if (n == options_.id) {
        invalid = "the leader cannot remove itself; transfer leadership first";
      } else if (conf_.voters.count(n) && conf_.voters.size() == 1) {
        invalid = "cannot remove the last voter";
      }
      break;
  }
  if (n.empty()) invalid = "empty node id";
  if (!invalid.empty())
    return core::MakeError(Rejection{Refusal::kInvalidConfChange, leader_, invalid});
  AppendAsLeader({Entry{term_, LogIndex{}, EntryType::kConfChange, EncodeConfChange(change)}});
  leader = std::get_if<Leader>(&role_);
  leader->pending_conf_index = log_.last_index();
  BroadcastAppend();
  return Proposal{log_.last_index(), term_, false};
}

std::optional<Rejection> Node::TransferLeadership(const NodeId& target) {
  auto* leader = std::get_if<Leader>(&role_);
  if (!leader) return Rejection{Refusal::kNotLeader, leader_, "not the leader"};
  if (target == options_.id) return std::nullopt;
  if (!conf_.voters.count(target))
    return Rejection{Refusal::kInvalidConfChange, leader_, target.value + " is not a voter"};
  auto it = leader->progress.find(target);
  leader->transferee = target;
  election_elapsed_ = 0;  // the transfer has one election timeout to finish
  if (it->second.match == log_.last_index()) {
    Message m;
    m.type = MessageType::kTimeoutNow;
    m.to = target;
    Send(std::move(m));
  } else {
    SendAppend(target, it->second, true);
  }
  return std::nullopt;
}

// ---- Step -------------------------------------------------------------------

bool Node::Validate(const Message& m) const {
  if (m.from.empty() || m.from == options_.id || m.to != options_.id) return false;
  if (m.type == MessageType::kPropose) return true;
  if (m.log_term > m.term) return false;
  if (m.type == MessageType::kAppend) {
    Term prev = m.log_term;
    for (std::size_t k = 0; k < m.entries.size(); ++k) {
      const Entry& e = m.entries[k];
      if (e.index != m.index + 1 + k || e.term < prev || e.term > m.term) return false;
      prev = e.term;
    }
  } else if (!m.entries.empty()) {
    return false;
  }
  if (m.type == MessageType::kSnapshot) {
    if (!m.snapshot || m.snapshot->term > m.term || m.snapshot->index == LogIndex{}) return false;
  } else if (m.snapshot) {
    return false;
  }
  return true;
}

bool Node::InLease() const {
  // With CheckQuorum a follower that heard its leader within the election
  // timeout ignores vote requests: a rejoining or partitioned node cannot
  // depose a healthy leader. The fast failover input lifts the lease for the
  // leader this node's own detector suspects.
  return options_.check_quorum && !leader_.empty() && election_elapsed_ < options_.election_ticks &&
         suspected_leader_ != leader_;
}

void Node::Step(Message m) {
  if (!Validate(m)) {
    ++stats_.messages_invalid;
    return;
  }
  if (m.type == MessageType::kPropose) {
    if (auto* leader = std::get_if<Leader>(&role_); leader && leader->transferee.empty()) {
      for (Entry& e : m.entries) {
        e.term = term_;
        e.type = EntryType::kNormal;
      }
      AppendAsLeader(std::move(m.entries));
      BroadcastAppend();
    } else {
      ++stats_.proposals_dropped;
    }
    return;
  }

  bool vote_request = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
  if (m.term > term_) {
    if (vote_request && !m.transfer && InLease()) {
      ++stats_.votes_ignored_in_lease;
      if (m.type == MessageType::kPreVote) {
        // Answer so a wrongly suspecting pre-candidate returns to follower at once.
        Message r = Reply(m, MessageType::kPreVoteResponse);
        r.reject = true;
        Send(std::move(r));
      }
      return;
    }
    if (m.type == MessageType::kPreVote || (m.type == MessageType::kPreVoteResponse && !m.reject)) {
      // Pre-votes ask about a future term; they never change ours.
    } else {
      BecomeFollower(m.term, IsFromLeader(m.type) ? m.from : NodeId{});
    }
  } else if (m.term < term_) {
    ++stats_.messages_stale;
    if ((options_.check_quorum || options_.pre_vote) &&
        (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
      // A deposed leader (e.g. healed from a partition) learns our term and
      // steps down; without this it would never hear a higher term, since
      // pre-votes do not raise terms.
      Send(Reply(m, MessageType::kAppendResponse));
    } else if (m.type == MessageType::kPreVote) {
      Message r = Reply(m, MessageType::kPreVoteResponse);
      r.reject = true;
      Send(std::move(r));
    }
    return;
  }

  if (vote_request) {
    HandleVoteRequest(m);
    return;
  }
  switch (role()) {
    case Role::kLeader:
      StepLeader(m);
      break;
    case Role::kPreCandidate:
    case Role::kCandidate:
      StepCandidate(m);
      break;
    case Role::kFollower:
      StepFollower(m);
      break;
  }
}

Message Node::Reply(const Message& to, MessageType type) const {
  Message r;
  r.type = type;
  r.to = to.from;
  r.term = term_;
  return r;
}

void Node::HandleVoteRequest(const Message& m) {
  // §5.2: at most one vote per term, first come first served; §5.4.1: only
  // for a candidate whose log is at least as up-to-date as ours. A pre-vote
  // for a future term is granted on the log alone.
  bool pre = m.type == MessageType::kPreVote;
  bool can_vote = vote_ == m.from || (vote_.empty() && leader_.empty()) || (pre && m.term > term_);
  if (pre && role() == Role::kPreCandidate) {
    // Two pre-candidates that grant each other both go on to real votes and
    // split them (each votes for itself), costing a whole election timeout.
    // That is common exactly when it hurts most: several detectors suspect a
    // dead leader at once. So between pre-candidates only the more
    // up-to-date log, then the higher id, goes ahead. Refusing a pre-vote is
    // always safe; the loser retries on its timer.
    bool theirs_ahead = m.log_term != log_.last_term() ? m.log_term > log_.last_term()
                        : m.index != log_.last_index() ? m.index > log_.last_index()
                                                       : m.from > options_.id;
    can_vote = can_vote && theirs_ahead;
  }
  // Lost state: a vote only in the first election of a brand-new cluster
  // (the candidate's log is the bootstrap entry alone).
  if (quarantined_ && m.index > LogIndex{1}) can_vote = false;
  Message r = Reply(m, pre ? MessageType::kPreVoteResponse : MessageType::kVoteResponse);
  if (can_vote && log_.IsUpToDate(m.index, m.log_term)) {
    r.term = m.term;
    if (!pre) {
      vote_ = m.from;
      election_elapsed_ = 0;
      LiftQuarantine("voted in the first election of a brand-new cluster");
    }
  } else {
    r.reject = true;
  }
  Send(std::move(r));
}

void Node::StepFollower(Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
      election_elapsed_ = 0;
      SetLeader(m.from);
      if (quarantined_ && quarantine_until_.value == 0)
        quarantine_until_ = std::max(m.commit, LogIndex{1});
      HandleAppend(m);
      break;
    case MessageType::kHeartbeat:
      election_elapsed_ = 0;
      SetLeader(m.from);
      HandleHeartbeat(m);
      break;
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      SetLeader(m.from);
      if (quarantined_ && quarantine_until_.value == 0) quarantine_until_ = m.snapshot->index;
      HandleSnapshot(m);
      break;
    case MessageType::kTimeoutNow:
      // Leadership transfer: campaign now, skipping the pre-vote, with the
      // transfer flag so voters set their lease aside.
      if (IsVoter()) StartCampaign(CampaignKind::kTransfer);
      break;
    default:
      break;  // responses for a role we no longer hold
  }
}

void Node::StepCandidate(Message& m) {
  auto& candidate = std::get<Candidate>(role_);
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // §5.2: a leader of our term exists; return to follower.
      BecomeFollower(m.term, m.from);
      StepFollower(m);
      break;
    case MessageType::kPreVoteResponse:
      if (candidate.pre) Poll(m.from, !m.reject);
      break;
    case MessageType::kVoteResponse:
      if (!candidate.pre) Poll(m.from, !m.reject);
      break;
    default:
      break;
  }
}

void Node::StepLeader(Message& m) {
  auto& leader = std::get<Leader>(role_);
  switch (m.type) {
    case MessageType::kAppendResponse:
      HandleAppendResponse(m, leader);
      break;
    case MessageType::kHeartbeatResponse:
      HandleHeartbeatResponse(m, leader);
      break;
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // Two leaders in one term would break Election Safety (§5.2); a peer
      // claiming it is broken or forged. Never trust it.
      ++stats_.messages_invalid;
      break;
    default:
      break;
  }
}

void Node::HandleAppend(const Message& m) {
  Message r = Reply(m, MessageType::kAppendResponse);
  if (m.index < log_.committed()) {
    r.index = log_.committed();
    Send(std::move(r));
    return;
  }
  if (log_.Matches(m.index, m.log_term)) {
    // m.index >= committed here, so no entry of m replaces a committed one.
    // The configuration changes only if a configuration entry arrives or the
    // repair truncates entries (which may take one away).
    bool conf_touched = !m.entries.empty() && m.entries.front().index <= log_.last_index();
    for (const Entry& e : m.entries)
      conf_touched =
          conf_touched || e.type == EntryType::kConfChange || e.type == EntryType::kBootstrap;
    const LogIndex before = log_.last_index();
    LogIndex last_new = log_.MaybeAppend(m.index, m.entries);
    if (conf_touched) {
      if (m.entries.front().index > before) {
        AppendConf(m.entries);  // appended after the end: nothing truncated
      } else {
        RefreshConf();
      }
    }
    log_.CommitTo(std::min(m.commit, last_new));
    r.index = last_new;
  } else {
    // Conflict-term fast backup: tell the leader the last index whose term is
    // not above the leader's term at m.index, and that term, so it can skip a
    // whole term of entries in one round trip.
    LogIndex hint = log_.FindConflictByTerm(std::min(m.index, log_.last_index()), m.log_term);
    r.index = m.index;
    r.reject = true;
    r.reject_hint = hint;
    r.log_term = log_.TermAt(hint).value_or(Term{});
  }
  Send(std::move(r));
}

void Node::HandleHeartbeat(const Message& m) {
  // The leader sends min(our match, its commit), so this never commits an
  // entry we do not hold from it.
  log_.CommitTo(m.commit);
  Send(Reply(m, MessageType::kHeartbeatResponse));
}

void Node::HandleSnapshot(const Message& m) {
  const Snapshot& s = *m.snapshot;
  Message r = Reply(m, MessageType::kAppendResponse);
  if (s.index <= log_.committed()) {
    r.index = log_.committed();
  } else if (log_.Matches(s.index, s.term)) {
    // We already hold the snapshot's last entry: keep the log, commit up to it.
    log_.CommitTo(s.index);
    r.index = log_.last_index();
  } else {
    log_.Restore(s.index, s.term);
    snapshot_ = s;
    snapshot_conf_ = s.conf;
    snapshot_unsaved_ = true;
    snapshot_restore_ = true;
    RefreshConf();
    r.index = s.index;
  }
  Send(std::move(r));
}

void Node::HandleAppendResponse(const Message& m, Leader& leader) {
  auto it = leader.progress.find(m.from);
  if (it == leader.progress.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  if (m.reject) {
    LogIndex hint = m.reject_hint;
    if (m.log_term > Term{}) hint = log_.FindConflictByTerm(hint, m.log_term);
    if (pr.MaybeDecreaseTo(m.index, hint)) {
      if (pr.state == ProgressState::kReplicate) pr.BecomeProbe();
      SendAppend(m.from, pr, true);
    }
    return;
  }
  bool was_paused = pr.IsPaused(options_.max_inflight);
  if (!pr.MaybeUpdate(m.index)) {
    if (was_paused && !pr.IsPaused(options_.max_inflight)) SendAppend(m.from, pr, false);
    return;
  }
  if (pr.state == ProgressState::kProbe) {
    pr.BecomeReplicate();
  } else if (pr.state == ProgressState::kSnapshot && pr.match >= pr.pending_snapshot) {
    pr.BecomeProbe();
    pr.BecomeReplicate();
  }
  if (MaybeCommit()) {
    BroadcastAppend();  // followers learn the new commit index
  } else if (was_paused) {
    // It was paused when the commit index last moved (the broadcast skipped
    // it): it may not know the latest one, so tell it now (as etcd does) —
    // else it learns it only from the next heartbeat.
    SendAppend(m.from, pr, true);
  }
  // Pipeline what is left.
  auto* still = std::get_if<Leader>(&role_);
  if (!still) return;
  auto again = still->progress.find(m.from);
  if (again == still->progress.end()) return;
  while (SendAppend(m.from, again->second, false)) {
  }
  if (still->transferee == m.from && again->second.match == log_.last_index()) {
    Message t;
    t.type = MessageType::kTimeoutNow;
    t.to = m.from;
    Send(std::move(t));
  }
}

void Node::HandleHeartbeatResponse(const Message& m, Leader& leader) {
  auto it = leader.progress.find(m.from);
  if (it == leader.progress.end()) return;
  Progress& pr = it->second;
  pr.recent_active = true;
  pr.probe_sent = false;
  if (pr.state == ProgressState::kReplicate && pr.match < log_.last_index() &&
      pr.match == pr.match_at_heartbeat) {
    // No progress for a whole heartbeat while behind: an append was probably
    // lost. Fall back to probing from the match point.
    pr.BecomeProbe();
  }
  pr.match_at_heartbeat = pr.match;
  if (pr.match < log_.last_index()) SendAppend(m.from, pr, true);
}

// ---- leader replication -----------------------------------------------------

void Node::AppendAsLeader(std::vector<Entry> entries) {
  LogIndex next = log_.last_index() + 1;
  bool conf = false;
  for (Entry& e : entries) {
    e.term = term_;
    e.index = next;
    next = next + 1;
    conf = conf || e.type == EntryType::kConfChange;
  }
  log_.Append(entries);
  // A configuration takes effect as soon as it is in the log (dissertation §4.1).
  if (conf) AppendConf(entries);
  if (conf_.voters.size() == 1 && conf_.voters.count(options_.id)) MaybeCommit();
}

bool Node::SendAppend(const NodeId& to, Progress& pr, bool send_if_empty) {
  if (pr.IsPaused(options_.max_inflight)) return false;
  Message m;
  m.to = to;
  std::optional<Term> prev_term = log_.TermAt(pr.next - 1);
  if (!prev_term) {
    // The entries this follower needs are compacted: send the snapshot (§7).
    if (!snapshot_) Broken("log compacted without a snapshot");
    m.type = MessageType::kSnapshot;
    m.snapshot = *snapshot_;
    pr.BecomeSnapshot(snapshot_->index);
    Send(std::move(m));
    return true;
  }
  m.type = MessageType::kAppend;
  m.index = pr.next - 1;
  m.log_term = *prev_term;
  m.entries = log_.Slice(pr.next, log_.last_index(), options_.max_message_bytes);
  m.commit = log_.committed();
  if (m.entries.empty() && !send_if_empty) return false;
  if (!m.entries.empty()) {
    LogIndex last = m.entries.back().index;
    if (pr.state == ProgressState::kReplicate) {
      pr.next = last + 1;
      pr.inflight.push_back(last);
    }
  }
  if (pr.state == ProgressState::kProbe) pr.probe_sent = true;
  Send(std::move(m));
  return true;
}

void Node::BroadcastAppend() {
  auto* leader = std::get_if<Leader>(&role_);
  if (!leader) return;
  for (auto& [id, pr] : leader->progress)
    SendAppend(id, pr, true);
}

void Node::BroadcastHeartbeat(bool learners_too) {
  auto& leader = std::get<Leader>(role_);
  for (auto& [id, pr] : leader.progress) {
    if (pr.learner && !learners_too) continue;
    Message m;
    m.type = MessageType::kHeartbeat;
    m.to = id;
    m.commit = std::min(pr.match, log_.committed());
    Send(std::move(m));
  }
}

bool Node::MaybeCommit() {
  auto& leader = std::get<Leader>(role_);
  std::vector<LogIndex> matches;
  for (const NodeId& voter : conf_.voters) {
    if (voter == options_.id) {
      matches.push_back(log_.last_index());
    } else if (auto it = leader.progress.find(voter); it != leader.progress.end()) {
      matches.push_back(it->second.match);
    } else {
      matches.push_back(LogIndex{});
    }
  }
  if (matches.empty()) return false;
  std::sort(matches.begin(), matches.end(), std::greater<>());
  LogIndex candidate = matches[Quorum() - 1];
  // §5.4.2: only an entry of the current term is committed by counting replicas.
  if (candidate > log_.committed() && log_.TermAt(candidate) == term_) {
    log_.CommitTo(candidate);
    return true;
  }
  return false;
}

void Node::Send(Message m) {
  m.from = options_.id;
  if (m.term == Term{} && m.type != MessageType::kPropose) m.term = term_;
  outbox_.push_back(std::move(m));
}

// ---- Ready ------------------------------------------------------------------

bool Node::HasReady() const {
  return !outbox_.empty() || CurrentHardState() != saved_hard_state_ || snapshot_unsaved_ ||
         quarantined_ != saved_quarantined_ || log_.stable() < log_.last_index() ||
         log_.applied() < log_.committed();
}

Ready Node::GetReady() {
  Ready rd;
  HardState hs = CurrentHardState();
  if (hs != saved_hard_state_) rd.hard_state = hs;
  if (quarantined_ != saved_quarantined_) rd.quarantined = quarantined_;
  if (snapshot_unsaved_) {
    rd.snapshot = snapshot_;
    rd.restore = snapshot_restore_;
  }
  rd.entries = log_.Unstable();
  rd.committed = log_.NextCommitted(options_.max_apply_bytes);
  rd.messages = std::move(outbox_);
  outbox_.clear();
  return rd;
}

void Node::Advance(const Ready& rd) {
  if (rd.hard_state) saved_hard_state_ = *rd.hard_state;
  if (rd.quarantined) saved_quarantined_ = *rd.quarantined;
  if (rd.snapshot) {
    snapshot_unsaved_ = false;
    snapshot_restore_ = false;
  }
  if (!rd.entries.empty()) log_.StableTo(rd.entries.back().index, rd.entries.back().term);
  // A snapshot restored between GetReady() and Advance() (messages may be
  // stepped while a Ready is being saved) moved applied past these entries.
  if (!rd.committed.empty() && rd.committed.back().index > log_.applied())
    log_.AppliedTo(rd.committed.back().index);
  if (!rd.committed.empty() || (rd.snapshot && rd.restore)) MaybeLiftQuarantine();
}

void Node::SetQuarantined(bool quarantined) {
  quarantined_ = quarantined;
  if (!quarantined) return;
  quarantine_until_ = LogIndex{};
  if (role() != Role::kFollower) BecomeFollower(term_, leader_);
}

void Node::LiftQuarantine(const char* why) {
  if (!quarantined_) return;
  quarantined_ = false;
  quarantine_lift_reason_ = why;
}

void Node::MaybeLiftQuarantine() {
  if (!quarantined_ || quarantine_until_.value == 0 || log_.applied() < quarantine_until_) return;
  if (!ConfAt(log_.applied()).voters.count(options_.id))
    LiftQuarantine("caught up, and not a voter under its old identity");
}

void Node::Compact(LogIndex index, std::string data) {
  if (index <= log_.snapshot_index()) return;
  if (index > log_.applied()) Broken("Compact() beyond the applied index");
  Snapshot s;
  s.index = index;
  s.term = *log_.TermAt(index);
  s.conf = ConfAt(index);
  s.data = std::move(data);
  log_.CompactTo(index);
  snapshot_conf_ = s.conf;
  snapshot_ = std::move(s);
  snapshot_unsaved_ = true;
  snapshot_restore_ = false;
}

Status Node::GetStatus() const {
  Status s;
  s.id = options_.id;
  s.role = role();
  s.term = term_;
  s.vote = vote_;
  s.leader = leader_;
  s.commit = log_.committed();
  s.applied = log_.applied();
  s.last_index = log_.last_index();
  s.snapshot_index = log_.snapshot_index();
  s.conf = conf_;
  if (const auto* leader = std::get_if<Leader>(&role_)) {
    s.transferee = leader->transferee;
    for (const auto& [id, pr] : leader->progress)
      s.peers.push_back(PeerStatus{id, !pr.learner, pr.match, pr.next, pr.state, pr.recent_active});
  }
  return s;
}

void Node::CheckInvariants() const {
  log_.CheckInvariants();
  if (saved_hard_state_.term > term_) Broken("term decreased");
  if (saved_hard_state_.commit > log_.committed()) Broken("commit index decreased");
  if (const auto* leader = std::get_if<Leader>(&role_)) {
    if (leader_ != options_.id) Broken("leader does not name itself as leader");
    if (!IsVoter()) Broken("a leader that is not a voter");
    for (const auto& [id, pr] : leader->progress) {
      if (!(pr.match < pr.next)) Broken("progress of " + id.value + ": match >= next");
      if (pr.match > log_.last_index()) Broken("progress of " + id.value + " beyond the log");
    }
  }
  if (role() == Role::kCandidate && vote_ != options_.id)
    Broken("candidate did not vote for itself");
  if (conf_ != ConfAt(log_.last_index())) Broken("configuration out of date with the log");
}

}  // namespace ringwatch::raft
