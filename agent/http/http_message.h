#pragma once
// Plain HTTP request and response values, so that routing is a pure
// Request -> Response function testable without sockets or Beast types.
// agent/http_server.h converts to and from Beast messages.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace ringwatch::agent {

struct HttpRequest {
  std::string method;                          // as sent, e.g. "GET"
  std::string target;                          // as sent, e.g. "/v1/events?since=3"
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  // The client connected from a loopback address (set by the server).
  bool from_loopback = false;
  // The request came over TLS (set by the server).
  bool tls = false;

  // Path of target (before '?'), and its query parameters (percent-decoded;
  // a repeated name keeps the first value).
  std::string Path() const;
  std::map<std::string, std::string> Query() const;
};

// A Consul-style blocking query: answer once the index exceeds `index`, or
// when `wait` has passed, whichever comes first (the server re-routes then).
struct BlockUntil {
  enum class Index : uint8_t { kView, kRing, kLocks };
  uint64_t index = 0;
  std::chrono::milliseconds wait{0};
  Index of = Index::kView;  // the view version, the ring version or the lock table's
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers
  // Route that answered, a bounded name for the requests metric ("livez",
  // "metrics", ..., "not_found").
  std::string route = "not_found";
  std::optional<BlockUntil> block;  // set: not ready yet, wait as it says
  // Set: the answer comes later (a POST action the core carries out). The
  // server calls it once with `Reply`, which takes the answer from any thread
  // and at most once; the connection waits, the server does not. No answer
  // within HttpServerOptions::deferred_timeout: the client gets 504.
  using Reply = std::function<void(HttpResponse)>;
  std::function<void(Reply)> deferred;
  // The deferred answer may take this much longer than the server's
  // deferred_timeout (a lock acquisition that waits).
  std::chrono::milliseconds deferred_for{0};
  // Why a request was refused for its credentials or origin ("missing_token",
  // "bad_token", "not_loopback", "foreign_origin"); counted by the server in
  // ringwatch_http_refused_total{reason}. Empty otherwise.
  std::string refusal;
};

// {"error": message} with `status`.
HttpResponse JsonError(int status, const std::string& message);

}  // namespace ringwatch::agent
