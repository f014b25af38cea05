#pragma once
// The HTTP server of the status API and /metrics, on Boost.Beast in the shape
// of Beast's async server examples: a listener, and one session per connection
// on its own strand. Every session enforces the limits that keep a bad client
// from hurting the agent:
//   - idle_timeout: a keep-alive connection idle this long is closed;
//   - read_timeout: once a request's first byte arrives, the whole request must
//     arrive within this (slow clients get 408 and are closed);
//   - max_request_bytes: body limit (413); headers are capped at 16 KiB (431);
//   - max_connections: further connections get 503 and are closed at once.
// Malformed requests get 400 and the connection is closed. Pipelined requests
// are answered in order. Every answer is counted by route and status code.
//
// Nothing a request waits for holds the server: a blocking query parks its
// connection until Wake() says the state moved (or its wait ends), a deferred
// answer (a POST the core carries out) arrives through a callback, and every
// other connection is served meanwhile.
//
// HTTPS (options.tls): TLS 1.2 or newer with forward-secret AEAD suites; with a
// client CA, mutual TLS (a client without a certificate that CA signed fails
// the handshake). A plain-HTTP request on the TLS port gets a plain 400 that
// says so. ReloadTls() swaps in a new certificate for new connections
// without touching the listener or the open ones.
//
// Threading: all handlers run on the io_context passed in (the agent gives the
// server its own thread so that HTTP never runs on the core thread). Start and
// Stop must be called from that io_context's thread or before it runs.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <system_error>

#include "agent/http/http_router.h"
#include "exporters/agent_metrics.h"

namespace ringwatch::agent {

struct TlsFiles {
  std::string cert_file;       // PEM certificate chain; empty: plain HTTP
  std::string key_file;        // PEM private key
  std::string client_ca_file;  // PEM CA bundle; set: mutual TLS
  bool enabled() const { return !cert_file.empty(); }
};

struct HttpServerOptions {
  std::chrono::nanoseconds read_timeout = std::chrono::seconds(10);
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);
  std::size_t max_connections = 256;
  std::size_t max_request_bytes = 64 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  // A deferred answer (HttpResponse::deferred) that takes longer gets 504.
  std::chrono::nanoseconds deferred_timeout = std::chrono::seconds(10);
  TlsFiles tls;
};

struct HttpServerState;  // shared by the listener and the sessions

class HttpServer {
 public:
  // `router` must outlive the server and every connection (the agent owns both).
  // `metrics` (ringwatch_http_*) must outlive the server too.
  HttpServer(boost::asio::io_context& ioc, const HttpRouter& router, HttpServerOptions options,
             exporters::HttpMetrics& metrics);
  ~HttpServer();

  // Binds and starts accepting. Returns the bind/listen error, if any (with
  // TLS, call ReloadTls first: without a certificate Start fails with
  // invalid_argument).
  std::error_code Start(const boost::asio::ip::tcp::endpoint& endpoint);

  // (Re)loads options.tls's files; new connections use them, open ones keep
  // theirs. Returns what is wrong ("" when loaded); on failure the server
  // keeps the certificate it had. Any thread.
  std::string ReloadTls();

  // The state blocking queries watch may have moved: each parked query
  // looks at its index again. Any thread (the core calls it after publishing
  // a new view).
  void Wake();

  // Address actually bound (useful with port 0).
  boost::asio::ip::tcp::endpoint local_endpoint() const;

  // Stops accepting and closes every open connection.
  void Stop();

 private:
  std::shared_ptr<HttpServerState> shared_;
};

}  // namespace ringwatch::agent
