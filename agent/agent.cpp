#include "agent/agent.h"

#include <ifaddrs.h>
#include <netinet/in.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <csignal>
#include <cstdlib>
#include <filesystem>

#include "agent/core_loop.h"
#include "agent/http/http_router.h"
#include "agent/http/http_server.h"
#include "agent/options.h"
#include "agent/peer/endpoint_text.h"
#include "agent/ring_service.h"
#include "agent/systemd_notify.h"
#include "core/build_info.h"
#include "core/file.h"
#include "core/log.h"
#include "detectors/evaluate.h"
#include "exporters/collector_bridge.h"

namespace ringwatch::agent {

namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

// Fault injection for tests (docs/development.md): RINGWATCH_FAULT_PERSIST_DELAY_MS
// makes every Raft save that much slower, as on a slow disk.
std::chrono::milliseconds FaultPersistDelay() {
  const char* v = std::getenv("RINGWATCH_FAULT_PERSIST_DELAY_MS");
  if (!v || !*v) return std::chrono::milliseconds(0);
  const long ms = std::strtol(v, nullptr, 10);
  if (ms <= 0 || ms > 60'000) return std::chrono::milliseconds(0);
  log::Warn("agent", "fault injection: every Raft save is delayed",
            {{"delay_ms", std::to_string(ms)}});
  return std::chrono::milliseconds(ms);
}

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

// What the agent publishes before the core runs: itself, as configured.
std::shared_ptr<const StatusSnapshot> InitialSnapshot(const config::Config& config) {
  auto s = std::make_shared<StatusSnapshot>();
  s->node_id = config.node.id;
  s->cluster = config.cluster.name;
  s->version = core::kVersion;
  s->ready = false;
  s->not_ready_reason = "no committed membership view yet";
  // The address peers reach this member at: node.address, else the peer
  // listen address when it names one interface, else the first
  // non-loopback IPv4 address.
  s->address = config.node.address;
  if (s->address.empty()) {
    boost::system::error_code ec;
    const auto listen = net::ip::make_address(config.listen.peer.host, ec);
    s->address = !ec && !listen.is_unspecified() ? listen.to_string() : FirstNonLoopbackIpv4();
  }
  s->zone = config.node.zone;
  s->service = config.node.service;
  s->weight = config.node.weight;
  // Each start is a new incarnation: the start time in milliseconds, which
  // grows across restarts.
  s->incarnation = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                             std::chrono::system_clock::now().time_since_epoch())
                                             .count());
  return s;
}

}  // namespace

Agent::Agent(config::Config config)
    : config_(std::move(config)),
      metrics_(core::kVersion, core::kRevision),
      base_(InitialSnapshot(config_)),
      snapshots_(base_) {}

Agent::~Agent() {
  if (http_thread_.joinable()) {
    http_ioc_.stop();
    http_thread_.join();
  }
}

int Agent::Run() {
  started_ = std::chrono::steady_clock::now();
  log::Info("agent", "starting",
            {{"node", config_.node.id},
             {"cluster", config_.cluster.name},
             {"version", core::kVersion},
             {"revision", core::kRevision}});
  if (!Start()) {
    Finish();
    return 1;
  }
  core_ioc_.run();
  Finish();
  log::Info("agent", "stopped");
  return exit_code_;
}

bool Agent::Start() {
  // Signals first: from the moment HTTP answers, a SIGTERM must be a clean stop.
  HandleSignals();
  if (!LockDataDir() || !ReadSecret() || !LoadIdentity()) return false;
  collector_sources_.statfs = collectors::StatFs;
  metrics_.AddCollectable(std::make_shared<exporters::CollectorBridge>(
      collectors::MakeCollectors(config_.collectors, collector_sources_)));
  if (!StartHttp() || !StartCore()) return false;
  StartHealthSampling();
  FeedWatchdog();
  return true;
}

bool Agent::LockDataDir() {
  if (std::string err = lock_.Acquire(config_.data_dir); !err.empty()) {
    log::Error("agent", "cannot start", {{"error", err}});
    return false;
  }
  return true;
}

namespace {

core::Result<config::Keyring, std::string> ReadKeyring(const std::string& file) {
  std::string why;
  auto text = core::ReadFile(file, &why);
  if (!text) return core::MakeError("cannot read cluster.secret_file " + file + ": " + why);
  auto keys = config::ParseKeyring(*text);
  if (!keys.ok()) return core::MakeError("cluster.secret_file " + file + ", " + keys.error());
  return keys;
}

}  // namespace

bool Agent::ReadSecret() {
  if (config_.cluster.secret_file.empty()) {
    log::Warn("agent", "peer traffic is not authenticated",
              {{"reason", "no cluster.secret_file (a keyring: `ringwatch keygen`)"},
               {"listen", config_.listen.peer.ToString()}});
    return true;
  }
  auto keys = ReadKeyring(config_.cluster.secret_file);
  if (!keys.ok()) {
    log::Error("agent", "cannot start", {{"error", keys.error()}});
    return false;
  }
  keyring_ = std::move(keys).value();
  log::Info("agent", "keyring loaded",
            {{"file", config_.cluster.secret_file}, {"keys", std::to_string(keyring_.size())}});
  return true;
}

void Agent::ReloadKeyring() {
  // SIGHUP: a keyring that does not parse keeps the one in use (an
  // operator's typo must not cut this member off the cluster).
  if (config_.cluster.secret_file.empty()) {
    log::Info("agent", "SIGHUP: no cluster.secret_file configured; nothing to reload");
    return;
  }
  auto keys = ReadKeyring(config_.cluster.secret_file);
  if (!keys.ok()) {
    log::Error("agent", "keyring not reloaded; the previous one stays in use",
               {{"error", keys.error()}});
    return;
  }
  keyring_ = std::move(keys).value();
  if (core_) core_->SetKeyring(keyring_);
  log::Info("agent", "keyring reloaded",
            {{"file", config_.cluster.secret_file}, {"keys", std::to_string(keyring_.size())}});
  Publish(false);
}

bool Agent::ReadToken(std::string* error) {
  std::string why;
  const auto text = core::ReadFile(config_.http.token_file, &why);
  if (!text) {
    *error = "cannot read http.token_file " + config_.http.token_file + ": " + why;
    return false;
  }
  const std::string token(core::Trim(*text));
  if (token.empty()) {
    *error = "http.token_file " + config_.http.token_file + " is empty";
    return false;
  }
  std::lock_guard lock(token_mu_);
  token_ = token;
  return true;
}

void Agent::ReloadHttpCredentials() {
  // SIGHUP: the bearer token and the TLS certificate are read again; what
  // does not load keeps what is in use (an operator's mistake must not lock
  // everyone out or stop HTTPS).
  if (!config_.http.token_file.empty()) {
    std::string error;
    if (ReadToken(&error)) {
      log::Info("http", "token reloaded", {{"file", config_.http.token_file}});
    } else {
      log::Error("http", "token not reloaded; the previous one stays in use", {{"error", error}});
    }
  }
  if (!config_.http.tls.cert_file.empty() && http_) {
    net::post(http_ioc_, [this] {
      if (std::string error = http_->ReloadTls(); !error.empty())
        log::Error("http", "TLS certificate not reloaded; the previous one stays in use",
                   {{"error", error}});
    });
  }
}

bool Agent::LoadIdentity() {
  // This member's signing key: made at its first start, kept with its data.
  // A lost data_dir is a new identity (docs/security.md, "Trust model").
  const std::string path = config_.data_dir + "/identity.key";
  std::string why;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec) && !ec) {
    identity_ = core::SigningKey::Generate();
    if (!core::WriteFileAtomically(path, core::Base64Encode(identity_.secret_key) + "\n", 0600,
                                   &why)) {
      log::Error("agent", "cannot start", {{"error", "cannot save the identity key: " + why}});
      return false;
    }
    log::Info("agent", "new identity key", {{"file", path}});
  } else if (auto text = core::ReadFile(path, &why)) {
    auto secret = core::Base64Decode(*text);
    auto key = secret ? core::SigningKey::FromSecret(*secret) : std::nullopt;
    if (!key) {
      log::Error("agent", "cannot start",
                 {{"error", path + " is not a ringwatch identity key (damaged?); move it away to "
                                   "start with a new identity"}});
      return false;
    }
    identity_ = std::move(*key);
  } else {
    log::Error("agent", "cannot start", {{"error", "cannot read " + path + ": " + why}});
    return false;
  }
  log::Info("agent", "identity", {{"public_key", core::Hex(identity_.public_key)}});
  return true;
}

bool Agent::StartHttp() {
  RouterSources sources;
  sources.snapshot = [this] { return snapshots_.Latest(); };
  sources.metrics = [this] { return metrics_.Render(); };
  // The answers below come from the core thread; the HTTP thread does not
  // wait for them (the connection does).
  sources.arrivals = [this](const std::string& id, RouterSources::ArrivalsDone done) {
    net::post(core_ioc_, [this, id, done = std::move(done)] {
      auto arrivals = core_->Arrivals(id);
      if (!arrivals) return done(std::nullopt);
      done(detectors::FormatTrace(*arrivals, "heartbeat arrivals of " + id +
                                                 " (seconds, monotonic clock of the observer)"));
    });
  };
  // POST /v1/leave and /v1/members/{id}/remove run on the core thread.
  sources.leave = [this](RouterSources::ActionDone done) {
    net::post(core_ioc_, [this, done = std::move(done)] {
      if (stopping_) return done({409, "not left: the agent is already stopping"});
      core_->Stop(StopMode::kLeave, [done](int status, std::string message) {
        done(ActionResult{status, std::move(message)});
      });
      if (core_->core().stopping()) {  // the core took it: this agent is on its way out
        log::Info("agent", "shutting down", {{"reason", "POST /v1/leave"}});
        stopping_ = true;
        NotifyStopping();
      }
    });
  };
  sources.remove = [this](const std::string& id, RouterSources::ActionDone done) {
    net::post(core_ioc_, [this, id, done = std::move(done)] {
      core_->Remove(id, [done](int status, std::string message) {
        done(ActionResult{status, std::move(message)});
      });
    });
  };
  // Lock requests run on the core thread too.
  sources.acquire_lock = [this](const LockRequest& request, RouterSources::LockDone done) {
    net::post(core_ioc_,
              [this, request, done = std::move(done)] { core_->AcquireLock(request, done); });
  };
  sources.renew_lock = [this](const std::string& name, uint64_t token,
                              RouterSources::LockDone done) {
    net::post(core_ioc_,
              [this, name, token, done = std::move(done)] { core_->RenewLock(name, token, done); });
  };
  sources.release_lock = [this](const std::string& name, uint64_t token,
                                RouterSources::LockDone done) {
    net::post(core_ioc_, [this, name, token, done = std::move(done)] {
      core_->ReleaseLock(name, token, done);
    });
  };
  sources.lock_default_ttl =
      std::chrono::duration_cast<std::chrono::milliseconds>(config_.locks.default_ttl);
  if (!config_.http.token_file.empty()) {
    std::string error;
    if (!ReadToken(&error)) {
      log::Error("agent", "cannot start", {{"error", error}});
      return false;
    }
  }
  sources.token = [this] {
    std::lock_guard lock(token_mu_);
    return token_;
  };
  for (const std::string& host : {config_.listen.http.host, base_->address}) {
    if (!host.empty()) sources.own_hosts.push_back(host);
  }
  router_ = std::make_unique<HttpRouter>(std::move(sources));

  HttpServerOptions options;
  options.read_timeout = config_.http.read_timeout;
  options.idle_timeout = config_.http.idle_timeout;
  options.max_connections = config_.http.max_connections;
  options.max_request_bytes = config_.http.max_request_bytes;
  options.tls = {config_.http.tls.cert_file, config_.http.tls.key_file,
                 config_.http.tls.client_ca_file};
  http_ = std::make_unique<HttpServer>(http_ioc_, *router_, options, http_metrics_);
  if (std::string error = http_->ReloadTls(); !error.empty()) {
    log::Error("agent", "cannot serve HTTPS", {{"error", error}});
    return false;
  }
  tcp::endpoint endpoint;
  if (auto ec = ResolveListen(http_ioc_, config_.listen.http, &endpoint)) {
    log::Error("agent", "cannot resolve listen.http",
               {{"address", config_.listen.http.ToString()}, {"error", ec.message()}});
    return false;
  }
  if (auto ec = http_->Start(endpoint)) {
    log::Error("agent", "cannot listen for HTTP",
               {{"address", config_.listen.http.ToString()}, {"error", ec.message()}});
    return false;
  }
  const std::string bound = EndpointText(http_->local_endpoint());
  const bool tls = !config_.http.tls.cert_file.empty();
  log::Info(
      "http", "listening",
      {{"address", bound},
       {"scheme", tls ? "https" : "http"},
       {"client_certificates", config_.http.tls.client_ca_file.empty() ? "no" : "required"},
       {"token", config_.http.token_file.empty() ? "none (POST from loopback only)" : "required"}});
  serving_ = std::string(tls ? "serving HTTPS on " : "serving HTTP on ") + bound;
  http_guard_.emplace(net::make_work_guard(http_ioc_));
  http_thread_ = std::thread([this] { http_ioc_.run(); });
  return true;
}

bool Agent::StartCore() {
  core_ =
      std::make_unique<CoreLoop>(core_ioc_,
                                 CoreLoop::Options{config_.cluster.name, keyring_, identity_,
                                                   config_.data_dir + "/raft", FaultPersistDelay()},
                                 metrics_.registry());
  tcp::endpoint endpoint;
  if (auto ec = ResolveListen(core_ioc_, config_.listen.peer, &endpoint)) {
    log::Error("agent", "cannot resolve listen.peer",
               {{"address", config_.listen.peer.ToString()}, {"error", ec.message()}});
    return false;
  }
  auto port = core_->Listen(endpoint);
  if (!port.ok()) {
    log::Error("agent", "cannot listen on the peer port",
               {{"address", config_.listen.peer.ToString()}, {"error", port.error()}});
    return false;
  }
  log::Info("detector", "listening",
            {{"address", endpoint.address().to_string() + ":" + std::to_string(port.value())}});
  const std::string host =
      base_->address.find(':') != std::string::npos ? "[" + base_->address + "]" : base_->address;
  membership::MemberInfo self{config_.node.id,
                              host + ":" + std::to_string(port.value()),
                              config_.node.zone,
                              config_.node.service,
                              config_.node.weight,
                              base_->incarnation,
                              ""};

  ring_ = std::make_unique<RingService>(
      core_ioc_, RingServiceOptions(config_.ring, config_.node.id), ring_metrics_);
  ring_->Attach([this]() -> const membership::View& { return core_->core().view(); },
                [this] { Publish(false); });
  core_->OnChange([this](bool view_changed) { Publish(view_changed); });
  core_->OnReady([this](ReadyNotice notice) {
    NotifyReadyOnce(notice == ReadyNotice::kMember
                        ? "member of cluster " + config_.cluster.name + "; " + serving_
                        : "not a member of the committed view yet (joining); " + serving_);
  });
  core_->OnStopped([this](int code) { OnCoreStopped(code); });
  NotifyStatus("joining the cluster; " + serving_);
  if (std::string err = core_->Start(MakeCoreOptions(config_, std::move(self))); !err.empty()) {
    log::Error("agent", "cannot start raft", {{"error", err}});
    return false;
  }
  ring_->Update();
  return true;
}

void Agent::Publish(bool view_changed) {
  if (!core_ || !core_->started()) return;
  const AgentCore& c = core_->core();
  if (view_changed) ring_->Notify();
  auto next = std::make_shared<StatusSnapshot>(*base_);
  next->peers = c.Peers(core::MonotonicNow());
  next->raft = c.Raft();
  // The committed view is copied only when it changed.
  if (!view_copy_ || view_copy_->version() != c.view().version() ||
      view_copy_->next_event_seq() != c.view().next_event_seq() ||
      view_copy_->locks().version() != c.view().locks().version())
    view_copy_ = std::make_shared<const membership::View>(c.view());
  next->view = view_copy_;
  next->ring = ring_->Current();
  next->incarnation = c.self().incarnation;
  next->keyring_keys = core_->keyring().size();
  next->identity = core::Hex(c.identity().public_key);
  next->address = c.self().address;
  next->ready = c.Ready();
  next->not_ready_reason = c.NotReadyReason();
  // Blocking queries wait on the view's, the ring's and the lock table's
  // versions (the event log and the locks live in the view): wake them when
  // one of those moved.
  const bool moved = next->view != woken_view_ || next->ring != woken_ring_;
  woken_view_ = next->view;
  woken_ring_ = next->ring;
  snapshots_.Publish(std::move(next));
  if (moved && http_) http_->Wake();
}

void Agent::StartHealthSampling() {
  // The health summary for heartbeats, sampled every second on the HTTP
  // thread (it reads /proc) and handed to the core thread.
  health_ = std::make_unique<collectors::HealthSampler>(collector_sources_,
                                                        std::thread::hardware_concurrency());
  auto sample = std::make_shared<std::function<void()>>();
  *sample = [this, weak = std::weak_ptr<std::function<void()>>(sample)] {
    auto summary = health_->Sample(core::MonotonicNow());
    net::post(core_ioc_, [this, summary] { core_->SetHealth(summary); });
    health_timer_.expires_after(std::chrono::seconds(1));
    health_timer_.async_wait([self = weak.lock()](const boost::system::error_code& ec) {
      if (!ec && self) (*self)();
    });
  };
  net::post(http_ioc_, [sample] { (*sample)(); });
}

void Agent::HandleSignals() {
  signals_.add(SIGINT);
  signals_.add(SIGTERM);
  hup_.add(SIGHUP);
  WaitForHangup();
  signals_.async_wait([this](const boost::system::error_code& ec, int signo) {
    if (ec || stopping_) return;
    stopping_ = true;
    log::Info("agent", "shutting down", {{"signal", signo == SIGINT ? "SIGINT" : "SIGTERM"}});
    NotifyStopping();
    // SIGTERM (and Ctrl-C) is a planned restart unless leave_on_terminate.
    if (core_ && core_->started())
      return core_->Stop(config_.cluster.leave_on_terminate ? StopMode::kLeave
                                                            : StopMode::kRestart);
    OnCoreStopped(0);  // still starting: nothing to hand over
  });
}

void Agent::WaitForHangup() {
  hup_.async_wait([this](const boost::system::error_code& ec, int) {
    if (ec || stopping_) return;
    log::Info("agent", "SIGHUP: reloading the keyring, the HTTP token and the TLS certificate");
    ReloadKeyring();
    ReloadHttpCredentials();
    WaitForHangup();
  });
}

void Agent::FeedWatchdog() {
  // systemd's watchdog (WatchdogSec=) is fed from the core loop, at half the
  // interval: if the loop that runs the detectors wedges, systemd restarts us.
  if (watchdog_interval_.count() == 0) watchdog_interval_ = WatchdogInterval();
  if (watchdog_interval_.count() == 0) return;
  NotifyWatchdog();
  watchdog_timer_.expires_after(watchdog_interval_ / 2);
  watchdog_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) FeedWatchdog();
  });
}

void Agent::NotifyReadyOnce(const std::string& status) {
  if (notified_ready_ || stopping_) return;
  notified_ready_ = true;
  const auto after =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  log::Info("agent", "ready", {{"seconds", std::to_string(after)}, {"status", status}});
  NotifyReady(status);
}

void Agent::OnCoreStopped(int exit_code) {
  if (!stopping_) NotifyStopping();
  stopping_ = true;
  exit_code_ = exit_code;
  // Stop on the next turn of the loop: this runs inside the core's effects.
  net::post(core_ioc_, [this] {
    if (core_) core_->Close();
    signals_.cancel();
    hup_.cancel();
    watchdog_timer_.cancel();
    if (ring_) ring_->Stop();
    core_ioc_.stop();
  });
}

void Agent::Finish() {
  if (http_thread_.joinable()) {
    // Open connections are closed by Stop; give the HTTP loop a bounded time
    // to drain, then abandon whatever is left.
    net::post(http_ioc_, [this] {
      health_timer_.cancel();
      if (http_) http_->Stop();
      http_guard_.reset();
    });
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    while (!http_ioc_.stopped() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    http_ioc_.stop();
    http_thread_.join();
  }
  if (core_) core_->Close();
}

}  // namespace ringwatch::agent
