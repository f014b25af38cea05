#pragma once
// RaftService: runs this agent's raft::Node. It owns the Node and its
// FileStorage (<data_dir>/raft), ticks it from a steady timer, feeds it the
// messages RaftTransport receives, and runs the Ready cycle after every input:
// persist (FileStorage::Save, fdatasync) → send → apply → Advance. A storage
// failure is fatal: the service stops and reports it (OnFatal), because
// going on without durable state could break Raft's safety.
//
// Timing: one tick is a quarter of raft.heartbeat_interval, so the leader's
// heartbeat is 4 ticks and the election timeout raft.election_timeout /
// tick; the tick lets the fast failover retry within a heartbeat or two.
//
// A new data directory: a member of cluster.bootstrap_voters writes the
// bootstrap entry (all bootstrap voters write the same one); with no
// bootstrap voters and no seeds the agent bootstraps a one-voter cluster of
// itself; otherwise it waits, empty, to be added by the leader.
//
// Threading: lives on the core io_context; call every method from it.

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/raft_transport.h"
#include "agent/status_snapshot.h"
#include "config/config.h"
#include "raft/file_storage.h"
#include "raft/node.h"

namespace ringwatch::agent {

class RaftService {
 public:
  struct Options {
    std::string node_id;
    std::string dir;  // <data_dir>/raft
    std::vector<std::string> bootstrap_voters;
    bool has_seeds = false;
    config::RaftConfig raft;
    uint64_t seed = 1;  // randomized election timeouts
  };

  RaftService(boost::asio::io_context& ioc, Options options, RaftTransport& transport,
              prometheus::Registry& registry);

  // Loads (or bootstraps) the durable state and starts ticking. Returns an
  // error message naming the file at fault, or "" on success.
  std::string Start();
  void Stop();

  // Leader: hand leadership to the most up-to-date voter, then call `done`
  // once another node leads or an election timeout has passed. Others call
  // `done` at once. For a graceful shutdown.
  void TransferLeadershipThen(std::function<void()> done);

  // Proposes `data`; `committed` runs once it is committed (true) or once it
  // is known lost (false: leadership changed before it committed).
  core::Result<raft::Proposal, raft::Rejection> Propose(std::string data,
                                                        std::function<void(bool)> committed = {});

  core::Result<raft::Proposal, raft::Rejection> ProposeConfChange(const raft::ConfChange& change);

  // The replicated state machine: committed entries in log order, a snapshot
  // that replaces the state (at start, or from the leader), and the state's
  // image for compaction. Set before Start().
  void OnApply(std::function<void(const raft::Entry&)> apply) { on_apply_ = std::move(apply); }
  void OnRestore(std::function<void(const raft::Snapshot&)> restore) {
    on_restore_ = std::move(restore);
  }
  void SnapshotSource(std::function<std::string()> source) { snapshot_source_ = std::move(source); }

  // The fast failover input; ignored when raft.failover_from_detector is off.
  void SetLeaderSuspected(bool suspected);

  void OnChange(std::function<void()> callback) { on_change_ = std::move(callback); }
  void OnFatal(std::function<void(const std::string&)> callback) {
    on_fatal_ = std::move(callback);
  }

  RaftView View() const;
  // The few facts read every heartbeat interval, without building a View.
  std::string leader() const { return node_ ? node_->leader().value : std::string(); }
  bool is_leader() const { return node_ && node_->role() == raft::Role::kLeader; }
  uint64_t term() const { return node_ ? node_->term().value : 0; }
  const raft::Node* node() const { return node_.get(); }

 private:
  void ScheduleTick();
  void Process();
  void ScheduleProcess();
  void Apply(const raft::Entry& entry);
  void Publish();
  void Fatal(const std::string& message);

  boost::asio::io_context& ioc_;
  Options options_;
  RaftTransport& transport_;
  raft::FileStorage storage_;
  std::unique_ptr<raft::Node> node_;
  boost::asio::steady_timer timer_;
  std::chrono::steady_clock::duration tick_;
  static constexpr int kLearnerTickBatch = 4;
  int election_ticks_ = 10;
  bool stopped_ = false;

  // Proposals of this node as leader, by index: when they were made and who
  // waits for the outcome.
  struct Pending {
    raft::Term term;
    std::chrono::steady_clock::time_point at;
    std::function<void(bool)> committed;
  };
  std::map<raft::LogIndex, Pending> pending_;
  std::vector<std::pair<std::function<void(bool)>, bool>> outcomes_;  // to call after Process
  bool processing_ = false;
  bool process_scheduled_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  std::function<void()> transfer_done_;
  int transfer_ticks_left_ = 0;

  std::function<void(const raft::Entry&)> on_apply_;
  std::function<void(const raft::Snapshot&)> on_restore_;
  std::function<std::string()> snapshot_source_;
  std::function<void()> on_change_;
  std::function<void(const std::string&)> on_fatal_;
  raft::NodeId last_leader_;
  raft::Role last_role_ = raft::Role::kFollower;

  prometheus::Gauge& term_;
  prometheus::Gauge& commit_index_;
  prometheus::Gauge& applied_index_;
  prometheus::Gauge& is_leader_;
  prometheus::Gauge& has_leader_;
  prometheus::Gauge& voters_;
  prometheus::Gauge& learners_;
  prometheus::Counter& leader_changes_;
  prometheus::Histogram& commit_seconds_;
};

}  // namespace ringwatch::agent
