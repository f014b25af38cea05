// Deterministic simulation of raft::Node clusters: 3 or 5 voters plus
// learners under random message drop, delay, reordering and duplication,
// partitions, crashes and restarts (restart reloads the node's MemoryStorage,
// which has FileStorage's semantics), log compaction and membership changes.
// After every step the executable invariants below are checked; after the
// faults heal, a leader must emerge and every acknowledged proposal must be
// applied on every member.
//
// Everything derives from the seed: a failing seed prints the command that
// re-runs exactly that seed (RINGWATCH_SIM_SEED). RINGWATCH_SIM_SEEDS sets how
// many seeds run (default 2000).
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>

#include "raft/codec.h"
#include "raft/node.h"
#include "raft/storage.h"
#include "tests/raft/cluster.h"

namespace ringwatch::raft {
namespace {

using testing::StateMachine;

struct Violation {
  std::string what;
};

// What the faults made happen, summed over seeds: a simulation that never
// installs a snapshot or changes membership would prove little.
struct Coverage {
  std::size_t acked = 0, leaders = 0, crashes = 0, snapshots_installed = 0, conf_changes = 0;
};

class Simulation {
 public:
  Simulation(uint64_t seed, int voters, int learners) : seed_(seed), rng_(seed) {
    ConfState conf;
    for (int i = 0; i < voters + learners; ++i) {
      std::string id = "n" + std::to_string(i + 1);
      ids_.push_back(id);
      (i < voters ? conf.voters : conf.learners).insert(NodeId{id});
    }
    for (const std::string& id : ids_) {
      storage_[id] = std::make_unique<MemoryStorage>();
      Restored r = Bootstrap(conf);
      Ready seed_ready;
      seed_ready.hard_state = r.hard_state;
      seed_ready.entries = r.entries;
      (void)storage_[id]->Save(seed_ready);
      for (const Entry& e : r.entries)
        RecordEntry(id, e, Term{});
      Start(id);
    }
    drop_percent_ = Uniform(0, 15);
    dup_percent_ = Uniform(0, 5);
    max_delay_ = Uniform(0, 4);
    compact_every_ = Uniform(4, 30);
  }

  // Runs the faulty phase, then heals everything and checks liveness.
  void Run(int chaos_ticks, int heal_ticks) {
    for (int t = 0; t < chaos_ticks; ++t)
      ChaosTick();
    // Heal: everyone up, no partitions, no loss.
    cuts_.clear();
    drop_percent_ = dup_percent_ = 0;
    for (const std::string& id : ids_)
      if (!nodes_.count(id)) Start(id);
    for (int t = 0; t < heal_ticks; ++t) {
      Tick();
      if (Converged()) return;
    }
    throw Violation{"no convergence " + std::to_string(heal_ticks) +
                    " ticks after healing: " + Describe()};
  }

  std::string Describe() const {
    std::ostringstream out;
    for (const auto& [id, n] : nodes_) {
      Status s = n->GetStatus();
      out << id << "{" << ToString(s.role) << " t" << s.term.value << " lead=" << s.leader.value
          << " commit=" << s.commit.value << " applied=" << s.applied.value
          << " last=" << s.last_index.value << " voters=" << s.conf.voters.size() << "} ";
    }
    out << "acked=" << acked_.size();
    return out.str();
  }

  void AddTo(Coverage& c) const {
    c.acked += acked_.size();
    c.leaders += leaders_.size();
    c.crashes += static_cast<std::size_t>(crashes_);
    c.snapshots_installed += static_cast<std::size_t>(snapshots_installed_);
    c.conf_changes += static_cast<std::size_t>(conf_changes_);
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(int percent) { return Uniform(0, 99) < percent; }

  Options OptionsFor(const std::string& id) {
    Options o;
    o.id = NodeId{id};
    o.election_ticks = 10;
    o.heartbeat_ticks = 1;
    o.learner_heartbeat_ticks = 3;
    o.max_inflight = 8;
    o.max_message_bytes = seed_ % 3 == 0 ? 1 : 64;
    o.seed = seed_ * 1000003 + static_cast<uint64_t>(restarts_);
    return o;
  }

  void Start(const std::string& id) {
    auto loaded = storage_.at(id)->Load();
    if (!loaded.ok()) throw Violation{"load failed for " + id};
    nodes_[id] = std::make_unique<Node>(OptionsFor(id), std::move(loaded).value());
    StateMachine sm;
    if (const auto& s = storage_.at(id)->snapshot()) sm.Restore(*s);
    sm_[id] = sm;
    ++restarts_;
    Check(id);
  }

  void ChaosTick() {
    if (Chance(3)) {  // a partition: a random minority or majority is cut off
      cuts_.clear();
      for (const std::string& id : ids_)
        if (Chance(40)) cuts_.insert(id);
    }
    if (Chance(4)) cuts_.clear();
    if (Chance(2) && nodes_.size() > 1) {  // crash
      auto it = nodes_.begin();
      std::advance(it, Uniform(0, static_cast<int>(nodes_.size()) - 1));
      nodes_.erase(it);
      ++crashes_;
    }
    if (Chance(5)) {  // restart one crashed node
      for (const std::string& id : ids_) {
        if (!nodes_.count(id)) {
          Start(id);
          break;
        }
      }
    }
    if (Chance(30)) Propose();
    if (Chance(2)) ChangeMembership();
    if (Chance(1)) TransferLeadership();
    if (Chance(4)) Suspect();
    Tick();
  }

  void Propose() {
    if (nodes_.empty()) return;
    auto it = nodes_.begin();
    std::advance(it, Uniform(0, static_cast<int>(nodes_.size()) - 1));
    std::string data = "p" + std::to_string(next_proposal_++);
    (void)it->second->Propose(data);
    Flush(it->first);
  }

  // The fast failover input, right (the leader is down or cut off from this
  // node) or wrong (it is fine): safety must not depend on it.
  void Suspect() {
    if (nodes_.empty()) return;
    auto it = nodes_.begin();
    std::advance(it, Uniform(0, static_cast<int>(nodes_.size()) - 1));
    const std::string& leader = it->second->leader().value;
    bool right =
        !leader.empty() && (!nodes_.count(leader) || cuts_.count(leader) != cuts_.count(it->first));
    it->second->SetLeaderSuspected(right || Chance(20));
    Flush(it->first);
  }

  Node* Leader() {
    for (auto& [id, n] : nodes_)
      if (n->role() == Role::kLeader) return n.get();
    return nullptr;
  }

  void ChangeMembership() {
    Node* leader = Leader();
    if (!leader) return;
    const ConfState& conf = leader->conf();
    std::vector<ConfChange> options;
    for (const std::string& id : ids_) {
      NodeId n{id};
      if (conf.learners.count(n)) {
        options.push_back({ConfChangeType::kPromote, n, ""});
        options.push_back({ConfChangeType::kRemove, n, ""});
      } else if (conf.voters.count(n)) {
        if (conf.voters.size() > 3 && n != leader->id())
          options.push_back({ConfChangeType::kRemove, n, ""});
      } else {
        options.push_back({ConfChangeType::kAddLearner, n, ""});
      }
    }
    if (options.empty()) return;
    (void)leader->ProposeConfChange(
        options[static_cast<std::size_t>(Uniform(0, static_cast<int>(options.size()) - 1))]);
    Flush(leader->id().value);
  }

  void TransferLeadership() {
    Node* leader = Leader();
    if (!leader) return;
    std::vector<NodeId> voters(leader->conf().voters.begin(), leader->conf().voters.end());
    (void)leader->TransferLeadership(
        voters[static_cast<std::size_t>(Uniform(0, static_cast<int>(voters.size()) - 1))]);
    Flush(leader->id().value);
  }

  void Tick() {
    ++now_;
    for (auto& [id, n] : nodes_) {
      n->Tick();
      Flush(id);
    }
    // Deliver everything due, in the random order the delays produced.
    while (!wire_.empty() && wire_.begin()->first.first <= now_) {
      Message m = std::move(wire_.begin()->second);
      wire_.erase(wire_.begin());
      std::string to = m.to.value;
      if (!nodes_.count(to)) continue;
      if (cuts_.count(to) != cuts_.count(m.from.value)) continue;
      nodes_[to]->Step(std::move(m));
      Flush(to);
    }
  }

  void Flush(const std::string& id) {
    Node& n = *nodes_.at(id);
    while (n.HasReady()) {
      Ready rd = n.GetReady();
      if (!storage_.at(id)->Save(rd).ok()) throw Violation{"save failed"};
      for (const Entry& e : rd.entries) {
        std::optional<Term> prev =
            e.index == LogIndex{1} ? std::optional<Term>(Term{}) : n.log().TermAt(e.index - 1);
        RecordEntry(id, e, prev.value_or(Term{}));
      }
      StateMachine& sm = sm_.at(id);
      if (rd.snapshot && rd.restore) {
        sm.Restore(*rd.snapshot);
        ++snapshots_installed_;
      }
      for (const Entry& e : rd.committed) {
        Apply(id, sm, e);
        if (e.type == EntryType::kConfChange && id == "n1") ++conf_changes_;
      }
      for (Message& m : rd.messages)
        Send(std::move(m));
      n.Advance(rd);
      if (sm.applied >= n.log().snapshot_index() + static_cast<uint64_t>(compact_every_))
        n.Compact(sm.applied, sm.Snapshot());
    }
    Check(id);
  }

  void Send(Message m) {
    if (Chance(drop_percent_)) return;
    int copies = Chance(dup_percent_) ? 2 : 1;
    for (int i = 0; i < copies; ++i)
      wire_.emplace(std::make_pair(now_ + static_cast<uint64_t>(Uniform(0, max_delay_)), seq_++),
                    m);
  }

  // Log Matching (§5.3): an (index, term) pair names one entry everywhere,
  // and the same predecessor term; by induction equal pairs mean equal prefixes.
  void RecordEntry(const std::string& id, const Entry& e, Term prev_term) {
    auto key = std::make_pair(e.index.value, e.term.value);
    std::string body = std::string(ToString(e.type)) + ":" + e.data;
    auto [it, inserted] = entries_.try_emplace(key, body, prev_term.value);
    if (!inserted && (it->second.first != body || it->second.second != prev_term.value))
      throw Violation{"log matching: " + id + " holds a different entry at index " +
                      std::to_string(e.index.value) + " term " + std::to_string(e.term.value)};
  }

  // State Machine Safety (§5.4.3): an index applies the same entry everywhere.
  void Apply(const std::string& id, StateMachine& sm, const Entry& e) {
    auto [it, inserted] = applied_.try_emplace(e.index.value, e.term.value, e.data);
    if (!inserted && (it->second.first != e.term.value || it->second.second != e.data))
      throw Violation{"state machine safety: " + id + " applied a different entry at index " +
                      std::to_string(e.index.value)};
    if (e.type == EntryType::kNormal) {
      sm.data.push_back(e.data);
      acked_.insert(e.data);  // committed: a client would have been told
    }
    sm.applied = e.index;
  }

  void Check(const std::string& id) {
    Node& n = *nodes_.at(id);
    n.CheckInvariants();
    // Election Safety (§5.2): at most one leader per term, over all time.
    if (n.role() == Role::kLeader) {
      auto [it, inserted] = leaders_.try_emplace(n.term().value, id);
      if (!inserted && it->second != id)
        throw Violation{"two leaders in term " + std::to_string(n.term().value) + ": " +
                        it->second + " and " + id};
      // Leader Completeness (§5.4): every committed entry is in the leader's log.
      if (inserted) {
        for (const auto& [index, entry] : applied_) {
          LogIndex i{index};
          if (i <= n.log().snapshot_index()) continue;
          if (!n.log().Matches(i, Term{entry.first}))
            throw Violation{"leader completeness: " + id + " (term " +
                            std::to_string(n.term().value) + ") lacks committed index " +
                            std::to_string(index)};
        }
      }
    }
    // Term and commit index never decrease, also across restarts.
    auto& [term, commit] = monotonic_[id];
    if (n.term().value < term) throw Violation{"term of " + id + " decreased"};
    if (n.log().committed().value < commit) throw Violation{"commit index of " + id + " decreased"};
    term = n.term().value;
    commit = n.log().committed().value;
  }

  bool Converged() {
    Node* leader = Leader();
    if (!leader) return false;
    const ConfState& conf = leader->conf();
    if (leader->log().committed() != leader->log().last_index()) return false;
    for (const auto& [id, n] : nodes_) {
      if (!conf.Contains(NodeId{id})) continue;
      if (n->leader() != leader->id()) return false;
      if (n->log().applied() != leader->log().committed()) return false;
      if (n->conf() != conf) return false;
    }
    // Every acknowledged proposal is applied on every member.
    for (const auto& [id, n] : nodes_) {
      if (!conf.Contains(NodeId{id})) continue;
      std::set<std::string> have(sm_.at(id).data.begin(), sm_.at(id).data.end());
      for (const std::string& d : acked_)
        if (!have.count(d)) return false;
      if (sm_.at(id).data != sm_.at(leader->id().value).data)
        throw Violation{"state machines differ between " + id + " and the leader"};
    }
    return true;
  }

  uint64_t seed_;
  std::mt19937_64 rng_;
  std::vector<std::string> ids_;
  std::map<std::string, std::unique_ptr<Node>> nodes_;
  std::map<std::string, std::unique_ptr<MemoryStorage>> storage_;
  std::map<std::string, StateMachine> sm_;
  std::multimap<std::pair<uint64_t, uint64_t>, Message> wire_;
  std::set<std::string> cuts_;  // one side of the current partition
  uint64_t now_ = 0, seq_ = 0;
  int drop_percent_ = 0, dup_percent_ = 0, max_delay_ = 0, compact_every_ = 10;
  int next_proposal_ = 0, restarts_ = 0, crashes_ = 0, snapshots_installed_ = 0, conf_changes_ = 0;

  std::map<std::pair<uint64_t, uint64_t>, std::pair<std::string, uint64_t>> entries_;
  std::map<uint64_t, std::pair<uint64_t, std::string>> applied_;
  std::map<uint64_t, std::string> leaders_;
  std::map<std::string, std::pair<uint64_t, uint64_t>> monotonic_;
  std::set<std::string> acked_;
};

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

void RunSeed(uint64_t seed, Coverage* coverage) {
  // Shape from the seed: 3 or 5 voters, 0-2 learners.
  int voters = seed % 2 == 0 ? 3 : 5;
  int learners = static_cast<int>((seed / 2) % 3);
  Simulation sim(seed, voters, learners);
  try {
    sim.Run(400, 600);
    sim.AddTo(*coverage);
  } catch (const Violation& v) {
    ADD_FAILURE() << "seed " << seed << " (" << voters << " voters, " << learners
                  << " learners): " << v.what
                  << "\n  re-run exactly this seed: RINGWATCH_SIM_SEED=" << seed << " "
                  << ::testing::internal::GetArgvs()[0] << " --gtest_filter=RaftSimulation.*";
  }
}

TEST(RaftSimulation, InvariantsHoldAndAcknowledgedProposalsApplyEverywhere) {
  Coverage c;
  if (uint64_t one = EnvOr("RINGWATCH_SIM_SEED", 0)) {
    RunSeed(one, &c);
    return;
  }
  uint64_t seeds = EnvOr("RINGWATCH_SIM_SEEDS", 2000);
  for (uint64_t seed = 1; seed <= seeds && !HasFailure(); ++seed)
    RunSeed(seed, &c);
  RecordProperty("seeds", static_cast<int>(seeds));
  RecordProperty("acknowledged_proposals", static_cast<int>(c.acked));
  RecordProperty("leaders", static_cast<int>(c.leaders));
  RecordProperty("crashes", static_cast<int>(c.crashes));
  RecordProperty("snapshots_installed", static_cast<int>(c.snapshots_installed));
  RecordProperty("conf_changes", static_cast<int>(c.conf_changes));
  // The faults must actually have happened, and work must have committed.
  EXPECT_GT(c.acked, seeds * 10);
  EXPECT_GT(c.leaders, seeds * 2);
  EXPECT_GT(c.crashes, seeds * 2);
  EXPECT_GT(c.snapshots_installed, seeds / 4);
  EXPECT_GT(c.conf_changes, seeds);
}

}  // namespace
}  // namespace ringwatch::raft
