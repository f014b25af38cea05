#pragma once
// Routing of the HTTP API: a pure function from HttpRequest to HttpResponse
// over the latest StatusSnapshot and a few data sources. No sockets, no Beast.
// Paths may hold parameters (`/v1/peers/{id}/arrivals`). Unknown paths answer
// 404 and known paths with a wrong method 405 (with an Allow header), both as
// JSON errors. HEAD is answered like GET.
//
// Thread-safety: Route is const and may run on any number of threads at once,
// provided the sources are thread-safe.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "agent/core/completion.h"
#include "agent/core/lock_requests.h"
#include "agent/http/http_message.h"
#include "agent/status_snapshot.h"

namespace ringwatch::agent {

// The outcome of a POST action: an HTTP status and a message for the body.
struct ActionResult {
  int status = 200;
  std::string message;
};

struct RouterSources {
  std::function<std::shared_ptr<const StatusSnapshot>()> snapshot;
  std::function<std::string()> metrics;
  // Arrival times of a watched peer, one per line (a `ringwatch tune`
  // trace), given to `done` (any thread, once); nullopt when the peer is not
  // watched.
  using ArrivalsDone = std::function<void(std::optional<std::string>)>;
  std::function<void(const std::string& id, ArrivalsDone done)> arrivals;
  // POST actions, carried out by the agent's core; each calls `done` once,
  // from any thread, with the outcome. The HTTP server does not wait for them.
  using ActionDone = std::function<void(ActionResult)>;
  std::function<void(ActionDone done)> leave;
  std::function<void(const std::string& id, ActionDone done)> remove;
  // Lock requests, carried out by the core (AgentCore::AcquireLock, ...);
  // each calls `done` once, from any thread.
  using LockDone = std::function<void(Completion)>;
  std::function<void(const LockRequest& request, LockDone done)> acquire_lock;
  std::function<void(const std::string& name, uint64_t token, LockDone done)> renew_lock;
  std::function<void(const std::string& name, uint64_t token, LockDone done)> release_lock;
  // locks.default_ttl: the TTL of an acquisition that names none.
  std::chrono::milliseconds lock_default_ttl{0};
  // The bearer token the POST endpoints require (http.token_file), read
  // anew for every request so that a reload takes effect at once. Unset or
  // empty: they are accepted from loopback clients only.
  std::function<std::string()> token;
  // Host names that name this agent besides IP literals and "localhost"
  // (the listen and advertise hosts): a browser's POST must come from an
  // Origin on one of them (DNS rebinding, CSRF).
  std::vector<std::string> own_hosts;
};

class HttpRouter {
 public:
  explicit HttpRouter(RouterSources sources);

  HttpResponse Route(const HttpRequest& request) const;
  // One routing pass, without the blocking-query handling.
  HttpResponse RouteOnce(const HttpRequest& request) const;
  // The indexes blocking queries wait on: the committed view's version,
  // the ring's version for the ring endpoints, the lock table's version for
  // the lock endpoints.
  uint64_t ViewIndex() const;
  uint64_t RingIndex() const;
  uint64_t LocksIndex() const;
  uint64_t CurrentIndex(const BlockUntil& block) const;
  // The most owners /v1/ring/lookup returns (?replicas=N).
  static constexpr uint64_t kMaxReplicas = 64;

 private:
  using Params = std::map<std::string, std::string>;
  struct RouteEntry {
    std::vector<std::string> segments;  // "{name}" matches one segment
    std::string name;
    std::vector<std::string> methods;
    std::function<HttpResponse(const HttpRequest&, const Params&)> handler;
  };

  static bool Match(const RouteEntry& route, const std::vector<std::string>& segments,
                    Params* params);

  HttpResponse Index() const;
  HttpResponse Livez() const;
  HttpResponse Readyz() const;
  HttpResponse Metrics() const;
  HttpResponse Status() const;
  HttpResponse Members() const;
  HttpResponse Events(const HttpRequest& request) const;
  // 401/403 when a POST may not proceed; nullopt when it may.
  std::optional<HttpResponse> Authorize(const HttpRequest& request) const;
  // 403 when a browser sent the request from another site's page.
  std::optional<HttpResponse> CheckOrigin(const HttpRequest& request) const;
  static HttpResponse Action(const ActionResult& result);
  HttpResponse DiagnosisOf(const std::string& id) const;
  HttpResponse RingOf() const;
  HttpResponse Lookup(const HttpRequest& request) const;
  HttpResponse Moves() const;
  HttpResponse Arrivals(const std::string& id) const;
  HttpResponse Leave() const;
  HttpResponse Remove(const std::string& id) const;
  HttpResponse Locks() const;
  HttpResponse LockOf(const std::string& name) const;
  HttpResponse AcquireLock(const HttpRequest& request, const std::string& name) const;
  HttpResponse UpdateLock(const HttpRequest& request, const std::string& name, bool release) const;

  RouterSources sources_;
  std::vector<RouteEntry> routes_;
};

}  // namespace ringwatch::agent
