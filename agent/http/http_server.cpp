#include "agent/http/http_server.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <type_traits>

#include "core/duration.h"
#include "core/log.h"

namespace ringwatch::agent {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

namespace {

const char* kServerName = "ringwatch";

// TLS 1.2 suites: forward secrecy and AEAD only (Mozilla's "intermediate"
// list); TLS 1.3 suites are all of that kind and stay OpenSSL's defaults.
const char* kTls12Ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

// When the certificate in `ctx` stops being valid, as OpenSSL prints it.
std::string NotAfter(ssl::context& ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx.native_handle());
  if (cert == nullptr) return "";
  BIO* bio = BIO_new(BIO_s_mem());
  if (bio == nullptr) return "";
  std::string out;
  if (ASN1_TIME_print(bio, X509_get0_notAfter(cert)) == 1) {
    char* data = nullptr;
    const long n = BIO_get_mem_data(bio, &data);
    if (n > 0) out.assign(data, static_cast<std::size_t>(n));
  }
  BIO_free(bio);
  return out;
}

std::shared_ptr<ssl::context> MakeTlsContext(const TlsFiles& files, std::string* error) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  SSL_CTX_set_cipher_list(native, kTls12Ciphers);
  beast::error_code ec;
  ctx->use_certificate_chain_file(files.cert_file, ec);
  if (ec) {
    *error = "cannot load the certificate chain " + files.cert_file + ": " + ec.message();
    return nullptr;
  }
  ctx->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec) {
    *error = "cannot load the private key " + files.key_file + ": " + ec.message();
    return nullptr;
  }
  if (SSL_CTX_check_private_key(native) != 1) {
    *error =
        "the private key " + files.key_file + " does not match the certificate " + files.cert_file;
    return nullptr;
  }
  if (!files.client_ca_file.empty()) {
    ctx->load_verify_file(files.client_ca_file, ec);
    if (ec) {
      *error = "cannot load the client CA " + files.client_ca_file + ": " + ec.message();
      return nullptr;
    }
    // Tell clients which CAs we accept (curl and browsers pick a cert by it).
    if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str()))
      SSL_CTX_set_client_CA_list(native, names);
    ctx->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  }
  return ctx;
}

}  // namespace

// A connection as the server's shared state sees it.
class SessionBase : public std::enable_shared_from_this<SessionBase> {
 public:
  virtual ~SessionBase() = default;
  virtual void Start() = 0;  // once, after it is registered
  // Both may be called from any thread; they run on the session's strand.
  virtual void Close() = 0;  // close the connection now
  virtual void Wake() = 0;   // a parked blocking query looks at its index again
};

using Sessions = std::set<std::weak_ptr<SessionBase>, std::owner_less<std::weak_ptr<SessionBase>>>;

// State shared by the listener and all sessions. Sessions hold a shared_ptr so
// that it outlives the server object if handlers are still queued.
struct HttpServerState {
  HttpServerState(net::io_context& ioc_in, const HttpRouter& router_in,
                  HttpServerOptions options_in, exporters::HttpMetrics& metrics_in)
      : ioc(ioc_in),
        router(router_in),
        options(std::move(options_in)),
        acceptor(ioc_in),
        metrics(metrics_in) {}

  void Count(const std::string& route, int status) { metrics.Count(route, status); }

  std::shared_ptr<ssl::context> Tls() {
    std::lock_guard lock(mu);
    return tls;
  }

  void Park(const std::weak_ptr<SessionBase>& session) {
    std::lock_guard lock(mu);
    if (parked.insert(session).second) metrics.waiters().Increment();
  }

  void Unpark(const std::weak_ptr<SessionBase>& session) {
    std::lock_guard lock(mu);
    if (parked.erase(session) > 0) metrics.waiters().Decrement();
  }

  net::io_context& ioc;
  const HttpRouter& router;
  const HttpServerOptions options;
  tcp::acceptor acceptor;
  std::atomic<bool> stopped{false};

  std::mutex mu;
  Sessions sessions;                  // guarded by mu
  Sessions parked;                    // guarded by mu: blocking queries waiting
  std::size_t active = 0;             // guarded by mu
  std::shared_ptr<ssl::context> tls;  // guarded by mu; null: plain HTTP

  exporters::HttpMetrics& metrics;
};

namespace {

using TlsStream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

// One connection. With TLS, first tells a TLS client from a plain one and
// shakes hands. Then reads a request (idle timeout until its first byte, then
// the read timeout for the rest), routes it, writes the answer — at once,
// once the blocking query's index moves, or once the deferred answer comes —
// and loops while the client keeps the connection alive.
template <class Stream>
class Session : public SessionBase {
  static constexpr bool kTls = std::is_same_v<Stream, TlsStream>;

 public:
  Session(tcp::socket&& socket, std::shared_ptr<HttpServerState> shared,
          std::shared_ptr<ssl::context> tls)
      : tls_(std::move(tls)),
        stream_(MakeStream(std::move(socket), tls_.get())),
        read_timer_(Tcp().get_executor()),
        wait_timer_(Tcp().get_executor()),
        shared_(std::move(shared)),
        buffer_(shared_->options.max_request_bytes + shared_->options.max_header_bytes + 4096) {}

  ~Session() override {
    std::lock_guard lock(shared_->mu);
    --shared_->active;
    shared_->metrics.open().Decrement();
  }

  void Start() override {
    net::dispatch(Tcp().get_executor(), [self = Self()] {
      if constexpr (kTls) {
        self->DetectTls();
      } else {
        self->WaitForRequest();
      }
    });
  }

  void Close() override {
    net::post(Tcp().get_executor(), [self = Self()] {
      self->read_timer_.cancel();
      self->EndWaits();
      self->answer_.reset();
      beast::error_code ec;
      self->Tcp().socket().shutdown(tcp::socket::shutdown_both, ec);
      self->Tcp().close();
    });
  }

  void Wake() override {
    net::post(Tcp().get_executor(), [self = Self()] {
      if (self->parked_ &&
          self->shared_->router.CurrentIndex(self->parked_->block) > self->parked_->block.index)
        self->AnswerParked();
    });
  }

 private:
  // A request whose answer waits: a blocking query, or a deferred answer.
  struct Waiting {
    HttpRequest request;  // blocking query: routed again when it is answered
    BlockUntil block;
    std::string route;  // deferred: the route that took the request
    unsigned version = 11;
    bool keep_alive = true;
    bool head = false;
  };

  static Stream MakeStream(tcp::socket&& socket, ssl::context* tls) {
    if constexpr (kTls) {
      return Stream(std::move(socket), *tls);
    } else {
      return Stream(std::move(socket));
    }
  }

  std::shared_ptr<Session> Self() { return std::static_pointer_cast<Session>(shared_from_this()); }

  beast::tcp_stream& Tcp() { return beast::get_lowest_layer(stream_); }

  // TLS port: the first bytes say whether a TLS client or a plain-HTTP one
  // connected. The handshake (and detection) must finish within read_timeout.
  void DetectTls() {
    Tcp().expires_after(shared_->options.read_timeout);
    beast::async_detect_ssl(Tcp(), buffer_, [self = Self()](beast::error_code ec, bool tls) {
      if (ec) return self->CloseTcp();
      if (!tls) return self->RefusePlain();
      if constexpr (kTls) {
        self->stream_.async_handshake(
            ssl::stream_base::server, self->buffer_.data(),
            [self](beast::error_code ec, std::size_t used) {
              if (ec) {
                self->shared_->metrics.Refused("tls_handshake");
                log::Debug("http", "TLS handshake failed", {{"error", ec.message()}});
                return self->CloseTcp();
              }
              self->handshake_done_ = true;
              self->buffer_.consume(used);
              self->WaitForRequest();
            });
      }
    });
  }

  // A plain-HTTP request on the TLS port: say so in plain HTTP, and close.
  void RefusePlain() {
    shared_->metrics.Refused("plain_http");
    shared_->Count("bad_request", 400);
    auto res = std::make_shared<http::response<http::string_body>>(http::status::bad_request, 11);
    res->set(http::field::server, kServerName);
    res->set(http::field::content_type, "application/json");
    res->keep_alive(false);
    res->body() =
        "{\"error\":\"this port serves HTTPS: the client sent a plain HTTP request (use "
        "https://)\"}\n";
    res->prepare_payload();
    Tcp().expires_after(shared_->options.read_timeout);
    http::async_write(Tcp(), *res,
                      [self = Self(), res](beast::error_code, std::size_t) { self->CloseTcp(); });
  }

  void WaitForRequest() {
    if (buffer_.size() > 0) {  // a pipelined request is already buffered
      ReadRequest();
      return;
    }
    Tcp().expires_after(shared_->options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(std::min<std::size_t>(4096, buffer_.max_size() - buffer_.size())),
        [self = Self()](beast::error_code ec, std::size_t n) {
          if (ec) return self->CloseQuietly();  // idle, closed or reset
          self->buffer_.commit(n);
          self->ReadRequest();
        });
  }

  // The read deadline is a separate timer rather than tcp_stream's own: on
  // expiry tcp_stream closes the socket, and a slow client deserves a 408.
  void ReadRequest() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(shared_->options.max_header_bytes));
    parser_->body_limit(shared_->options.max_request_bytes);
    Tcp().expires_never();
    timed_out_ = false;
    read_timer_.expires_after(shared_->options.read_timeout);
    read_timer_.async_wait([self = Self()](beast::error_code ec) {
      if (ec) return;  // cancelled: the request arrived in time
      self->timed_out_ = true;
      beast::error_code ignored;
      self->Tcp().socket().cancel(ignored);
    });
    http::async_read(stream_, buffer_, *parser_,
                     [self = Self()](beast::error_code ec, std::size_t) {
                       self->read_timer_.cancel();
                       self->OnRead(ec);
                     });
  }

  void OnRead(beast::error_code ec) {
    if (timed_out_) {
      return Reject(408, "request not received within http.read_timeout", "timeout");
    }
    if (ec == http::error::end_of_stream || ec == net::error::eof ||
        ec == net::error::connection_reset || ec == net::error::operation_aborted) {
      return CloseQuietly();
    }
    if (ec == http::error::header_limit) {
      return Reject(431,
                    "request headers larger than " +
                        std::to_string(shared_->options.max_header_bytes) + " bytes",
                    "malformed");
    }
    if (ec == http::error::body_limit || ec == http::error::buffer_overflow) {
      return Reject(413,
                    "request larger than http.max_request_bytes (" +
                        std::to_string(shared_->options.max_request_bytes) + " bytes)",
                    "malformed");
    }
    if (ec.category() == http::make_error_code(http::error::bad_method).category()) {
      return Reject(400, "malformed HTTP request: " + ec.message(), "malformed");
    }
    if (ec) return CloseQuietly();  // socket-level failure: nothing to answer

    const auto& req = parser_->get();
    HttpRequest request;
    request.method = std::string(req.method_string());
    request.target = std::string(req.target());
    for (const auto& field : req) {
      std::string name(field.name_string());
      for (char& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      request.headers.emplace(std::move(name), std::string(field.value()));
    }
    request.body = req.body();
    {
      boost::system::error_code ec;
      const auto remote = Tcp().socket().remote_endpoint(ec);
      request.from_loopback = !ec && remote.address().is_loopback();
    }
    request.tls = kTls;
    Waiting w;
    w.head = req.method() == http::verb::head;
    w.keep_alive = req.keep_alive();
    w.version = req.version();
    parser_.reset();

    HttpResponse response;
    if (request.target.empty() || request.target.front() != '/') {
      response = JsonError(400, "request target must be an absolute path");
      response.route = "bad_request";
    } else {
      response = RouteSafely(request);
    }
    if (response.block) {
      w.request = std::move(request);
      w.block = *response.block;
      return Park(std::move(w));
    }
    if (response.deferred) {
      w.route = response.route;
      return Defer(std::move(response.deferred), response.deferred_for, std::move(w));
    }
    Write(std::move(response), w);
  }

  HttpResponse RouteSafely(const HttpRequest& request) {
    // Nothing may escape a handler: a failing route is a 500, not a crash.
    try {
      return shared_->router.Route(request);
    } catch (const std::exception& e) {
      log::Error("http", "handler failed", {{"target", request.target}, {"error", e.what()}});
      HttpResponse response = JsonError(500, "internal error");
      response.route = "error";
      return response;
    }
  }

  // A blocking query: park until Wake() finds the index moved past the
  // client's, or the wait ends; then answer with a fresh routing of the
  // same request.
  void Park(Waiting w) {
    parked_ = std::move(w);
    shared_->Park(weak_from_this());
    wait_timer_.expires_after(parked_->block.wait);
    wait_timer_.async_wait([self = Self()](beast::error_code ec) {
      if (!ec && self->parked_) self->AnswerParked();  // the wait is over
    });
    WatchClient();
    // The state may have moved between routing and parking (no Wake then).
    if (shared_->router.CurrentIndex(parked_->block) > parked_->block.index) AnswerParked();
  }

  // While a query is parked nothing else reads the connection: a read kept
  // outstanding sees the client leave — its connection slot and its waiter
  // are freed at once, not when the wait ends — and buffers what the client
  // pipelines meanwhile (up to the buffer's size).
  void WatchClient() {
    const std::size_t room = buffer_.max_size() - buffer_.size();
    if (room == 0) return;  // full: further bytes wait in the socket
    watching_ = true;
    stream_.async_read_some(buffer_.prepare(std::min<std::size_t>(4096, room)),
                            [self = Self()](beast::error_code ec, std::size_t n) {
                              self->watching_ = false;
                              self->buffer_.commit(n);
                              if (self->answer_) {  // AnswerParked cancelled this read to answer
                                Waiting w = std::move(*self->answer_);
                                self->answer_.reset();
                                if (ec && ec != net::error::operation_aborted)
                                  return self->CloseTcp();
                                return self->Answer(std::move(w));
                              }
                              if (!self->parked_) return;  // closed meanwhile (Stop)
                              if (ec) {  // the client left (or broke the connection)
                                self->EndWaits();
                                return self->CloseTcp();
                              }
                              self->WatchClient();
                            });
  }

  void AnswerParked() {
    Waiting w = std::move(*parked_);
    EndWaits();
    if (watching_) {  // one read at a time: the answer follows the watch's end
      answer_ = std::move(w);
      beast::error_code ignored;
      Tcp().socket().cancel(ignored);
      return;
    }
    Answer(std::move(w));
  }

  // A blocking query's answer: the same request, routed again.
  void Answer(Waiting w) {
    HttpResponse response = RouteSafely(w.request);
    response.block.reset();
    response.deferred = nullptr;
    Write(std::move(response), w);
  }

  // A deferred answer: the handler's callback brings it (from any thread)
  // onto this session's strand; the timer gives up after deferred_timeout.
  void Defer(std::function<void(HttpResponse::Reply)> start, std::chrono::milliseconds extra,
             Waiting w) {
    const uint64_t seq = ++deferred_seq_;
    deferred_ = std::move(w);
    wait_timer_.expires_after(shared_->options.deferred_timeout + extra);
    wait_timer_.async_wait([self = Self(), seq, extra](beast::error_code ec) {
      if (ec || !self->deferred_ || self->deferred_seq_ != seq) return;
      const auto limit = std::chrono::duration_cast<std::chrono::milliseconds>(
          self->shared_->options.deferred_timeout + extra);
      HttpResponse late =
          JsonError(504, "the operation did not complete within " + core::FormatDuration(limit));
      self->AnswerDeferred(std::move(late));
    });
    std::weak_ptr<SessionBase> weak = weak_from_this();
    auto executor = Tcp().get_executor();
    auto reply = [weak, executor, seq](HttpResponse response) {
      auto base = weak.lock();
      if (!base) return;  // the connection is gone
      net::post(executor, [self = std::static_pointer_cast<Session>(base), seq,
                           response = std::move(response)]() mutable {
        if (!self->deferred_ || self->deferred_seq_ != seq) return;  // timed out, or closed
        self->AnswerDeferred(std::move(response));
      });
    };
    try {
      start(std::move(reply));
    } catch (const std::exception& e) {
      log::Error("http", "handler failed", {{"route", deferred_->route}, {"error", e.what()}});
      HttpResponse response = JsonError(500, "internal error");
      AnswerDeferred(std::move(response));
    }
  }

  void AnswerDeferred(HttpResponse response) {
    Waiting w = std::move(*deferred_);
    deferred_.reset();
    wait_timer_.cancel();
    response.route = w.route;
    response.block.reset();
    response.deferred = nullptr;
    Write(std::move(response), w);
  }

  // Forgets a parked query or a deferred answer (answered, or closing).
  void EndWaits() {
    if (parked_) {
      parked_.reset();
      shared_->Unpark(weak_from_this());
    }
    deferred_.reset();
    wait_timer_.cancel();
  }

  // Answers an unreadable request and closes the connection.
  void Reject(int status, const std::string& message, const char* reason) {
    log::Debug("http", "rejected request",
               {{"status", std::to_string(status)}, {"reason", reason}, {"detail", message}});
    HttpResponse response = JsonError(status, message);
    response.route = "bad_request";
    parser_.reset();
    buffer_.clear();
    Waiting w;
    w.keep_alive = false;
    Write(std::move(response), w);
  }

  void Write(HttpResponse response, const Waiting& w) {
    shared_->Count(response.route, response.status);
    if (!response.refusal.empty()) shared_->metrics.Refused(response.refusal);
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), w.version);
    res->set(http::field::server, kServerName);
    res->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers)
      res->set(name, value);
    res->keep_alive(w.keep_alive && !shared_->stopped.load());
    const std::size_t length = response.body.size();
    if (!w.head) res->body() = std::move(response.body);
    res->content_length(length);
    Tcp().expires_after(shared_->options.read_timeout);
    http::async_write(stream_, *res, [self = Self(), res](beast::error_code ec, std::size_t) {
      if (ec || !res->keep_alive()) return self->CloseQuietly();
      self->WaitForRequest();
    });
  }

  // Ends the connection politely: TLS says close_notify first (boundedly).
  void CloseQuietly() {
    if constexpr (kTls) {
      if (handshake_done_) {
        handshake_done_ = false;
        Tcp().expires_after(std::chrono::seconds(2));
        stream_.async_shutdown([self = Self()](beast::error_code) { self->CloseTcp(); });
        return;
      }
    }
    CloseTcp();
  }

  void CloseTcp() {
    beast::error_code ec;
    Tcp().socket().shutdown(tcp::socket::shutdown_send, ec);
    Tcp().close();
  }

  std::shared_ptr<ssl::context> tls_;  // TLS: the context this connection uses
  Stream stream_;
  net::steady_timer read_timer_;
  net::steady_timer wait_timer_;  // a parked query's wait, a deferred answer's deadline
  bool timed_out_ = false;        // read_timer_ fired before the request was whole
  bool handshake_done_ = false;
  std::shared_ptr<HttpServerState> shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<Waiting> parked_;
  std::optional<Waiting> answer_;  // a parked query's, once WatchClient's read ends
  bool watching_ = false;          // WatchClient's read is outstanding
  std::optional<Waiting> deferred_;
  uint64_t deferred_seq_ = 0;
};

namespace {

// Answers 503 to a connection over the cap, then closes it. (On a TLS port
// the client sees a failed handshake: the cap protects the agent first.)
void RejectConnection(tcp::socket socket) {
  auto stream = std::make_shared<beast::tcp_stream>(std::move(socket));
  auto res =
      std::make_shared<http::response<http::string_body>>(http::status::service_unavailable, 11);
  res->set(http::field::server, kServerName);
  res->set(http::field::content_type, "application/json");
  res->keep_alive(false);
  res->body() = "{\"error\":\"too many connections (http.max_connections)\"}\n";
  res->prepare_payload();
  stream->expires_after(std::chrono::seconds(2));
  http::async_write(*stream, *res, [stream, res](beast::error_code, std::size_t) {
    beast::error_code ec;
    stream->socket().shutdown(tcp::socket::shutdown_both, ec);
    stream->close();
  });
}

void Accept(std::shared_ptr<HttpServerState> shared) {
  auto& acceptor = shared->acceptor;
  acceptor.async_accept(net::make_strand(shared->ioc), [shared](beast::error_code ec,
                                                                tcp::socket socket) {
    if (ec == net::error::operation_aborted || !shared->acceptor.is_open()) return;
    if (ec) {
      // EMFILE and friends: log, and keep accepting after the error.
      log::Warn("http", "accept failed", {{"error", ec.message()}});
      return Accept(shared);
    }
    bool admitted = false;
    {
      std::lock_guard lock(shared->mu);
      if (shared->active >= shared->options.max_connections) {
        shared->metrics.rejected().Increment();
      } else {
        ++shared->active;
        shared->metrics.open().Increment();
        admitted = true;
      }
    }
    if (!admitted) {
      RejectConnection(std::move(socket));
      return Accept(shared);
    }
    auto tls = shared->Tls();
    std::shared_ptr<SessionBase> session;
    if (tls) {
      session = std::make_shared<Session<TlsStream>>(std::move(socket), shared, std::move(tls));
    } else {
      session = std::make_shared<Session<beast::tcp_stream>>(std::move(socket), shared, nullptr);
    }
    {
      std::lock_guard lock(shared->mu);
      // Prune expired entries as we go so the set stays bounded.
      for (auto it = shared->sessions.begin(); it != shared->sessions.end();)
        it = it->expired() ? shared->sessions.erase(it) : std::next(it);
      shared->sessions.insert(session);
    }
    session->Start();
    Accept(shared);
  });
}

}  // namespace

HttpServer::HttpServer(net::io_context& ioc, const HttpRouter& router, HttpServerOptions options,
                       exporters::HttpMetrics& metrics)
    : shared_(std::make_shared<HttpServerState>(ioc, router, std::move(options), metrics)) {}

HttpServer::~HttpServer() {
  Stop();
}

std::string HttpServer::ReloadTls() {
  const TlsFiles& files = shared_->options.tls;
  if (!files.enabled()) return "";
  std::string error;
  auto ctx = MakeTlsContext(files, &error);
  shared_->metrics.tls_reloads(ctx != nullptr).Increment();
  if (!ctx) return error;
  const std::string not_after = NotAfter(*ctx);
  {
    std::lock_guard lock(shared_->mu);
    shared_->tls = std::move(ctx);
  }
  log::Info("http", "TLS certificate loaded",
            {{"cert_file", files.cert_file},
             {"not_after", not_after},
             {"client_certificates", files.client_ca_file.empty() ? "not required" : "required"}});
  return "";
}

std::error_code HttpServer::Start(const tcp::endpoint& endpoint) {
  if (shared_->options.tls.enabled() && !shared_->Tls())
    return std::make_error_code(std::errc::invalid_argument);
  beast::error_code ec;
  auto& a = shared_->acceptor;
  a.open(endpoint.protocol(), ec);
  if (!ec) a.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(endpoint, ec);
  if (!ec) a.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    beast::error_code ignored;
    a.close(ignored);
    return ec;
  }
  Accept(shared_);
  return {};
}

tcp::endpoint HttpServer::local_endpoint() const {
  beast::error_code ec;
  return shared_->acceptor.local_endpoint(ec);
}

void HttpServer::Wake() {
  std::vector<std::shared_ptr<SessionBase>> parked;
  {
    std::lock_guard lock(shared_->mu);
    for (const auto& w : shared_->parked) {
      if (auto s = w.lock()) parked.push_back(std::move(s));
    }
  }
  for (auto& s : parked)
    s->Wake();
}

void HttpServer::Stop() {
  std::vector<std::shared_ptr<SessionBase>> open;
  {
    std::lock_guard lock(shared_->mu);
    if (shared_->stopped) return;
    shared_->stopped = true;
    for (const auto& w : shared_->sessions) {
      if (auto s = w.lock()) open.push_back(std::move(s));
    }
    shared_->sessions.clear();
  }
  beast::error_code ec;
  shared_->acceptor.close(ec);
  for (auto& s : open)
    s->Close();
}

}  // namespace ringwatch::agent
