#include "agent/http/http_server.h"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "core/log.h"

namespace ringwatch::agent {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

const char* kServerName = "ringwatch";

}  // namespace

class Session;

// State shared by the listener and all sessions. Sessions hold a shared_ptr so
// that it outlives the server object if handlers are still queued.
struct HttpServerState {
  HttpServerState(net::io_context& ioc_in, const HttpRouter& router_in,
                  HttpServerOptions options_in, exporters::HttpMetrics& metrics_in)
      : ioc(ioc_in),
        router(router_in),
        options(options_in),
        acceptor(ioc_in),
        metrics(metrics_in) {}

  void Count(const std::string& route, int status) { metrics.Count(route, status); }

  net::io_context& ioc;
  const HttpRouter& router;
  const HttpServerOptions options;
  tcp::acceptor acceptor;
  std::atomic<bool> stopped{false};

  std::mutex mu;  // guards sessions
  std::set<std::weak_ptr<Session>, std::owner_less<std::weak_ptr<Session>>> sessions;
  std::size_t active = 0;  // guarded by mu

  exporters::HttpMetrics& metrics;
};

// One connection. Reads a request (idle timeout until its first byte, then the
// read timeout for the rest), routes it, writes the answer, and loops while the
// client keeps the connection alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, std::shared_ptr<HttpServerState> shared)
      : stream_(std::move(socket)),
        read_timer_(stream_.get_executor()),
        shared_(std::move(shared)),
        buffer_(shared_->options.max_request_bytes + shared_->options.max_header_bytes + 4096) {}

  ~Session() {
    std::lock_guard lock(shared_->mu);
    --shared_->active;
    shared_->metrics.open().Decrement();
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->WaitForRequest(); });
  }

  // Called from any thread: closes the socket on the session's strand.
  void Close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      self->read_timer_.cancel();
      beast::error_code ec;
      self->stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
      self->stream_.close();
    });
  }

 private:
  void WaitForRequest() {
    if (buffer_.size() > 0) {  // a pipelined request is already buffered
      ReadRequest();
      return;
    }
    stream_.expires_after(shared_->options.idle_timeout);
    stream_.async_read_some(
        buffer_.prepare(std::min<std::size_t>(4096, buffer_.max_size() - buffer_.size())),
        [self = shared_from_this()](beast::error_code ec, std::size_t n) {
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
    stream_.expires_never();
    timed_out_ = false;
    read_timer_.expires_after(shared_->options.read_timeout);
    read_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
      if (ec) return;  // cancelled: the request arrived in time
      self->timed_out_ = true;
      beast::error_code ignored;
      self->stream_.socket().cancel(ignored);
    });
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
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
      const auto remote = stream_.socket().remote_endpoint(ec);
      request.from_loopback = !ec && remote.address().is_loopback();
    }
    const bool head = req.method() == http::verb::head;
    const bool keep_alive = req.keep_alive();
    const unsigned version = req.version();
    parser_.reset();

    HttpResponse response;
    if (request.target.empty() || request.target.front() != '/') {
      response = JsonError(400, "request target must be an absolute path");
      response.route = "bad_request";
    } else {
      response = RouteSafely(request);
    }
    if (response.block)
      return Block(std::move(request), *response.block, version, keep_alive, head);
    Write(std::move(response), version, keep_alive, head);
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

  // A blocking query: look at the index every 25 ms (a cheap snapshot read)
  // until it moves past the client's, the wait ends or the server stops;
  // then answer with a fresh routing of the same request.
  void Block(HttpRequest request, BlockUntil block, unsigned version, bool keep_alive, bool head) {
    const auto deadline = std::chrono::steady_clock::now() + block.wait;
    auto timer = std::make_shared<net::steady_timer>(stream_.get_executor());
    auto poll = std::make_shared<std::function<void()>>();
    *poll = [self = shared_from_this(), timer, weak = std::weak_ptr<std::function<void()>>(poll),
             request = std::move(request), block, deadline, version, keep_alive, head] {
      if (self->shared_->stopped.load() ||
          self->shared_->router.CurrentIndex(block) > block.index ||
          std::chrono::steady_clock::now() >= deadline) {
        HttpResponse response = self->RouteSafely(request);
        response.block.reset();
        return self->Write(std::move(response), version, keep_alive, head);
      }
      timer->expires_after(std::chrono::milliseconds(25));
      timer->async_wait([strong = weak.lock()](beast::error_code ec) {
        if (!ec && strong) (*strong)();
      });
    };
    (*poll)();
  }

  // Answers an unreadable request and closes the connection.
  void Reject(int status, const std::string& message, const char* reason) {
    log::Debug("http", "rejected request",
               {{"status", std::to_string(status)}, {"reason", reason}, {"detail", message}});
    HttpResponse response = JsonError(status, message);
    response.route = "bad_request";
    parser_.reset();
    buffer_.clear();
    Write(std::move(response), 11, false, false);
  }

  void Write(HttpResponse response, unsigned version, bool keep_alive, bool head) {
    shared_->Count(response.route, response.status);
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(response.status), version);
    res->set(http::field::server, kServerName);
    res->set(http::field::content_type, response.content_type);
    for (const auto& [name, value] : response.headers)
      res->set(name, value);
    res->keep_alive(keep_alive && !shared_->stopped.load());
    const std::size_t length = response.body.size();
    if (!head) res->body() = std::move(response.body);
    res->content_length(length);
    stream_.expires_after(shared_->options.read_timeout);
    http::async_write(stream_, *res,
                      [self = shared_from_this(), res](beast::error_code ec, std::size_t) {
                        if (ec || !res->keep_alive()) return self->CloseQuietly();
                        self->WaitForRequest();
                      });
  }

  void CloseQuietly() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  beast::tcp_stream stream_;
  net::steady_timer read_timer_;
  bool timed_out_ = false;  // read_timer_ fired before the request was whole
  std::shared_ptr<HttpServerState> shared_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

namespace {

// Answers 503 to a connection over the cap, then closes it.
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
  acceptor.async_accept(
      net::make_strand(shared->ioc), [shared](beast::error_code ec, tcp::socket socket) {
        if (ec == net::error::operation_aborted || !shared->acceptor.is_open()) return;
        if (ec) {
          // EMFILE and friends: log, and keep accepting after the error.
          log::Warn("http", "accept failed", {{"error", ec.message()}});
        } else {
          std::shared_ptr<Session> session;
          {
            std::lock_guard lock(shared->mu);
            if (shared->active >= shared->options.max_connections) {
              shared->metrics.rejected().Increment();
            } else {
              ++shared->active;
              shared->metrics.open().Increment();
              session = std::make_shared<Session>(std::move(socket), shared);
              // Prune expired entries as we go so the set stays bounded.
              for (auto it = shared->sessions.begin(); it != shared->sessions.end();) {
                it = it->expired() ? shared->sessions.erase(it) : std::next(it);
              }
              shared->sessions.insert(session);
            }
          }
          if (session) {
            session->Start();
          } else {
            RejectConnection(std::move(socket));
          }
        }
        Accept(shared);
      });
}

}  // namespace

HttpServer::HttpServer(net::io_context& ioc, const HttpRouter& router, HttpServerOptions options,
                       exporters::HttpMetrics& metrics)
    : shared_(std::make_shared<HttpServerState>(ioc, router, options, metrics)) {}

HttpServer::~HttpServer() {
  Stop();
}

std::error_code HttpServer::Start(const tcp::endpoint& endpoint) {
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

void HttpServer::Stop() {
  std::vector<std::shared_ptr<Session>> open;
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
