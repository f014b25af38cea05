#pragma once
// The vocabulary of the Raft core: strong ids and indices (so a term can never
// be passed where a log index is expected), log entries, configurations,
// snapshots and the messages servers exchange. Plain values; no I/O.
//
// Reference: Ongaro & Ousterhout, "In Search of an Understandable Consensus
// Algorithm" (2014) and Ongaro's dissertation (2014), cited as §N below.

#include <compare>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace ringwatch::raft {

// A 64-bit counter that only compares with, and adds to, its own kind.
template <typename Tag>
struct Counter {
  uint64_t value = 0;

  constexpr Counter() = default;
  constexpr explicit Counter(uint64_t v) : value(v) {}
  constexpr auto operator<=>(const Counter&) const = default;

  constexpr Counter operator+(uint64_t n) const { return Counter(value + n); }
  // Precondition: value >= n (indices and terms never go below zero).
  constexpr Counter operator-(uint64_t n) const { return Counter(value - n); }
};

using Term = Counter<struct TermTag>;
using LogIndex = Counter<struct LogIndexTag>;

// A server's name; the empty id means "none" (no leader, no vote).
struct NodeId {
  std::string value;

  NodeId() = default;
  explicit NodeId(std::string v) : value(std::move(v)) {}
  bool empty() const { return value.empty(); }
  auto operator<=>(const NodeId&) const = default;
};

enum class EntryType : uint8_t {
  kNormal = 1,      // application data
  kEmpty = 2,       // the no-op a new leader appends to commit its term (§5.4.2, §8)
  kConfChange = 3,  // one single-server membership change (dissertation §4.1)
  kBootstrap = 4,   // the initial configuration, identical on every bootstrap voter
};

struct Entry {
  Term term;
  LogIndex index;
  EntryType type = EntryType::kNormal;
  std::string data;

  bool operator==(const Entry&) const = default;
};

// The servers of a configuration. Voters elect and form quorums; learners
// receive the log but never vote and never count towards a quorum.
// Invariant: voters and learners are disjoint.
struct ConfState {
  std::set<NodeId> voters;
  std::set<NodeId> learners;

  bool operator==(const ConfState&) const = default;
  bool Contains(const NodeId& id) const { return voters.count(id) || learners.count(id); }
};

enum class ConfChangeType : uint8_t {
  kAddLearner = 1,  // a new server joins as a learner
  kPromote = 2,     // a learner becomes a voter
  kRemove = 3,      // a voter or learner leaves the configuration
};

// One single-server change. `context` travels with it in the log (the agent
// puts the server's peer address there, so every member learns it).
struct ConfChange {
  ConfChangeType type = ConfChangeType::kAddLearner;
  NodeId node;
  std::string context;

  bool operator==(const ConfChange&) const = default;
};

// The state every server must have on stable storage before it answers an
// RPC (Figure 2): currentTerm, votedFor, plus the commit index so that it
// never moves backwards across a restart.
struct HardState {
  Term term;
  NodeId vote;
  LogIndex commit;

  bool operator==(const HardState&) const = default;
};

// A compacted prefix of the log: the state machine's image at `index`, and the
// configuration in force at `index` (§7).
struct Snapshot {
  LogIndex index;
  Term term;
  ConfState conf;
  std::string data;

  bool operator==(const Snapshot&) const = default;
};

enum class MessageType : uint8_t {
  kAppend = 1,          // AppendEntries (§5.3): index/log_term = previous entry
  kAppendResponse = 2,  // index = match on success; reject with hint index/log_term
  kHeartbeat = 3,       // an empty AppendEntries that carries only the commit index
  kHeartbeatResponse = 4,
  kVote = 5,  // RequestVote (§5.2): index/log_term = last entry
  kVoteResponse = 6,
  kPreVote = 7,  // would you vote for me at `term`? (dissertation §9.6); changes nothing
  kPreVoteResponse = 8,
  kSnapshot = 9,     // InstallSnapshot (§7), whole snapshot in one message
  kTimeoutNow = 10,  // leadership transfer: start an election now (dissertation §3.10)
  kPropose = 11,     // a follower forwards proposals to its leader
};

const char* ToString(MessageType type);
const char* ToString(EntryType type);
const char* ToString(ConfChangeType type);

struct Message {
  MessageType type = MessageType::kAppend;
  NodeId from;
  NodeId to;
  Term term;
  Term log_term;
  LogIndex index;
  LogIndex commit;
  bool reject = false;
  LogIndex reject_hint;
  // Vote/PreVote sent because of TimeoutNow: voters must not ignore it for
  // their leader lease.
  bool transfer = false;
  std::vector<Entry> entries;
  std::optional<Snapshot> snapshot;

  bool operator==(const Message&) const = default;
};

}  // namespace ringwatch::raft
