#include "agent/http/http_server.h"

#include <gtest/gtest.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "exporters/metrics_registry.h"
#include "tests/support/raw_http.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls.h"

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
    if (customize_) customize_(sources);
    router_ = std::make_unique<HttpRouter>(std::move(sources));
    server_ = std::make_unique<HttpServer>(ioc_, *router_, options, http_metrics_);
    if (options.tls.enabled()) {
      ASSERT_EQ(server_->ReloadTls(), "");
    }
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

  // The value of an unlabelled (or fully labelled) sample in /metrics text.
  double Metric(const std::string& sample) {
    const std::string m = Metrics();
    const auto at = m.find("\n" + sample + " ");
    return at == std::string::npos ? -1 : std::stod(m.substr(at + sample.size() + 2));
  }

  // Spins (yielding, no sleep) until the server's own gauge shows `value`.
  bool WaitForMetric(const std::string& sample, double value) {
    const auto until = std::chrono::steady_clock::now() + kDeadline;
    while (std::chrono::steady_clock::now() < until) {
      if (Metric(sample) == value) return true;
      std::this_thread::yield();
    }
    return false;
  }

  // Publishes a snapshot whose committed view has version `version`.
  void PublishView(uint64_t version) {
    membership::View v;
    for (uint64_t i = 0; i < version; ++i) {
      const std::string id = "m" + std::to_string(i);
      v.Apply(membership::Command{1'700'000'000'000 + static_cast<int64_t>(i),
                                  membership::AddMember{{id, "10.0.0.1:7420", "z", "", 1, 1}}});
    }
    auto s = std::make_shared<StatusSnapshot>(*snapshots_->Latest());
    s->view = std::make_shared<const membership::View>(v);
    snapshots_->Publish(s);
  }

  // Set before Start: adjusts the router's sources (POST actions and such).
  std::function<void(RouterSources&)> customize_;

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

// A blocking query parks on a notification: it is answered when Wake() says
// the state moved, and not before (no polling: a new snapshot alone does not
// answer it); the waiters gauge counts it while it waits.
TEST_F(HttpServerTest, ABlockingQueryParksUntilWokenAndIsNotPolled) {
  Start({});
  PublishView(3);
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(Req("/v1/members?index=3&wait=5m")));
  ASSERT_TRUE(WaitForMetric("ringwatch_http_waiters", 1));
  PublishView(4);
  EXPECT_TRUE(c.Read(1, 300ms).empty()) << "answered without a wake: the server polls";
  server_->Wake();
  auto r = c.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].headers["x-ringwatch-index"], "4");
  EXPECT_TRUE(WaitForMetric("ringwatch_http_waiters", 0));
  // A wake that finds nothing new leaves a parked query parked.
  ASSERT_TRUE(c.Send(Req("/v1/events?index=4&wait=5m")));
  ASSERT_TRUE(WaitForMetric("ringwatch_http_waiters", 1));
  server_->Wake();
  EXPECT_TRUE(c.Read(1, 300ms).empty());
  PublishView(5);
  server_->Wake();
  r = c.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].headers["x-ringwatch-index"], "5");
}

TEST_F(HttpServerTest, ABlockingQueryIsAnsweredWhenItsWaitEnds) {
  Start({});
  PublishView(3);
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(Req("/v1/members?index=3&wait=200ms")));
  auto r = c.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(r[0].headers["x-ringwatch-index"], "3");
  EXPECT_TRUE(WaitForMetric("ringwatch_http_waiters", 0));
}

TEST_F(HttpServerTest, ManyParkedQueriesAreAllWokenAndStopReleasesTheRest) {
  Start({});
  PublishView(3);
  std::vector<RawConnection> views;
  std::vector<RawConnection> later;
  for (int i = 0; i < 20; ++i) {
    views.emplace_back(port_);
    ASSERT_TRUE(views.back().Send(Req("/v1/status?index=3&wait=5m")));
    later.emplace_back(port_);
    ASSERT_TRUE(later.back().Send(Req("/v1/events?index=4&wait=5m")));
  }
  ASSERT_TRUE(WaitForMetric("ringwatch_http_waiters", 40));
  PublishView(4);
  server_->Wake();
  for (auto& c : views) {
    auto r = c.Read(1, kDeadline);
    ASSERT_EQ(r.size(), 1u);
    EXPECT_EQ(r[0].headers["x-ringwatch-index"], "4");
  }
  ASSERT_TRUE(WaitForMetric("ringwatch_http_waiters", 20)) << "those at index 4 wait on";
  StopServer();
  for (auto& c : later)
    EXPECT_TRUE(c.WaitClosed(kDeadline));
  EXPECT_TRUE(WaitForMetric("ringwatch_http_waiters", 0));
}

// A parked query whose client goes away frees its waiter and its connection
// slot at once (not when its wait ends); requests the client pipelines while
// it waits are answered after it, in order.
TEST_F(HttpServerTest, AParkedQueryNoticesItsClientLeavingAndKeepsPipelinedRequests) {
  HttpServerOptions o;
  o.max_connections = 2;
  Start(o);
  PublishView(3);
  for (int i = 0; i < 3; ++i) {  // more rounds than slots: each must be freed
    RawConnection c(port_);
    ASSERT_TRUE(c.Send(Req("/v1/members?index=3&wait=10m")));
    ASSERT_TRUE(WaitForMetric("ringwatch_http_waiters", 1)) << i;
  }
  EXPECT_TRUE(WaitForMetric("ringwatch_http_waiters", 0));
  EXPECT_TRUE(WaitForMetric("ringwatch_http_connections", 0));
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(Req("/v1/members?index=3&wait=5m")));
  ASSERT_TRUE(WaitForMetric("ringwatch_http_waiters", 1));
  ASSERT_TRUE(c.Send(Req("/livez") + Req("/nope")));
  EXPECT_TRUE(c.Read(1, 200ms).empty()) << "a pipelined request overtook the parked one";
  PublishView(4);
  server_->Wake();
  auto r = c.Read(3, kDeadline);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].headers["x-ringwatch-index"], "4");
  EXPECT_EQ(r[1].body, "ok\n");
  EXPECT_EQ(r[2].status, 404);
}

// The answer to a POST comes from another thread (the core's) when the
// action is done; meanwhile the server serves everyone else.
class DeferredTest : public HttpServerTest {
 protected:
  void SetUp() override {
    customize_ = [this](RouterSources& s) {
      s.leave = [this](RouterSources::ActionDone done) {
        std::lock_guard lock(mu_);
        pending_.push_back(std::move(done));
        cv_.notify_all();
      };
    };
  }
  // Waits until the server has started `n` leaves; returns the latest.
  RouterSources::ActionDone Started(std::size_t n) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, kDeadline, [&] { return pending_.size() >= n; })) return nullptr;
    return pending_.back();
  }
  static std::string Post(const std::string& path, const std::string& extra = "") {
    return "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n" + extra +
           "\r\n";
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RouterSources::ActionDone> pending_;
};

TEST_F(DeferredTest, ASlowActionHoldsItsConnectionNotTheServer) {
  Start({});
  RawConnection leaving(port_);
  ASSERT_TRUE(leaving.Send(Post("/v1/leave")));
  auto done = Started(1);
  ASSERT_TRUE(done);
  for (int i = 0; i < 3; ++i) {  // other clients are served while the leave runs
    auto livez = testing::Get(port_, "/livez");
    ASSERT_TRUE(livez);
    EXPECT_EQ(livez->status, 200);
  }
  EXPECT_TRUE(leaving.Read(1, 100ms).empty()) << "answered before the action was done";
  std::thread core([done] { done({200, "left the cluster; the agent is stopping"}); });
  core.join();
  auto r = leaving.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(nlohmann::json::parse(r[0].body)["result"], "left the cluster; the agent is stopping");
  EXPECT_NE(Metrics().find("ringwatch_http_requests_total{code=\"200\",route=\"leave\"} 1"),
            std::string::npos)
      << Metrics();
}

TEST_F(DeferredTest, AnActionThatNeverAnswersGets504AndItsLateAnswerIsDropped) {
  HttpServerOptions o;
  o.deferred_timeout = 200ms;
  Start(o);
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(Post("/v1/leave")));
  auto r = c.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 504);
  // The same connection asks again; the first action's late answer must not
  // answer the second request.
  auto first = Started(1);
  ASSERT_TRUE(c.Send(Post("/v1/leave")));
  auto second = Started(2);
  ASSERT_TRUE(first && second);
  first({200, "stale"});
  second({409, "not left: the agent is already stopping"});
  r = c.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 409);
}

// A lock acquisition that waits may take its `wait` beyond the server's
// deferred timeout; one that does not wait may not.
class LockWaitTest : public HttpServerTest {
 protected:
  void SetUp() override {
    customize_ = [this](RouterSources& s) {
      s.acquire_lock = [this](const LockRequest&, RouterSources::LockDone done) {
        std::lock_guard lock(mu_);
        pending_.push_back(std::move(done));
        cv_.notify_all();
      };
    };
  }
  RouterSources::LockDone Started(std::size_t n) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, kDeadline, [&] { return pending_.size() >= n; })) return nullptr;
    return pending_.back();
  }
  static std::string Post(const std::string& target) {
    return "POST " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n";
  }
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RouterSources::LockDone> pending_;
};

TEST_F(LockWaitTest, AWaitingAcquisitionOutlastsTheDeferredTimeoutByItsWait) {
  HttpServerOptions o;
  o.deferred_timeout = 200ms;
  Start(o);
  RawConnection waiting(port_);
  ASSERT_TRUE(waiting.Send(Post("/v1/locks/db?holder=h&wait=5s")));
  auto done = Started(1);
  ASSERT_TRUE(done);
  EXPECT_TRUE(waiting.Read(1, 600ms).empty()) << "answered (504?) before its wait ended";
  done(Completion{0, 200, "", membership::Lock{"db", "h", "n1", 1, 42, 0}});
  auto r = waiting.Read(1, kDeadline);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].status, 200);
  EXPECT_EQ(nlohmann::json::parse(r[0].body)["token"], 42);

  RawConnection at_once(port_);
  ASSERT_TRUE(at_once.Send(Post("/v1/locks/db?holder=h")));
  ASSERT_TRUE(Started(2));
  auto late = at_once.Read(1, kDeadline);
  ASSERT_EQ(late.size(), 1u);
  EXPECT_EQ(late[0].status, 504) << "no wait: the server's own timeout";
}

TEST_F(DeferredTest, AnAnswerAfterTheClientLeftOrTheServerStoppedIsHarmless) {
  Start({});
  {
    RawConnection c(port_);
    ASSERT_TRUE(c.Send(Post("/v1/leave")));
    ASSERT_TRUE(Started(1));
  }
  Started(1)({200, "left"});  // the client is gone
  auto livez = testing::Get(port_, "/livez");
  ASSERT_TRUE(livez);
  EXPECT_EQ(livez->status, 200);
  RawConnection c(port_);
  ASSERT_TRUE(c.Send(Post("/v1/leave")));
  auto late = Started(2);
  ASSERT_TRUE(late);
  StopServer();
  EXPECT_TRUE(c.WaitClosed(kDeadline));
  late({200, "left"});  // the server is stopped
}

// HTTPS: a certificate from a throwaway CA; mutual TLS with a client CA.
class HttpsTest : public HttpServerTest {
 protected:
  HttpServerOptions Tls(bool mutual) {
    HttpServerOptions o;
    auto server = ca_.Issue("agent-a", true);
    o.tls.cert_file = server.cert_file;
    o.tls.key_file = server.key_file;
    if (mutual) o.tls.client_ca_file = ca_.cert_file();
    return o;
  }
  testing::TlsResult Https(const std::string& path, testing::TlsClientOptions client = {}) {
    if (client.ca_file.empty()) client.ca_file = ca_.cert_file();
    return testing::TlsExchange(port_, Req(path, "Connection: close\r\n"), client);
  }
  testing::TempDir dir_;
  testing::TestCa ca_{dir_.path(), "test"};
};

TEST_F(HttpsTest, HttpsIsServedAndPlainHttpIsRefusedWithAnAnswerThatSaysSo) {
  Start(Tls(false));
  auto tls = Https("/livez");
  ASSERT_TRUE(tls.response) << tls.error;
  EXPECT_EQ(tls.response->status, 200);
  EXPECT_EQ(tls.response->body, "ok\n");
  EXPECT_EQ(tls.peer_subject, "agent-a");
  auto plain = testing::Get(port_, "/livez");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 400);
  EXPECT_NE(plain->body.find("HTTPS"), std::string::npos) << plain->body;
  EXPECT_EQ(Metric("ringwatch_http_refused_total{reason=\"plain_http\"}"), 1);
  // Keep-alive and pipelining work over TLS as over TCP.
  auto two = testing::TlsExchange(port_, Req("/livez") + Req("/readyz", "Connection: close\r\n"),
                                  {ca_.cert_file(), "", "", 0});
  ASSERT_TRUE(two.response) << two.error;
  EXPECT_EQ(two.response->status, 200);
}

TEST_F(HttpsTest, MutualTlsServesOnlyClientsWithACertificateTheCaSigned) {
  Start(Tls(true));
  auto anonymous = Https("/livez");
  EXPECT_FALSE(anonymous.response) << "served a client without a certificate";
  testing::TempDir other_dir;
  testing::TestCa other(other_dir.path(), "other");
  auto stranger_cert = other.Issue("stranger", false);
  auto stranger = Https("/livez", {"", stranger_cert.cert_file, stranger_cert.key_file, 0});
  EXPECT_FALSE(stranger.response) << "served a client whose certificate another CA signed";
  auto operator_cert = ca_.Issue("operator", false);
  auto ok = Https("/v1/status", {"", operator_cert.cert_file, operator_cert.key_file, 0});
  ASSERT_TRUE(ok.response) << ok.error;
  EXPECT_EQ(ok.response->status, 200);
  EXPECT_EQ(Metric("ringwatch_http_refused_total{reason=\"tls_handshake\"}"), 2);
}

TEST_F(HttpsTest, ReloadServesTheNewCertificateAndABadOneKeepsTheOld) {
  HttpServerOptions o = Tls(false);
  Start(o);
  EXPECT_EQ(Https("/livez").peer_subject, "agent-a");
  // Rotate: the new certificate and key replace the files in place.
  auto next = ca_.Issue("agent-b", true);
  std::filesystem::copy_file(next.cert_file, o.tls.cert_file,
                             std::filesystem::copy_options::overwrite_existing);
  std::filesystem::copy_file(next.key_file, o.tls.key_file,
                             std::filesystem::copy_options::overwrite_existing);
  EXPECT_EQ(server_->ReloadTls(), "");
  auto rotated = Https("/livez");
  ASSERT_TRUE(rotated.response) << rotated.error;
  EXPECT_EQ(rotated.peer_subject, "agent-b");
  // A key that does not match: refused, and the server keeps serving agent-b.
  auto wrong = ca_.Issue("agent-c", true);
  std::filesystem::copy_file(wrong.key_file, o.tls.key_file,
                             std::filesystem::copy_options::overwrite_existing);
  const std::string error = server_->ReloadTls();
  EXPECT_NE(error.find(o.tls.key_file), std::string::npos) << error;
  auto kept = Https("/livez");
  ASSERT_TRUE(kept.response) << kept.error;
  EXPECT_EQ(kept.peer_subject, "agent-b");
  EXPECT_EQ(Metric("ringwatch_http_tls_reloads_total{result=\"failed\"}"), 1);
}

TEST_F(HttpsTest, BlockingQueriesParkAndAnswerOverTls) {
  Start(Tls(false));
  PublishView(3);
  testing::TlsResult result;
  std::thread client([&] {
    result =
        testing::TlsExchange(port_, Req("/v1/members?index=3&wait=5m", "Connection: close\r\n"),
                             {ca_.cert_file(), "", "", 0});
  });
  ASSERT_TRUE(WaitForMetric("ringwatch_http_waiters", 1));
  PublishView(4);
  server_->Wake();
  client.join();
  ASSERT_TRUE(result.response) << result.error;
  EXPECT_EQ(result.response->headers["x-ringwatch-index"], "4");
  EXPECT_TRUE(WaitForMetric("ringwatch_http_waiters", 0));
}

TEST_F(HttpsTest, StartWithoutALoadedCertificateFails) {
  HttpServerOptions o = Tls(false);
  RouterSources sources;
  sources.snapshot = [] { return std::make_shared<StatusSnapshot>(); };
  HttpRouter router(std::move(sources));
  HttpServer server(ioc_, router, o, http_metrics_);
  EXPECT_TRUE(server.Start({net::ip::make_address("127.0.0.1"), 0}));
  std::ofstream(o.tls.key_file) << "not a key";
  EXPECT_NE(server.ReloadTls(), "");
}

}  // namespace
}  // namespace ringwatch::agent
