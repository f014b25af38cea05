#include "tests/agent/core/agent_sim.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "core/log.h"
#include "membership/command.h"
#include "membership/view.h"

namespace ringwatch::agent::sim {

std::string AddressOf(const std::string& id) {
  return id + ":7420";
}

AgentSim::AgentSim(uint64_t seed, SimOptions options)
    : options_(std::move(options)), rng_(seed), seed_(seed) {
  // Thousands of simulated agents: their lines only with RINGWATCH_AGENT_SIM_LOG=1.
  static const bool quiet = [] {
    if (!std::getenv("RINGWATCH_AGENT_SIM_LOG")) log::SetLevel(log::Level::kError);
    return true;
  }();
  (void)quiet;
  for (int i = 1; i <= options_.members; ++i)
    ids_.push_back("n" + std::to_string(i));
  if (options_.seeds.empty())
    for (const auto& id : ids_)
      options_.seeds.push_back(AddressOf(id));
  for (int i = 0; i < options_.voters; ++i)
    bootstrap_.voters.insert(raft::NodeId{ids_[static_cast<std::size_t>(i)]});
  if (options_.formed) {
    membership::View view;
    raft::ConfState conf = bootstrap_;
    for (const std::string& id : ids_) {
      agents_[id].identity = core::SigningKey::Generate();
      view.Apply(
          {WallMs(), membership::AddMember{membership::MemberInfo{
                         id, AddressOf(id), "", id, 1, 1000, agents_[id].identity.public_key}}});
      if (!conf.Contains(raft::NodeId{id})) conf.learners.insert(raft::NodeId{id});
    }
    formed_ = raft::Snapshot{raft::LogIndex{1}, raft::Term{1}, conf, view.Encode()};
  }
  for (const auto& id : options_.start ? *options_.start : ids_)
    Start(id);
}

core::Instant AgentSim::Now() const {
  return core::Instant{} + step_ * kStep;
}

void AgentSim::Start(const std::string& id, std::vector<std::string> seeds) {
  SimAgent& a = agents_[id];
  a.id = id;
  a.up = true;
  a.stopped = false;
  ++a.life;
  history_checked_.erase(id);
  a.joined_at_ms.reset();
  a.addresses.clear();  // a new process: a new transport
  a.held.clear();
  if (!a.storage) {
    a.storage = std::make_unique<raft::MemoryStorage>();
    if (formed_) {
      raft::Ready first;
      first.snapshot = formed_;
      first.hard_state = raft::HardState{raft::Term{1}, raft::NodeId{}, raft::LogIndex{1}};
      (void)a.storage->Save(first);
    }
  }
  CoreOptions o;
  o.self =
      membership::MemberInfo{id, AddressOf(id), "", id, 1, static_cast<uint64_t>(1000 + step_)};
  if (a.identity.secret_key.empty()) a.identity = core::SigningKey::Generate();
  o.identity = a.identity;
  o.seeds = seeds.empty() ? options_.seeds : std::move(seeds);
  for (const auto& v : bootstrap_.voters)
    o.bootstrap_voters.push_back(v.value);
  o.restart_grace = options_.restart_grace;
  o.rejoin_probation = options_.rejoin_probation;
  o.random_seed = seed_ * 7919 + static_cast<uint64_t>(step_) + std::hash<std::string>{}(id);
  a.core = std::make_unique<AgentCore>(o, *a.storage);
  auto started = a.core->Start(Time());
  if (!started.ok()) std::abort();  // memory storage never fails
  Perform(a, std::move(started).value());
}

void AgentSim::Crash(const std::string& id) {
  if (agents_.at(id).up) ProcessGone(id);
  agents_.at(id).up = false;
}

void AgentSim::ProcessGone(const std::string& id, bool by_plan) {
  for (const auto& [other, b] : agents_) {
    if (other == id || !b.up || !b.held.count(id)) continue;
    if (Cut(id, other) || one_way_.count({id, other})) continue;  // the FIN is lost
    Item item;
    item.kind = Item::kClosed;
    item.from = id;
    item.to = other;
    item.by_plan = by_plan;
    Send(std::move(item), std::chrono::milliseconds(Uniform(0, 2)));
  }
}

void AgentSim::LoseTail(const std::string& id, std::size_t entries) {
  SimAgent& a = agents_.at(id);
  if (a.up) ProcessGone(id);
  a.up = false;
  auto loaded = a.storage->Load();
  if (!loaded.ok()) std::abort();
  raft::Restored r = std::move(loaded).value();
  r.entries.resize(r.entries.size() > entries ? r.entries.size() - entries : 1);
  a.storage = std::make_unique<raft::MemoryStorage>();
  raft::Ready first;
  first.snapshot = r.snapshot;
  first.hard_state = r.hard_state;
  first.entries = r.entries;
  (void)a.storage->Save(first);
}

void AgentSim::Wipe(const std::string& id) {
  SimAgent& a = agents_.at(id);
  if (a.up) ProcessGone(id);
  a.up = false;
  a.storage = std::make_unique<raft::MemoryStorage>();
  a.identity = {};  // the key was on the lost disk too
}

void AgentSim::CheckHistory() {
  for (const auto& [id, a] : agents_) {
    if (!a.up || !history_violation_.empty()) continue;
    const raft::RaftLog& log = a.core->node()->log();
    uint64_t& checked = history_checked_[id];
    if (checked > log.committed().value) checked = 0;  // a new life (wiped, cut)
    auto check = [&](uint64_t index, uint64_t term, std::size_t hash) {
      auto [it, fresh] = history_.try_emplace(index, term, hash);
      if (!fresh && it->second != std::make_pair(term, hash))
        history_violation_ = "at " + std::to_string(NowMs()) + " ms, " + id +
                             " committed a different entry at index " + std::to_string(index) +
                             " (term " + std::to_string(term) + ", was term " +
                             std::to_string(it->second.first) + ")";
    };
    const uint64_t snapshot = log.snapshot_index().value;
    if (snapshot > checked && snapshot > 0 && log.TermAt(log.snapshot_index())) {
      auto known = history_.find(snapshot);
      if (known != history_.end() && known->second.first != log.TermAt(log.snapshot_index())->value)
        history_violation_ = "at " + std::to_string(NowMs()) + " ms, " + id +
                             " holds a snapshot at index " + std::to_string(snapshot) +
                             " of another term";
      checked = snapshot;
    }
    for (uint64_t i = std::max(checked + 1, log.first_index().value); i <= log.committed().value;
         ++i) {
      const raft::Entry& e = log.At(raft::LogIndex{i});
      check(i, e.term.value, std::hash<std::string>{}(e.data));
    }
    checked = log.committed().value;
  }
}

void AgentSim::Stop(const std::string& id, StopMode mode) {
  SimAgent& a = agents_.at(id);
  Perform(a, a.core->Stop(mode, 1, Time()));
}

void AgentSim::AcquireLock(const std::string& id, const LockRequest& request, uint64_t token) {
  SimAgent& a = agents_.at(id);
  Perform(a, a.core->AcquireLock(request, token, Time()));
}

void AgentSim::RenewLock(const std::string& id, const std::string& name, uint64_t lock_token,
                         uint64_t token) {
  SimAgent& a = agents_.at(id);
  Perform(a, a.core->RenewLock(name, lock_token, token, Time()));
}

void AgentSim::ReleaseLock(const std::string& id, const std::string& name, uint64_t lock_token,
                           uint64_t token) {
  SimAgent& a = agents_.at(id);
  Perform(a, a.core->ReleaseLock(name, lock_token, token, Time()));
}

int AgentSim::Uniform(int lo, int hi) {
  return std::uniform_int_distribution<int>(lo, hi)(rng_);
}

bool AgentSim::Cut(const std::string& a, const std::string& b) const {
  return side_.count(a) != side_.count(b);
}

std::string AgentSim::IdAt(const std::string& address) const {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || address.substr(colon) != ":7420") return "";
  const std::string id = address.substr(0, colon);
  return agents_.count(id) ? id : "";
}

void AgentSim::Send(Item item, std::chrono::milliseconds delay) {
  if (item.kind != Item::kPersisted && item.kind != Item::kProbe && item.kind != Item::kClosed) {
    const SimAgent& from = agents_.at(item.from);
    item.origin = PeerOrigin{from.id, from.core->self().incarnation, from.identity.public_key};
  }
  int64_t due = NowMs() + delay.count();
  if (item.kind == Item::kRaft || item.kind == Item::kMember) {
    // One TCP connection per pair: frames arrive in the order they were sent.
    int64_t& last = link_due_[{item.from, item.to}];
    due = std::max(due, last);
    last = due;
  }
  queue_.emplace(std::make_pair(due, seq_++), std::move(item));
}

void AgentSim::Perform(SimAgent& a, CoreEffects fx) {
  for (auto& [id, address] : fx.addresses)
    a.addresses[id.value] = address;
  for (raft::Message& m : fx.raft) {
    auto it = a.addresses.find(m.to.value);
    const std::string to = it == a.addresses.end() ? "" : IdAt(it->second);
    if (to.empty()) {
      a.core->Unreachable(core::MemberId{m.to.value});
      continue;
    }
    Item item;
    item.kind = Item::kRaft;
    item.from = a.id;
    item.to = to;
    item.raft = std::move(m);
    Send(std::move(item), std::chrono::milliseconds(Uniform(0, 2)));
  }
  for (MembershipSend& s : fx.membership) {
    std::string to;
    if (const auto* member = std::get_if<core::MemberId>(&s.to)) {
      auto it = a.addresses.find(member->value);
      if (it != a.addresses.end()) to = IdAt(it->second);
    } else if (const std::string& seed = std::get<SeedAddress>(s.to).value;
               seed == AddressOf(a.id)) {
      a.core->OnSeedFailed(seed, "this agent", true);
      continue;
    } else {
      to = IdAt(seed);
      if (to.empty() || !agents_.at(to).up) {
        a.core->OnSeedFailed(seed, to.empty() ? "does not resolve" : "connection refused", false);
        continue;
      }
    }
    if (to.empty() || mute_membership_.count(a.id)) continue;
    Item item;
    item.kind = Item::kMember;
    item.from = a.id;
    item.to = to;
    item.member = std::move(s.message);
    Send(std::move(item), std::chrono::milliseconds(Uniform(0, 2)));
  }
  if (fx.heartbeat) {
    for (const auto& [id, address] : a.core->HeartbeatTargets()) {
      const std::string to = IdAt(address);
      if (to.empty() || Uniform(0, 9999) < loss_per_10000_) continue;
      Item item;
      item.kind = Item::kHeartbeat;
      item.from = a.id;
      item.to = to;
      item.heartbeat = *fx.heartbeat;
      Send(std::move(item), std::chrono::milliseconds(Uniform(0, jitter_ms_)));
    }
  }
  for (const ProbeRequest& p : fx.probes) {
    const std::string target = IdAt(p.address);
    Item item;
    item.kind = Item::kProbe;
    item.from = a.id;
    item.to = a.id;
    item.probed = p.id.value;
    // A crashed agent's port refuses; a cut-off one times out; a live one
    // (even a stalled one) accepts.
    auto delay = std::chrono::milliseconds(1);
    if (target.empty() || !agents_.at(target).up) {
      item.result = membership::ProbeResult::kRefused;
    } else if (Cut(a.id, target) || one_way_.count({a.id, target}) ||
               one_way_.count({target, a.id})) {
      item.result = membership::ProbeResult::kTimeout;
      delay = std::chrono::seconds(1);
    } else {
      item.result = membership::ProbeResult::kConnected;
    }
    Send(std::move(item), delay);
  }
  for (Completion& c : fx.completions)
    a.completions.push_back(std::move(c));
  if (fx.connections_changed) {
    a.held.clear();
    for (const core::MemberId& id : a.core->HeldConnections())
      a.held.insert(id.value);
  }
  if (fx.stopped) {
    if (a.up) ProcessGone(a.id, true);
    a.stopped = true;
    a.up = false;
  }
  if (!a.joined_at_ms && a.core->coordinator().Alive()) a.joined_at_ms = NowMs();
  for (const core::MemberId& id : fx.suspected)
    ++a.suspicions[id.value];
  if (fx.persist && a.up) {
    if (a.persist_delay.count() == 0) {
      (void)a.storage->Save(*fx.persist);  // memory storage never fails
      Perform(a, a.core->OnPersisted(std::nullopt, Time()));
    } else {
      Item item;
      item.kind = Item::kPersisted;
      item.from = item.to = a.id;
      item.persist = std::move(fx.persist);
      item.life = a.life;
      Send(std::move(item), a.persist_delay);
    }
  }
}

void AgentSim::Deliver(Item& item) {
  auto dst = agents_.find(item.to);
  // (A close comes from a process that has ended.)
  if (dst == agents_.end() || !dst->second.up ||
      (!agents_.at(item.from).up && item.kind != Item::kClosed))
    return;
  if (Cut(item.from, item.to) || one_way_.count({item.from, item.to})) return;
  SimAgent& a = dst->second;
  if (auto p = paused_until_ms_.find(a.id); p != paused_until_ms_.end() && NowMs() < p->second) {
    // Paused: it waits in the socket until the process runs again.
    queue_.emplace(std::make_pair(p->second, seq_++), std::move(item));
    return;
  }
  switch (item.kind) {
    case Item::kPersisted:
      if (item.life != a.life) return;  // it crashed before the disk finished
      (void)a.storage->Save(*item.persist);
      Perform(a, a.core->OnPersisted(std::nullopt, Time()));
      break;
    case Item::kRaft:
      if (auto deaf = raft_deaf_until_ms_.find(a.id);
          deaf != raft_deaf_until_ms_.end() && NowMs() < deaf->second)
        return;
      if (Refusal r = a.core->StepRaft(item.origin, std::move(*item.raft)); r != Refusal::kNone)
        ++a.refused[ToString(r)];
      Perform(a, a.core->Flush(Time()));
      break;
    case Item::kMember: {
      Refusal r = Refusal::kNone;
      Perform(a, a.core->OnPeerMessage(item.origin, *item.member, Time(), &r));
      if (r != Refusal::kNone) ++a.refused[ToString(r)];
      break;
    }
    case Item::kHeartbeat: {
      if (lossy_links_.count({item.from, item.to})) return;
      const auto receipt = a.core->OnHeartbeat(item.origin, *item.heartbeat, Time());
      if (receipt.refused != Refusal::kNone) ++a.refused[ToString(receipt.refused)];
      if (receipt.ack) {
        Item ack;
        ack.kind = Item::kAck;
        ack.from = a.id;
        ack.to = item.from;
        ack.ack = HeartbeatAck{a.id, item.heartbeat->sequence, item.heartbeat->send_time_ns};
        Send(std::move(ack), std::chrono::milliseconds(Uniform(0, jitter_ms_)));
      }
      break;
    }
    case Item::kAck:
      a.core->OnAck(*item.ack, Time());
      break;
    case Item::kProbe:
      Perform(a, a.core->OnProbeResult(core::MemberId{item.probed}, item.result, Time()));
      break;
    case Item::kClosed:
      Perform(a, a.core->OnConnectionClosed(core::MemberId{item.from}, item.by_plan, Time()));
      break;
  }
}

void AgentSim::StepOnce() {
  ++step_;
  while (!queue_.empty() && queue_.begin()->first.first <= NowMs()) {
    Item item = std::move(queue_.begin()->second);
    queue_.erase(queue_.begin());
    Deliver(item);
  }
  for (auto& [id, a] : agents_) {
    if (!a.up || Now() < a.core->NextWakeup()) continue;
    if (auto p = paused_until_ms_.find(id); p != paused_until_ms_.end() && NowMs() < p->second)
      continue;
    Perform(a, a.core->Advance(Time()));
  }
  if (check_history_) CheckHistory();
}

void AgentSim::Pause(const std::string& id, std::chrono::milliseconds d) {
  paused_until_ms_[id] = NowMs() + d.count();
}

void AgentSim::Run(std::chrono::milliseconds d) {
  for (int64_t i = 0; i < d / kStep; ++i)
    StepOnce();
}

bool AgentSim::AwaitEverywhere(const std::vector<std::string>& ids, const std::string& state,
                               std::chrono::milliseconds limit) {
  return RunUntil(
      [&] {
        for (const auto& id : ids)
          if (StateEverywhere(id) != state) return false;
        return true;
      },
      limit);
}

bool AgentSim::AwaitAllAlive(std::chrono::milliseconds limit) {
  return RunUntil(
      [&] {
        if (!ViewsIdentical()) return false;
        for (const auto& id : ids_)
          if (StateEverywhere(id) != "alive") return false;
        return true;
      },
      limit);
}

bool AgentSim::CrashAndAwaitDeath(const std::string& id) {
  Crash(id);
  return RunUntil([&] { return StateEverywhere(id) == "dead"; }, std::chrono::seconds(2));
}

std::string AgentSim::StateEverywhere(const std::string& id) const {
  std::string state;
  for (const auto& [aid, a] : agents_) {
    if (!a.up) continue;
    const std::string s = StateIn(aid, id);
    if (state.empty()) state = s;
    if (s != state) return "";
  }
  return state;
}

std::string AgentSim::StateIn(const std::string& agent, const std::string& id) const {
  const membership::Member* m = agents_.at(agent).core->view().Find(id);
  return m ? membership::ToString(m->state) : "absent";
}

bool AgentSim::AllJoined() const {
  for (const auto& [id, a] : agents_)
    if (a.up && !a.core->coordinator().Alive()) return false;
  return true;
}

bool AgentSim::ViewsIdentical() const {
  std::map<uint64_t, std::string> by_applied;
  for (const auto& [id, a] : agents_) {
    if (!a.up) continue;
    auto [it, fresh] =
        by_applied.try_emplace(a.core->node()->log().applied().value, a.core->view().Encode());
    if (!fresh && it->second != a.core->view().Encode()) return false;
  }
  return true;
}

std::size_t AgentSim::DeadEvents() const {
  for (const auto& [id, a] : agents_) {
    if (!a.up) continue;
    std::size_t n = 0;
    for (const membership::Event& e : a.core->view().events())
      n += e.kind == membership::EventKind::kDead ? 1 : 0;
    return n;
  }
  return 0;
}

std::string AgentSim::Leader() const {
  for (const auto& [id, a] : agents_)
    if (a.up && a.core->node()->role() == raft::Role::kLeader) return id;
  return "";
}

uint64_t Seeds() {
  const char* v = std::getenv("RINGWATCH_AGENT_SIM_SEEDS");
  return v ? std::strtoull(v, nullptr, 10) : 20;
}

std::vector<uint64_t> SeedList() {
  if (const char* one = std::getenv("RINGWATCH_AGENT_SIM_SEED"))
    return {std::strtoull(one, nullptr, 10)};
  std::vector<uint64_t> out;
  for (uint64_t s = 1; s <= Seeds(); ++s)
    out.push_back(s);
  return out;
}

std::vector<uint64_t> LargeSeedList(uint64_t fallback) {
  if (const char* one = std::getenv("RINGWATCH_AGENT_SIM_SEED"))
    return {std::strtoull(one, nullptr, 10)};
  const char* n = std::getenv("RINGWATCH_AGENT_SIM_LARGE_SEEDS");
  std::vector<uint64_t> seeds;
  for (uint64_t s = 1; s <= (n ? std::strtoull(n, nullptr, 10) : fallback); ++s)
    seeds.push_back(s);
  return seeds;
}

std::string Rerun(uint64_t seed) {
  const auto* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string filter =
      test ? std::string(test->test_suite_name()) + "." + test->name() : "AgentSimulation.*";
  return "re-run: RINGWATCH_AGENT_SIM_SEED=" + std::to_string(seed) +
         " build/release/tests/agent_core_tests --gtest_filter='" + filter + "'";
}

}  // namespace ringwatch::agent::sim
