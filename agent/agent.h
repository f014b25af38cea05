#pragma once
// The agent process: owns the event loops, the HTTP server, the metrics and
// the data directory lock, and runs the core loop until it stops.
//
// Lifecycle (each step a method below): Run() = Start() — lock the data
// directory, register metrics, serve HTTP, bind the peer port, start the
// core — then the core loop until the core reports its stop sequence done
// (after SIGINT/SIGTERM or POST /v1/leave) or a fatal storage error, then
// Finish() drains the HTTP loop. Decisions (readiness, leader suspicion, the
// stop sequence, joining) are the core's (agent/core/agent_core.h); this
// class wires inputs to the core loop and publishes what it reports.
//
// Threads: the calling thread runs the core io_context (every core object
// and signal handling live there); one more thread runs the HTTP io_context,
// so a slow scrape or client never delays the core. The core thread
// publishes StatusSnapshots that the HTTP side reads.

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "agent/data_dir_lock.h"
#include "agent/status_snapshot.h"
#include "collectors/health_summary.h"
#include "config/config.h"
#include "config/keyring.h"
#include "core/crypto.h"
#include "exporters/agent_metrics.h"
#include "exporters/metrics_registry.h"

namespace ringwatch::agent {

class CoreLoop;
class HttpRouter;
class HttpServer;
class RingService;

class Agent {
 public:
  explicit Agent(config::Config config);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Runs until the agent stops; returns the process exit code (0 after a
  // clean stop, 1 when it could not start or its storage failed).
  int Run();

 private:
  bool Start();
  bool LockDataDir();
  bool ReadSecret();
  bool LoadIdentity();
  void ReloadKeyring();
  bool ReadToken(std::string* error);
  void ReloadHttpCredentials();
  void WaitForHangup();
  bool StartHttp();
  bool StartCore();
  void StartHealthSampling();
  void HandleSignals();
  void FeedWatchdog();
  void Publish(bool view_changed);
  void NotifyReadyOnce(const std::string& status);
  void OnCoreStopped(int exit_code);
  void Finish();

  config::Config config_;
  std::chrono::steady_clock::time_point started_;
  DataDirLock lock_;
  exporters::MetricsRegistry metrics_;
  exporters::RingMetrics ring_metrics_{metrics_.registry()};
  exporters::HttpMetrics http_metrics_{metrics_.registry()};
  collectors::Sources collector_sources_;
  std::shared_ptr<const StatusSnapshot> base_;
  SnapshotPublisher snapshots_;
  config::Keyring keyring_;
  core::SigningKey identity_;

  boost::asio::io_context core_ioc_{1};
  boost::asio::io_context http_ioc_{1};
  std::unique_ptr<CoreLoop> core_;
  std::unique_ptr<RingService> ring_;
  std::unique_ptr<HttpRouter> router_;
  std::unique_ptr<HttpServer> http_;
  std::string serving_;  // "serving HTTP on host:port", for systemd's STATUS
  std::shared_ptr<const membership::View> view_copy_;
  // What blocking queries last saw (Publish wakes them when these change).
  std::shared_ptr<const membership::View> woken_view_;
  std::shared_ptr<const RingState> woken_ring_;
  std::mutex token_mu_;
  std::string token_;  // guarded by token_mu_: http.token_file's content

  std::unique_ptr<collectors::HealthSampler> health_;
  boost::asio::steady_timer health_timer_{http_ioc_};
  boost::asio::signal_set signals_{core_ioc_};
  boost::asio::signal_set hup_{core_ioc_};
  boost::asio::steady_timer watchdog_timer_{core_ioc_};
  std::chrono::microseconds watchdog_interval_{0};
  std::optional<boost::asio::executor_work_guard<boost::asio::io_context::executor_type>>
      http_guard_;
  std::thread http_thread_;
  bool stopping_ = false;
  bool notified_ready_ = false;
  int exit_code_ = 0;
};

}  // namespace ringwatch::agent
