#include "agent/http_router.h"

#include <nlohmann/json.hpp>

#include "exporters/metrics_registry.h"

namespace ringwatch::agent {
namespace {

std::string Join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items)
    out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string EscapeHtml(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace

HttpRouter::HttpRouter(SnapshotSource snapshot, MetricsRenderer metrics)
    : snapshot_(std::move(snapshot)), metrics_(std::move(metrics)) {
  routes_ = {
      {"/", "index", {"GET"}, [this](const HttpRequest&) { return Index(); }},
      {"/livez", "livez", {"GET"}, [this](const HttpRequest&) { return Livez(); }},
      {"/readyz", "readyz", {"GET"}, [this](const HttpRequest&) { return Readyz(); }},
      {"/metrics", "metrics", {"GET"}, [this](const HttpRequest&) { return Metrics(); }},
  };
}

HttpResponse HttpRouter::Route(const HttpRequest& request) const {
  const std::string path = request.Path();
  for (const auto& r : routes_) {
    if (r.path != path) continue;
    const std::string method = request.method == "HEAD" ? "GET" : request.method;
    HttpResponse response;
    if (std::find(r.methods.begin(), r.methods.end(), method) == r.methods.end()) {
      std::vector<std::string> allowed = r.methods;
      if (std::find(allowed.begin(), allowed.end(), "GET") != allowed.end())
        allowed.push_back("HEAD");
      response = JsonError(405, "method " + request.method + " not allowed on " + path +
                                    " (allowed: " + Join(allowed, ", ") + ")");
      response.headers.emplace_back("Allow", Join(allowed, ", "));
    } else {
      response = r.handler(request);
    }
    response.route = r.name;
    return response;
  }
  HttpResponse response = JsonError(404, "no such endpoint: " + path);
  response.route = "not_found";
  return response;
}

HttpResponse HttpRouter::Index() const {
  const auto s = snapshot_();
  HttpResponse r;
  r.content_type = "text/html; charset=utf-8";
  r.body = "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>ringwatch " +
           EscapeHtml(s->node_id) + "</title></head>\n<body>\n<h1>ringwatch</h1>\n<p>node <b>" +
           EscapeHtml(s->node_id) + "</b> in cluster <b>" + EscapeHtml(s->cluster) +
           "</b>, version " + EscapeHtml(s->version) +
           "</p>\n<ul>\n"
           "<li><a href=\"/metrics\">/metrics</a> Prometheus metrics</li>\n"
           "<li><a href=\"/livez\">/livez</a> liveness</li>\n"
           "<li><a href=\"/readyz\">/readyz</a> readiness</li>\n"
           "</ul>\n</body></html>\n";
  return r;
}

HttpResponse HttpRouter::Livez() const {
  HttpResponse r;
  r.content_type = "text/plain; charset=utf-8";
  r.body = "ok\n";
  return r;
}

HttpResponse HttpRouter::Readyz() const {
  const auto s = snapshot_();
  HttpResponse r;
  if (s->ready) {
    r.body = nlohmann::json{{"ready", true}}.dump() + "\n";
  } else {
    r.status = 503;
    r.body = nlohmann::json{{"ready", false}, {"reason", s->not_ready_reason}}.dump(
                 -1, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n";
  }
  return r;
}

HttpResponse HttpRouter::Metrics() const {
  HttpResponse r;
  r.content_type = exporters::kTextContentType;
  r.body = metrics_();
  return r;
}

}  // namespace ringwatch::agent
