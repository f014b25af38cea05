#pragma once
// Routing of the HTTP API: a pure function from HttpRequest to HttpResponse
// over the latest StatusSnapshot and a metrics renderer. No sockets, no Beast.
// Unknown paths answer 404 and known paths with a wrong method 405 (with an
// Allow header), both as JSON errors. HEAD is answered like GET.
//
// Thread-safety: Route is const and may run on any number of threads at once,
// provided the two callables are thread-safe.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "agent/http_message.h"
#include "agent/status_snapshot.h"

namespace ringwatch::agent {

class HttpRouter {
 public:
  using SnapshotSource = std::function<std::shared_ptr<const StatusSnapshot>()>;
  using MetricsRenderer = std::function<std::string()>;

  HttpRouter(SnapshotSource snapshot, MetricsRenderer metrics);

  HttpResponse Route(const HttpRequest& request) const;

 private:
  struct RouteEntry {
    std::string path;
    std::string name;
    std::vector<std::string> methods;
    std::function<HttpResponse(const HttpRequest&)> handler;
  };

  HttpResponse Index() const;
  HttpResponse Livez() const;
  HttpResponse Readyz() const;
  HttpResponse Metrics() const;

  SnapshotSource snapshot_;
  MetricsRenderer metrics_;
  std::vector<RouteEntry> routes_;
};

}  // namespace ringwatch::agent
