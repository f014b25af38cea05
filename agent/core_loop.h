#pragma once
// CoreLoop: runs this agent's AgentCore on the core io_context and carries
// out its effects — and decides nothing. It owns the core, its Raft storage
// (<data_dir>/raft, FileStorage, saved on a thread of its own), the peer port's two transports (UDP
// heartbeats, TCP Raft and membership frames), the prober and the seed
// dialer, and one timer set to the core's next wakeup. Every input (a timer
// expiry, a datagram, a frame, a probe result, an operator request) goes to
// the core; every CoreEffects is performed in the order the core's contract
// needs (addresses before sends; the Raft messages were persisted already),
// metrics are updated from it, and the owner is told when to publish.
//
// Threading: lives on the core io_context; call every method from it.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/agent_core.h"
#include "agent/peer/heartbeat_transport.h"
#include "agent/peer/prober.h"
#include "agent/peer/raft_transport.h"
#include "agent/peer/seed_dialer.h"
#include "config/keyring.h"
#include "exporters/agent_metrics.h"
#include "raft/file_storage.h"

namespace ringwatch::agent {

class CoreLoop {
 public:
  struct Options {
    std::string cluster;
    config::Keyring keyring;    // cluster.secret_file; empty: frames untagged
    core::SigningKey identity;  // <data_dir>/identity.key
    std::string raft_dir;       // <data_dir>/raft
    // Fault injection for tests (RINGWATCH_FAULT_PERSIST_DELAY_MS): every
    // save takes this much longer, as on a slow disk.
    std::chrono::milliseconds fault_persist_delay{0};
  };

  CoreLoop(boost::asio::io_context& ioc, Options options, prometheus::Registry& registry);
  ~CoreLoop();

  // Binds the peer port: TCP (Raft, membership) and UDP (heartbeats) on the
  // same number; with port 0 the kernel picks one. Returns the bound port.
  core::Result<uint16_t, std::string> Listen(const boost::asio::ip::tcp::endpoint& endpoint);
  // Creates the core (its `self.address` carries the bound port) and starts
  // it. Error: a message naming the file at fault.
  std::string Start(CoreOptions options);

  // Something shown in the status snapshot changed (a detector tick ran, the
  // view or the Raft role/leader changed); `view_changed`: the committed view.
  void OnChange(std::function<void(bool view_changed)> callback) {
    on_change_ = std::move(callback);
  }
  void OnReady(std::function<void(ReadyNotice)> callback) { on_ready_ = std::move(callback); }
  // The core finished its stop sequence (exit code 0) or its storage failed (1).
  void OnStopped(std::function<void(int)> callback) { on_stopped_ = std::move(callback); }

  // Graceful stop (see AgentCore::Stop); `done(status, message)` when a
  // caller waits for the outcome of a leave.
  void Stop(StopMode mode, std::function<void(int, std::string)> done = {});
  void Remove(const std::string& id, std::function<void(int, std::string)> done);
  // Lock requests (AgentCore::AcquireLock and the others); `done` once
  // with the outcome.
  using LockDone = std::function<void(Completion)>;
  void AcquireLock(const LockRequest& request, LockDone done);
  void RenewLock(const std::string& name, uint64_t lock_token, LockDone done);
  void ReleaseLock(const std::string& name, uint64_t lock_token, LockDone done);
  void SetHealth(std::optional<collectors::HealthSummary> health);
  // A new keyring (SIGHUP): the first key tags what is sent from now on.
  void SetKeyring(config::Keyring keyring);
  const config::Keyring& keyring() const { return credentials_.keyring; }
  // Closes sockets and timers; the loop may then run dry.
  void Close();

  const AgentCore& core() const { return *core_; }
  bool started() const { return core_ != nullptr; }
  std::optional<std::vector<double>> Arrivals(const std::string& id) const;

 private:
  CoreTime Now() const;
  void Perform(CoreEffects fx);
  void Persist(raft::Ready ready);
  void ScheduleWakeup();
  void ScheduleFlush();
  void OnHeartbeat(const PeerOrigin& origin, const Heartbeat& h,
                   const boost::asio::ip::udp::endpoint& from);
  void OnAck(const HeartbeatAck& a);
  void OnMembership(const PeerOrigin& origin, std::string_view payload);
  void Refused(Refusal refusal, const PeerOrigin& origin, const char* what);
  uint64_t Register(std::function<void(int, std::string)> done);
  uint64_t Register(LockDone done);

  boost::asio::io_context& ioc_;
  Options options_;
  exporters::PeerMetrics peer_metrics_;
  exporters::MembershipMetrics membership_metrics_;
  exporters::RaftMetrics raft_metrics_;
  exporters::LockMetrics lock_metrics_;
  raft::FileStorage storage_;
  // Saves run here, one at a time, so a slow disk never holds up the core
  // thread (heartbeats, detection); declared after storage_ so it is joined
  // before the storage goes.
  boost::asio::thread_pool storage_thread_{1};
  PeerCredentials credentials_;  // before the transports, which use it
  HeartbeatTransport heartbeats_;
  RaftTransport transport_;
  Prober prober_;
  SeedDialer dialer_;
  std::unique_ptr<AgentCore> core_;
  boost::asio::steady_timer wakeup_;
  // Heartbeat targets: id and endpoint (the key is looked up at each send:
  // it may change in the view).
  std::vector<std::pair<std::string, boost::asio::ip::udp::endpoint>> targets_;
  std::vector<HeartbeatTransport::Target> sealed_for_;
  bool flush_scheduled_ = false;
  bool closed_ = false;
  uint64_t next_token_ = 1;
  std::chrono::steady_clock::time_point last_refusal_log_{};
  std::chrono::steady_clock::time_point last_identity_log_{};
  std::map<uint64_t, LockDone> waiting_;
  std::function<void(bool)> on_change_;
  std::function<void(ReadyNotice)> on_ready_;
  std::function<void(int)> on_stopped_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace ringwatch::agent
