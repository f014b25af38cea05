#include "agent/http/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <future>
#include <thread>

#include "exporters/metrics_registry.h"
#include "tests/support/raw_http.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::RawConnection;
namespace net = boost::asio;

constexpr auto kDeadline = 10s;

// A server on 127.0.0.1:0 with its own io_context thread, as the agent runs it.
class HttpServerTest : public ::testing::Test {
 protected:
  void Start(HttpServerOptions options) {
    auto s = std::make_shared<StatusSnapshot>();
    s->not_ready_reason = "testing";
    snapshots_ = std::make_unique<SnapshotPublisher>(s);
    RouterSources sources;
    sources.snapshot = [this] { return snapshots_->Latest(); };
    sources.metrics = [this] { return metrics_.Render(); };
    router_ = std::make_unique<HttpRouter>(std::move(sources));
    server_ = std::make_unique<HttpServer>(ioc_, *router_, options, http_metrics_);
    ASSERT_FALSE(server_->Start({net::ip::make_address("127.0.0.1"), 0}));
    port_ = server_->local_endpoint().port();
    thread_ = std::thread([this] { ioc_.run(); });
  }

  // Stop closes every connection, after which the loop runs out of work and
  // the thread ends by itself: a clean drain, as in the agent.
  void TearDown() override {
    if (server_) StopServer();
    guard_.reset();
    if (thread_.joinable()) thread_.join();
  }

  void StopServer() {
    std::promise<void> done;
    net::post(ioc_, [&] {
      server_->Stop();
      done.set_value();
    });
    done.get_future().wait();
  }

  std::string Metrics() { return metrics_.Render(); }

  static std::string Req(const std::string& path, const std::string& extra = "") {
    return "GET " + path + " HTTP/1.1\r\nHost: localhost\r\n" + extra + "\r\n";
  }

  // Declared in the order the agent owns them: what sessions reference
  // (metrics, router) outlives the io_context, which outlives the server.
  exporters::MetricsRegistry metrics_{"test", "test"};
  exporters::HttpMetrics http_metrics_{metrics_.registry()};
  std::unique_ptr<SnapshotPublisher> snapshots_;
  std::unique_ptr<HttpRouter> router_;
  net::io_context ioc_;
  net::executor_work_guard<net::io_context::executor_type> guard_ = net::make_work_guard(ioc_);
  std::unique_ptr<HttpServer> server_;
  std::thread thread_;
  uint16_t port_ = 0;
};

TEST_F(HttpServerTest, KeepAliveServesSeveralRequestsOnOneConnection) {
  Start({});
  RawConnection c(port_);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.Send(Req("/livez")));
    auto r = c.Read(1, kDeadline);
    ASSERT_EQ(r.size(), 1u) << i;
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[0].body, "ok\n");
    EXPECT_EQ(r[0].headers["content-type"], "text/plain; charset=utf-8");
  }
}

TEST_F(HttpServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start({});
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(Req("/livez") + Req("/nope") + Req("/readyz") + Req("/metrics")));
  auto r = c.Read(4, kDeadline);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[1].status, 404);
  EXPECT_EQ(r[2].status, 503);
  EXPECT_EQ(r[2].body, "{\"ready\":false,\"reason\":\"testing\"}\n");
  EXPECT_EQ(r[3].status, 200);
  EXPECT_EQ(r[3].headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
}

TEST_F(HttpServerTest, MalformedRequestGets400AndIsClosed) {
  Start({});
  for (const std::string& bad :
       std::vector<std::string>{"GARBAGE\r\n\r\n", "GET /livez HTTP/9.9\r\n\r\n",
                                "GET /livez HTTP/1.1\r\nNo colon\r\n\r\n",
                                "GET /livez HTTP/1.1\r\nContent-Length: abc\r\n\r\n",
                                std::string("G\0T / HTTP/1.1\r\n\r\n", 18)}) {
    RawConnection c(port_);
    ASSERT_TRUE(c.Send(bad));
    auto r = c.Read(1, kDeadline);
    ASSERT_EQ(r.size(), 1u) << bad;
    EXPECT_EQ(r[0].status, 400) << bad;
    EXPECT_NE(r[0].body.find("malformed HTTP request"), std::string::npos) << r[0].body;
    EXPECT_TRUE(c.WaitClosed(kDeadline)) << bad;
  }
  EXPECT_NE(Metrics().find("ringwatch_http_requests_total{code=\"400\",route=\"bad_request\"} 5"),
            std::string::npos)
      << Metrics();
}

TEST_F(HttpServerTest, NonOriginTargetGets400) {
  Start({});
  auto r = testing::Exchange(port_, "GET http://example.com/livez HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(r->body, "{\"error\":\"request target must be an absolute path\"}\n");
}

TEST_F(HttpServerTest, OversizedBodyGets413) {
  HttpServerOptions o;
  o.max_request_bytes = 1024;
  Start(o);
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" +
                     std::string(5000, 'x')));
  auto r = c.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 413);
  EXPECT_TRUE(c.WaitClosed(kDeadline));
}

TEST_F(HttpServerTest, OversizedHeadersGet431) {
  Start({});
  RawConnection c(port_);
  c.Send(Req("/livez", "X-Big: " + std::string(20000, 'a') + "\r\n"));
  auto r = c.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 431);
}

TEST_F(HttpServerTest, SlowRequestGets408AfterReadTimeout) {
  HttpServerOptions o;
  o.read_timeout = 200ms;
  Start(o);
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("GET /livez HTTP/1.1\r\nHost: x\r\n"));  // never finished
  auto r = c.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 408);
  EXPECT_TRUE(c.WaitClosed(kDeadline));
}

TEST_F(HttpServerTest, IdleKeepAliveConnectionIsClosed) {
  HttpServerOptions o;
  o.idle_timeout = 200ms;
  Start(o);
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(Req("/livez")));
  ASSERT_EQ(c.Read(1, kDeadline).size(), 1u);
  EXPECT_TRUE(c.WaitClosed(kDeadline));  // closed without an answer
}

TEST_F(HttpServerTest, Http10WithoutKeepAliveIsClosedAfterTheAnswer) {
  Start({});
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("GET /livez HTTP/1.0\r\n\r\n"));
  auto r = c.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_TRUE(c.WaitClosed(kDeadline));
}

TEST_F(HttpServerTest, ConnectionsOverTheCapGet503) {
  HttpServerOptions o;
  o.max_connections = 3;
  Start(o);
  std::vector<RawConnection> held;
  for (int i = 0; i < 3; ++i) {
    held.emplace_back(port_);
    ASSERT_TRUE(held.back().Send(Req("/livez")));  // an answer proves the session exists
    ASSERT_EQ(held.back().Read(1, kDeadline).size(), 1u);
  }
  {
    RawConnection extra(port_);
    auto r = extra.Read(1, kDeadline);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].status, 503);
    EXPECT_TRUE(extra.WaitClosed(kDeadline));
  }
  EXPECT_NE(Metrics().find("ringwatch_http_connections_rejected_total 1"), std::string::npos);
  held.clear();
  // Slots free up once the server sees the closes; poll with a deadline.
  const auto until = std::chrono::steady_clock::now() + kDeadline;
  std::optional<testing::RawResponse> r;
  for (int attempt = 0; attempt < 1000 && std::chrono::steady_clock::now() < until; ++attempt) {
    r = testing::Get(port_, "/livez");
    if (r && r->status == 200) break;
  }
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpServerTest, CountsAnswersByRouteAndCode) {
  Start({});
  testing::Get(port_, "/livez");
  testing::Get(port_, "/livez");
  testing::Get(port_, "/missing");
  testing::Exchange(port_, "DELETE /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const std::string m = Metrics();
  EXPECT_NE(m.find("ringwatch_http_requests_total{code=\"200\",route=\"livez\"} 2"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("ringwatch_http_requests_total{code=\"404\",route=\"not_found\"} 1"),
            std::string::npos)
      << m;
  EXPECT_NE(m.find("ringwatch_http_requests_total{code=\"405\",route=\"metrics\"} 1"),
            std::string::npos)
      << m;
}

TEST_F(HttpServerTest, HeadAnswersHeadersWithContentLengthButNoBody) {
  Start({});
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("HEAD /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string raw = c.ReadUntilClosed(kDeadline);
  EXPECT_EQ(raw.rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << raw;
  EXPECT_NE(raw.find("Content-Length: 3\r\n"), std::string::npos) << raw;
  EXPECT_EQ(raw.substr(raw.size() - 4), "\r\n\r\n") << "a body followed the headers: " << raw;
}

TEST_F(HttpServerTest, StopClosesOpenConnectionsAndRefusesNewOnes) {
  Start({});
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(Req("/livez")));
  ASSERT_EQ(c.Read(1, kDeadline).size(), 1u);
  StopServer();
  EXPECT_TRUE(c.WaitClosed(kDeadline));
  EXPECT_THROW(RawConnection{port_}, std::runtime_error);
}

}  // namespace
}  // namespace ringwatch::agent
