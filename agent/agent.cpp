#include "agent/agent.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <thread>

#include "agent/data_dir_lock.h"
#include "agent/http_router.h"
#include "agent/http_server.h"
#include "agent/status_snapshot.h"
#include "agent/systemd_notify.h"
#include "core/build_info.h"
#include "core/log.h"
#include "exporters/metrics_registry.h"
#include "exporters/process_metrics.h"

namespace ringwatch::agent {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Resolves a listen host: an IP literal, or a name looked up once at start.
std::error_code ResolveListen(net::io_context& ioc, const config::HostPort& hp,
                              tcp::endpoint* out) {
  boost::system::error_code ec;
  const auto address = net::ip::make_address(hp.host, ec);
  if (!ec) {
    *out = tcp::endpoint(address, hp.port);
    return {};
  }
  tcp::resolver resolver(ioc);
  const auto results = resolver.resolve(hp.host, std::to_string(hp.port), ec);
  if (ec) return ec;
  if (results.empty()) return std::make_error_code(std::errc::address_not_available);
  *out = results.begin()->endpoint();
  return {};
}

}  // namespace

Agent::Agent(config::Config config) : config_(std::move(config)) {}

int Agent::Run() {
  const auto started = std::chrono::steady_clock::now();
  log::Info("agent", "starting",
            {{"node", config_.node.id},
             {"cluster", config_.cluster.name},
             {"version", core::kVersion},
             {"revision", core::kRevision}});

  DataDirLock lock;
  if (std::string err = lock.Acquire(config_.data_dir); !err.empty()) {
    log::Error("agent", "cannot start", {{"error", err}});
    return 1;
  }

  exporters::MetricsRegistry metrics(core::kVersion, core::kRevision);
  metrics.AddCollectable(std::make_shared<exporters::ProcessCollector>());

  auto initial = std::make_shared<StatusSnapshot>();
  initial->node_id = config_.node.id;
  initial->cluster = config_.cluster.name;
  initial->version = core::kVersion;
  initial->ready = false;
  initial->not_ready_reason = "no committed membership view yet";
  SnapshotPublisher snapshots(std::move(initial));

  HttpRouter router([&snapshots] { return snapshots.Latest(); },
                    [&metrics] { return metrics.Render(); });

  net::io_context core_ioc(1);
  net::io_context http_ioc(1);

  HttpServerOptions http_options;
  http_options.read_timeout = config_.http.read_timeout;
  http_options.idle_timeout = config_.http.idle_timeout;
  http_options.max_connections = config_.http.max_connections;
  http_options.max_request_bytes = config_.http.max_request_bytes;
  HttpServer http(http_ioc, router, http_options, metrics.registry());

  tcp::endpoint http_endpoint;
  if (auto ec = ResolveListen(http_ioc, config_.listen.http, &http_endpoint)) {
    log::Error("agent", "cannot resolve listen.http",
               {{"address", config_.listen.http.ToString()}, {"error", ec.message()}});
    return 1;
  }
  if (auto ec = http.Start(http_endpoint)) {
    log::Error("agent", "cannot listen for HTTP",
               {{"address", config_.listen.http.ToString()}, {"error", ec.message()}});
    return 1;
  }
  const auto bound = http.local_endpoint();
  log::Info("http", "listening",
            {{"address", bound.address().to_string() + ":" + std::to_string(bound.port())}});

  auto http_guard = net::make_work_guard(http_ioc);
  std::thread http_thread([&http_ioc] { http_ioc.run(); });

  // Shutdown: the signal handler runs on the core thread; it stops the HTTP
  // server on its own thread, then lets both loops end.
  net::signal_set signals(core_ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    log::Info("agent", "shutting down", {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
    NotifyStopping();
    net::post(http_ioc, [&] {
      http.Stop();
      http_guard.reset();
    });
    core_ioc.stop();
  });

  const auto ready_after =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log::Info("agent", "started", {{"seconds", std::to_string(ready_after)}});
  NotifyReady("serving HTTP on " + config_.listen.http.ToString());

  core_ioc.run();

  // Open connections are closed by Stop; give the HTTP loop a bounded time to
  // drain, then abandon whatever is left.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (!http_ioc.stopped() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  http_ioc.stop();
  http_thread.join();
  log::Info("agent", "stopped");
  return 0;
}

}  // namespace ringwatch::agent
