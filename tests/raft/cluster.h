#pragma once
// A test cluster of raft::Node objects wired by an in-memory, in-order
// network (etcd raft's `network` helper in spirit). Every node persists each
// Ready to its own MemoryStorage before its messages are queued, and applies
// committed entries to a tiny state machine: the list of normal entries' data.
// Deterministic: nodes and messages are processed in a fixed order.

#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raft/node.h"
#include "raft/storage.h"

namespace ringwatch::raft::testing {

inline NodeId Id(const std::string& s) {
  return NodeId{s};
}

// The applied state of one node. Snapshots carry it as lines of text.
struct StateMachine {
  std::vector<std::string> data;  // normal entries' data, in log order
  LogIndex applied;

  std::string Snapshot() const {
    std::string out;
    for (const std::string& d : data)
      out += d + "\n";
    return out;
  }
  void Restore(const raft::Snapshot& s) {
    data.clear();
    std::string line;
    for (char c : s.data) {
      if (c == '\n') {
        data.push_back(line);
        line.clear();
      } else {
        line += c;
      }
    }
    applied = s.index;
  }
};

class Cluster {
 public:
  // Voters (and learners) of a new cluster, all bootstrapped with the same
  // first entry.
  explicit Cluster(std::vector<std::string> voters, std::vector<std::string> learners = {},
                   std::function<void(Options&)> tweak = {})
      : tweak_(std::move(tweak)) {
    for (const auto& v : voters)
      conf_.voters.insert(Id(v));
    for (const auto& l : learners)
      conf_.learners.insert(Id(l));
    for (const auto& v : voters)
      Add(v, BootstrapRestored());
    for (const auto& l : learners)
      Add(l, BootstrapRestored());
  }

  Restored BootstrapRestored() const { return Bootstrap(conf_); }

  Options OptionsFor(const std::string& id) const {
    Options o;
    o.id = Id(id);
    o.election_ticks = 10;
    o.heartbeat_ticks = 1;
    o.seed = 42;
    if (tweak_) tweak_(o);
    return o;
  }

  // Adds (or replaces) a node started from `restored`, which is also written
  // to its storage as if it had been persisted before.
  void Add(const std::string& id, Restored restored) {
    auto& st = storage_[id];
    st = std::make_unique<MemoryStorage>();
    Ready seed;
    seed.hard_state = restored.hard_state;
    if (restored.snapshot) seed.snapshot = restored.snapshot;
    seed.entries = restored.entries;
    (void)st->Save(seed);
    nodes_[id] = std::make_unique<Node>(OptionsFor(id), std::move(restored));
    sm_[id] = StateMachine{};
  }

  Node& node(const std::string& id) { return *nodes_.at(id); }
  bool alive(const std::string& id) const { return nodes_.count(id) > 0; }
  StateMachine& sm(const std::string& id) { return sm_.at(id); }
  MemoryStorage& storage(const std::string& id) { return *storage_.at(id); }

  // Persists, applies and queues the messages of one node's pending Ready.
  // Returns the messages it produced.
  std::vector<Message> Flush(const std::string& id) {
    std::vector<Message> out;
    Node& n = node(id);
    while (n.HasReady()) {
      Ready rd = n.GetReady();
      EXPECT_TRUE(storage_.at(id)->Save(rd).ok());
      if (on_save_) on_save_(id, rd);
      StateMachine& sm = sm_.at(id);
      if (rd.snapshot && rd.restore) sm.Restore(*rd.snapshot);
      for (const Entry& e : rd.committed) {
        if (e.type == EntryType::kNormal) sm.data.push_back(e.data);
        sm.applied = e.index;
      }
      for (Message& m : rd.messages)
        out.push_back(m);
      n.Advance(rd);
      n.CheckInvariants();
    }
    return out;
  }

  void FlushAll() {
    for (auto& [id, n] : nodes_)
      for (Message& m : Flush(id))
        queue_.push_back(std::move(m));
  }

  // Delivers queued messages (and those they cause) until the network is quiet.
  // Messages to crashed nodes or matched by the drop filter vanish.
  void Stabilize(int max_messages = 100000) {
    FlushAll();
    while (!queue_.empty() && max_messages-- > 0) {
      Message m = std::move(queue_.front());
      queue_.pop_front();
      Deliver(std::move(m));
    }
    ASSERT_TRUE(queue_.empty()) << "network did not quiesce";
  }

  void Deliver(Message m) {
    std::string to = m.to.value;
    if (!alive(to) || Dropped(m)) return;
    ++delivered_[m.type];
    node(to).Step(std::move(m));
    node(to).CheckInvariants();
    for (Message& out : Flush(to))
      queue_.push_back(std::move(out));
  }

  bool Dropped(const Message& m) const {
    if (cut_.count({m.from.value, m.to.value})) return true;
    return drop_ && drop_(m);
  }

  // Ticks one node once and delivers everything that follows.
  void Tick(const std::string& id, int times = 1) {
    for (int i = 0; i < times; ++i) {
      node(id).Tick();
      Stabilize();
    }
  }
  void TickAll(int times = 1) {
    for (int i = 0; i < times; ++i) {
      for (auto& [id, n] : nodes_)
        n->Tick();
      Stabilize();
    }
  }

  // Makes `id` leader with an immediate campaign (pre-vote included).
  void Elect(const std::string& id) {
    node(id).Campaign();
    Stabilize();
  }

  // Proposes at `id` and delivers everything.
  Proposal Propose(const std::string& id, const std::string& data) {
    auto p = node(id).Propose(data);
    EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().detail);
    Stabilize();
    return p.ok() ? p.value() : Proposal{};
  }

  void Isolate(const std::string& id) {
    for (auto& [other, n] : nodes_)
      Cut(id, other);
    for (const auto& [other, st] : storage_)
      Cut(id, other);
  }
  void Cut(const std::string& a, const std::string& b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void Heal() {
    cut_.clear();
    drop_ = nullptr;
  }
  void SetDrop(std::function<bool(const Message&)> drop) { drop_ = std::move(drop); }
  // Called with every Ready a node persists (to mirror it into another storage).
  void OnSave(std::function<void(const std::string&, const Ready&)> f) { on_save_ = std::move(f); }

  // A crash loses nothing persisted: restart builds a new Node from storage.
  void Crash(const std::string& id) { nodes_.erase(id); }
  void Restart(const std::string& id) {
    auto loaded = storage_.at(id)->Load();
    ASSERT_TRUE(loaded.ok());
    nodes_[id] = std::make_unique<Node>(OptionsFor(id), std::move(loaded).value());
    StateMachine fresh;
    if (const auto& s = storage_.at(id)->snapshot()) fresh.Restore(*s);
    sm_[id] = fresh;
  }

  // Ids of all nodes that currently consider themselves leader.
  std::vector<std::string> Leaders() const {
    std::vector<std::string> out;
    for (const auto& [id, n] : nodes_)
      if (n->role() == Role::kLeader) out.push_back(id);
    return out;
  }

  uint64_t delivered(MessageType t) const {
    auto it = delivered_.find(t);
    return it == delivered_.end() ? 0 : it->second;
  }
  void ResetDelivered() { delivered_.clear(); }
  std::deque<Message>& queue() { return queue_; }
  const ConfState& initial_conf() const { return conf_; }

 private:
  std::function<void(Options&)> tweak_;
  ConfState conf_;
  std::map<std::string, std::unique_ptr<Node>> nodes_;
  std::map<std::string, std::unique_ptr<MemoryStorage>> storage_;
  std::map<std::string, StateMachine> sm_;
  std::deque<Message> queue_;
  std::set<std::pair<std::string, std::string>> cut_;
  std::function<bool(const Message&)> drop_;
  std::function<void(const std::string&, const Ready&)> on_save_;
  std::map<MessageType, uint64_t> delivered_;
};

// The log of a node, as (index, term) pairs from the first entry held.
inline std::vector<std::pair<uint64_t, uint64_t>> LogOf(const Node& n) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (LogIndex i = n.log().first_index(); i <= n.log().last_index(); i = i + 1)
    out.emplace_back(i.value, n.log().At(i).term.value);
  return out;
}

}  // namespace ringwatch::raft::testing
