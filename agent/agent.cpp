#include "agent/agent.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <chrono>
#include <csignal>
#include <thread>

#include <ifaddrs.h>
#include <netinet/in.h>

#include <boost/asio/ip/udp.hpp>
#include <fstream>
#include <future>
#include <sstream>

#include <boost/asio/steady_timer.hpp>

#include "agent/data_dir_lock.h"
#include "agent/endpoint_text.h"
#include "agent/heartbeat_service.h"
#include "agent/http_router.h"
#include "agent/http_server.h"
#include "agent/membership_service.h"
#include "agent/peer_metrics.h"
#include "agent/raft_service.h"
#include "agent/raft_transport.h"
#include "agent/ring_service.h"
#include "agent/status_snapshot.h"
#include "agent/systemd_notify.h"
#include "collectors/health_summary.h"
#include "core/build_info.h"
#include "core/file.h"
#include "core/log.h"
#include "detectors/evaluate.h"
#include "exporters/collector_bridge.h"
#include "exporters/metrics_registry.h"

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

// The first non-loopback IPv4 address of the host (node.address default).
std::string FirstNonLoopbackIpv4() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return "127.0.0.1";
  std::string found = "127.0.0.1";
  for (ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr || i->ifa_addr->sa_family != AF_INET) continue;
    const auto* in = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
    const net::ip::address_v4 a(ntohl(in->sin_addr.s_addr));
    if (!a.is_loopback()) {
      found = a.to_string();
      break;
    }
  }
  freeifaddrs(list);
  return found;
}

// What the agent publishes before its first tick: itself, as configured.
StatusSnapshot InitialSnapshot(const config::Config& config) {
  StatusSnapshot s;
  s.node_id = config.node.id;
  s.cluster = config.cluster.name;
  s.version = core::kVersion;
  s.ready = false;
  s.not_ready_reason = "no committed membership view yet";
  // The address peers reach this member at: node.address, else the peer
  // listen address when it names one interface, else the first
  // non-loopback IPv4 address.
  s.address = config.node.address;
  if (s.address.empty()) {
    boost::system::error_code ec;
    const auto listen = net::ip::make_address(config.listen.peer.host, ec);
    s.address = !ec && !listen.is_unspecified() ? listen.to_string() : FirstNonLoopbackIpv4();
  }
  s.zone = config.node.zone;
  s.service = config.node.service;
  s.weight = config.node.weight;
  // Until membership manages incarnations, each start is a new one: the
  // start time in milliseconds, which grows across restarts.
  s.incarnation = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
  return s;
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
  collectors::Sources sources_of_collectors;
  sources_of_collectors.statfs = collectors::StatFs;
  metrics.AddCollectable(std::make_shared<exporters::CollectorBridge>(
      collectors::MakeCollectors(config_.collectors, sources_of_collectors)));

  const StatusSnapshot base = InitialSnapshot(config_);
  SnapshotPublisher snapshots(std::make_shared<StatusSnapshot>(base));

  std::string key;
  if (!config_.cluster.secret_file.empty()) {
    // The key is the file's content without surrounding whitespace.
    key = std::string(core::Trim(core::ReadFile(config_.cluster.secret_file).value_or("")));
    if (key.empty()) {
      log::Error("agent", "cannot start",
                 {{"error", "cluster.secret_file " + config_.cluster.secret_file + " is empty"}});
      return 1;
    }
  }

  net::io_context core_ioc(1);
  net::io_context http_ioc(1);

  PeerMetrics peer_metrics(metrics.registry());
  HeartbeatService heartbeats(
      core_ioc, {config_.node.id, config_.cluster.name, key, base.incarnation, config_.detector},
      peer_metrics);
  RaftTransport raft_transport(core_ioc, {config_.cluster.name, key}, peer_metrics);
  RaftService raft(core_ioc,
                   {config_.node.id, config_.data_dir + "/raft", config_.cluster.bootstrap_voters,
                    !config_.cluster.seeds.empty(), config_.raft, base.incarnation},
                   raft_transport, metrics.registry());

  RouterSources sources;
  sources.snapshot = [&snapshots] { return snapshots.Latest(); };
  sources.metrics = [&metrics] { return metrics.Render(); };
  // Runs on the HTTP thread: ask the core thread, wait a bounded time.
  sources.arrivals = [&core_ioc, &heartbeats](const std::string& id) -> std::optional<std::string> {
    auto promise = std::make_shared<std::promise<std::optional<std::vector<double>>>>();
    auto future = promise->get_future();
    net::post(core_ioc,
              [promise, &heartbeats, id] { promise->set_value(heartbeats.Arrivals(id)); });
    if (future.wait_for(std::chrono::seconds(2)) != std::future_status::ready) return std::nullopt;
    auto arrivals = future.get();
    if (!arrivals) return std::nullopt;
    return detectors::FormatTrace(
        *arrivals, "heartbeat arrivals of " + id + " (seconds, monotonic clock of the observer)");
  };
  // POST /v1/leave and /v1/members/{id}/remove run on the core thread; the
  // HTTP thread waits for the outcome, boundedly.
  std::function<void(std::function<void(bool)>)> leave_and_stop;  // set below
  std::unique_ptr<MembershipService> membership;
  sources.leave = [&]() -> ActionResult {
    auto promise = std::make_shared<std::promise<bool>>();
    auto future = promise->get_future();
    net::post(core_ioc,
              [&, promise] { leave_and_stop([promise](bool left) { promise->set_value(left); }); });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      return {504, "the leave did not complete in time"};
    if (!future.get())
      return {409,
              "not left: this agent is not an alive member, is already stopping, or the leave did "
              "not commit"};
    return {200, "left the cluster; the agent is stopping"};
  };
  sources.remove = [&](const std::string& id) -> ActionResult {
    auto promise = std::make_shared<std::promise<ActionResult>>();
    auto future = promise->get_future();
    net::post(core_ioc, [&, promise, id] {
      membership->Remove(id, std::chrono::seconds(5), [promise](int status, std::string message) {
        promise->set_value(ActionResult{status, std::move(message)});
      });
    });
    if (future.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      return {504, "the removal did not complete in time"};
    return future.get();
  };
  if (!config_.http.token_file.empty())
    sources.token = std::string(core::Trim(core::ReadFile(config_.http.token_file).value_or("")));
  HttpRouter router(std::move(sources));

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
  log::Info("http", "listening", {{"address", EndpointText(bound)}});

  // Heartbeats on the peer port, watching the seeds until membership exists.
  {
    net::ip::udp::endpoint peer_endpoint;
    tcp::endpoint resolved;
    if (auto ec = ResolveListen(core_ioc, config_.listen.peer, &resolved)) {
      log::Error("agent", "cannot resolve listen.peer",
                 {{"address", config_.listen.peer.ToString()}, {"error", ec.message()}});
      return 1;
    }
    // The peer port carries Raft on TCP and heartbeats on UDP, with one
    // number. With port 0 the kernel picks the TCP port; should its UDP twin
    // be taken, another pick is tried.
    for (int attempt = 0;; ++attempt) {
      std::error_code ec = raft_transport.Start(resolved);
      if (ec) {
        log::Error("agent", "cannot listen for Raft on the peer port",
                   {{"address", config_.listen.peer.ToString()}, {"error", ec.message()}});
        return 1;
      }
      peer_endpoint =
          net::ip::udp::endpoint(resolved.address(), raft_transport.local_endpoint().port());
      ec = heartbeats.Start(peer_endpoint);
      if (!ec) break;
      raft_transport.CloseListener();
      if (resolved.port() != 0 || attempt >= 50 || ec != std::errc::address_in_use) {
        log::Error("agent", "cannot listen on the peer port",
                   {{"address", config_.listen.peer.ToString()}, {"error", ec.message()}});
        return 1;
      }
    }
    const auto bound_peer = heartbeats.local_endpoint();
    log::Info("detector", "listening", {{"address", EndpointText(bound_peer)}});
    // Until this agent is in the committed view, the membership service
    // heartbeats with the seeds (and sets the watch list accordingly).
    MembershipService::Options mo;
    for (const auto& seed : config_.cluster.seeds) {
      tcp::endpoint e;
      if (auto ec = ResolveListen(core_ioc, seed, &e)) {
        log::Warn("detector", "cannot resolve seed",
                  {{"seed", seed.ToString()}, {"error", ec.message()}});
        continue;
      }
      mo.seeds.emplace_back(e.address(), e.port());
    }
    mo.probe_phi = config_.detector.phi_threshold / 2;

    membership::CoordinatorOptions& co = mo.coordinator;
    const std::string host =
        base.address.find(':') != std::string::npos ? "[" + base.address + "]" : base.address;
    co.self =
        membership::MemberInfo{config_.node.id,     host + ":" + std::to_string(bound_peer.port()),
                               config_.node.zone,   config_.node.service,
                               config_.node.weight, base.incarnation};
    co.observers = config_.detector.observers;
    co.confirmations = config_.detector.confirmations;
    co.heartbeat_interval = config_.detector.heartbeat_interval;
    co.rejoin_probation = config_.detector.rejoin_probation;
    co.target_voters = config_.cluster.voters;
    membership = std::make_unique<MembershipService>(core_ioc, std::move(mo), raft, raft_transport,
                                                     heartbeats, peer_metrics, metrics.registry());
    membership->Attach();
    if (std::string err = raft.Start(); !err.empty()) {
      log::Error("agent", "cannot start raft", {{"error", err}});
      return 1;
    }
    membership->Start();
  }

  RingService ring_service(core_ioc, {config_.ring, config_.node.id}, metrics.registry());

  // The committed view is copied only when it changed.
  std::shared_ptr<const membership::View> view_copy;
  auto publish_with = [&](std::vector<PeerView> peers) {
    auto next = std::make_shared<StatusSnapshot>(base);
    next->peers = std::move(peers);
    next->raft = raft.View();
    const membership::Coordinator& c = membership->coordinator();
    if (!view_copy || view_copy->version() != c.view().version() ||
        view_copy->next_event_seq() != c.view().next_event_seq())
      view_copy = std::make_shared<const membership::View>(c.view());
    next->view = view_copy;
    next->ring = ring_service.Current();
    next->incarnation = c.self().incarnation;
    next->address = c.self().address;
    next->ready = membership->Ready();
    const membership::Member* me = c.view().Find(c.self().id);
    if (next->ready) {
      next->not_ready_reason.clear();
    } else if (me && me->state == membership::MemberState::kDead) {
      next->not_ready_reason = "this member is declared dead in the committed view; rejoining";
    } else if (me && me->state == membership::MemberState::kLeft) {
      next->not_ready_reason = "this member has left the cluster";
    } else if (!c.Alive()) {
      next->not_ready_reason = "not a member of the committed view yet (joining)";
    } else {
      next->not_ready_reason = "no Raft leader known";
    }
    snapshots.Publish(std::move(next));
  };
  auto publish = [&] { publish_with(heartbeats.Status()); };
  // Each applied change: publish, and rebuild the ring (coalesced, then
  // published again) when the change moved the ring version.
  ring_service.Attach([&]() -> const membership::View& { return membership->coordinator().view(); },
                      publish);
  // (membership->OnChange is set below, with the readiness notification.)
  ring_service.Update();
  heartbeats.OnChange([&] {
    // Raft peers are found where their heartbeats come from (same port, TCP),
    // and the leader's suspicion by this agent's detector is the fast
    // failover input.
    const std::string leader = raft.leader();
    std::vector<PeerView> peers = heartbeats.Status();
    std::optional<bool> leader_suspected;
    for (const PeerView& p : peers) {
      if (p.id.empty()) continue;
      if (auto ep = ParseEndpointText<tcp::endpoint>(p.address))
        raft_transport.SetAddress(p.id, *ep);
      if (p.id == leader) leader_suspected = p.suspected;
    }
    // Only a verdict about a known leader: while no leader is known (say,
    // during the pre-vote the suspicion started) the flag stays as it is,
    // so one suspicion episode starts one pre-vote, not one per heartbeat.
    if (leader_suspected) raft.SetLeaderSuspected(*leader_suspected);
    membership->OnDetectorTick(peers);
    publish_with(std::move(peers));
  });
  raft.OnChange(publish);
  publish();

  // The health summary for heartbeats, sampled every second on the HTTP
  // thread (it reads /proc) and handed to the core thread.
  collectors::HealthSampler health(sources_of_collectors, std::thread::hardware_concurrency());
  net::steady_timer health_timer(http_ioc);
  std::function<void()> sample_health = [&] {
    auto summary = health.Sample(core::MonotonicNow());
    net::post(core_ioc, [&heartbeats, summary] { heartbeats.SetHealth(summary); });
    health_timer.expires_after(std::chrono::seconds(1));
    health_timer.async_wait([&](const boost::system::error_code& ec) {
      if (!ec) sample_health();
    });
  };
  net::post(http_ioc, sample_health);

  auto http_guard = net::make_work_guard(http_ioc);
  std::thread http_thread([&http_ioc] { http_ioc.run(); });

  // Shutdown: the signal handler runs on the core thread; it stops the HTTP
  // server on its own thread, then lets both loops end.
  int exit_code = 0;
  bool stopping = false;
  auto shutdown = [&] {
    membership->Stop();
    raft.Stop();
    raft_transport.Stop();
    heartbeats.Stop();
    net::post(http_ioc, [&] {
      health_timer.cancel();
      http.Stop();
      http_guard.reset();
    });
    core_ioc.stop();
  };
  // A graceful stop: a leader hands over first, so the cluster does not wait
  // an election timeout for a new one (bounded by one election timeout);
  // then, when leaving, the member's Leave is committed so nobody waits for a
  // detector to declare it dead.
  auto graceful_stop = [&](bool leave, std::function<void(bool)> done) {
    stopping = true;
    NotifyStopping();
    raft.TransferLeadershipThen([&, leave, done] {
      if (!leave || !membership->coordinator().Alive()) {
        done(false);
        return shutdown();
      }
      membership->Leave(std::chrono::milliseconds(2000), [&, done](bool left) {
        log::Info("agent", left ? "left the cluster" : "leave not confirmed in time");
        done(left);
        shutdown();
      });
    });
  };
  leave_and_stop = [&](std::function<void(bool)> done) {
    if (stopping || !membership->coordinator().Alive()) return done(false);
    log::Info("agent", "shutting down", {{"reason", "POST /v1/leave"}});
    graceful_stop(true, std::move(done));
  };
  net::signal_set signals(core_ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec || stopping) return;
    log::Info("agent", "shutting down", {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
    graceful_stop(config_.cluster.leave_on_terminate, [](bool) {});
  });
  raft.OnFatal([&](const std::string&) {
    if (stopping) return;
    stopping = true;
    exit_code = 1;
    NotifyStopping();
    shutdown();
  });

  // systemd hears READY=1 once this agent is a member of the committed view
  // (it serves HTTP before, and says so in STATUS). An agent that cannot
  // join within kReadyFallback still reports ready, STATUS saying it is
  // joining, so that a cluster that is down does not fail the start of
  // every host's service.
  const std::string serving = "serving HTTP on " + EndpointText(bound);
  NotifyStatus("joining the cluster; " + serving);
  constexpr std::chrono::seconds kReadyFallback{60};
  bool notified_ready = false;
  auto notify_ready = [&](const std::string& status) {
    if (notified_ready || stopping) return;
    notified_ready = true;
    const auto after =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    log::Info("agent", "ready", {{"seconds", std::to_string(after)}, {"status", status}});
    NotifyReady(status);
  };
  membership->OnChange([&] {
    publish();
    ring_service.Notify();
    if (membership->coordinator().Alive())
      notify_ready("member of cluster " + config_.cluster.name + "; " + serving);
  });
  net::steady_timer ready_timer(core_ioc);
  ready_timer.expires_after(kReadyFallback);
  ready_timer.async_wait([&](const boost::system::error_code& ec) {
    if (!ec) notify_ready("not a member of the committed view yet (joining); " + serving);
  });
  if (membership->coordinator().Alive())
    notify_ready("member of cluster " + config_.cluster.name + "; " + serving);

  // systemd's watchdog (WatchdogSec=) is fed from the core loop, at half the
  // interval: if the loop that runs the detectors wedges, systemd restarts us.
  net::steady_timer watchdog_timer(core_ioc);
  std::function<void()> feed_watchdog;
  if (const auto interval = WatchdogInterval(); interval.count() > 0) {
    feed_watchdog = [&, interval] {
      NotifyWatchdog();
      watchdog_timer.expires_after(interval / 2);
      watchdog_timer.async_wait([&](const boost::system::error_code& ec) {
        if (!ec) feed_watchdog();
      });
    };
    feed_watchdog();
  }

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
  return exit_code;
}

}  // namespace ringwatch::agent
