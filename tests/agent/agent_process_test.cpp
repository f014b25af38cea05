// Multi-process tests of the real `ringwatch agent`: HTTP robustness under a
// bounded burst of hostile requests, clean shutdown on signals, the data_dir
// lock, JSON logs, and `promtool check metrics` on a live /metrics.

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <regex>
#include <sstream>

#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;
using testing::RawConnection;

constexpr auto kDeadline = 20s;

// Sum of ringwatch_http_requests_total samples whose labels contain `code`.
double CountCode(const std::string& metrics, const std::string& code) {
  double total = 0;
  std::istringstream in(metrics);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("ringwatch_http_requests_total{", 0) == 0 &&
        line.find("code=\"" + code + "\"") != std::string::npos) {
      total += std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return total;
}

// Value of an unlabelled sample, or -1 when absent.
double SampleValue(const std::string& metrics, const std::string& name) {
  const auto at = metrics.find("\n" + name + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + name.size() + 2));
}

class AgentProcessTest : public ::testing::Test {
 protected:
  void StartAgent(const std::string& extra_yaml = "") {
    agent_ = std::make_unique<AgentProcess>("node-1", extra_yaml);
    std::string error;
    ASSERT_TRUE(agent_->Start(&error)) << error;
    port_ = agent_->http_port();
  }

  // One request on a fresh connection; the status, or 0 when the server
  // closed without answering.
  int StatusOf(const std::string& request) {
    RawConnection c(port_);
    c.Send(request);
    auto r = c.Read(1, kDeadline);
    return r.empty() ? 0 : r[0].status;
  }

  std::unique_ptr<AgentProcess> agent_;
  uint16_t port_ = 0;
};

TEST_F(AgentProcessTest, SurvivesABurstOfMalformedOversizedSlowAndPipelinedRequests) {
  StartAgent("http:\n  read_timeout: 500ms\n  max_request_bytes: 4096\n  max_connections: 64\n");
  std::mt19937 rng(20261126);  // fixed seed: the same burst every run
  int sent = 0;

  // 1. Malformed request lines and headers, each with its exact answer.
  const std::vector<std::string> bad_lines = {
      "GARBAGE\r\n\r\n",
      "GET\r\n\r\n",
      "GET /livez\r\n\r\n",
      "GET /livez HTTP/2.0\r\n\r\n",
      "GET /livez HTTP/1.1 extra\r\n\r\n",
      "G(T /livez HTTP/1.1\r\n\r\n",
      "GET /li vez HTTP/1.1\r\n\r\n",
      "GET /livez HTTP/1.1\r\nHost x\r\n\r\n",
      "GET /livez HTTP/1.1\r\n: empty-name\r\n\r\n",
      "GET /livez HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
      "GET /livez HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
      "POST /livez HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /livez HTTP/1.1\nHost: x\r\n\r\n",
      std::string("GET /livez HTTP/1.1\r\nX: a\0b\r\n\r\n", 30),
  };
  for (int i = 0; i < 420; ++i) {
    const std::string& req = bad_lines[static_cast<std::size_t>(i) % bad_lines.size()];
    EXPECT_EQ(StatusOf(req), 400) << "case " << i % bad_lines.size();
    ++sent;
  }

  // 2. Random bytes: any 4xx answer (400, or 408 for what looks unfinished), or a close.
  for (int i = 0; i < 250; ++i) {
    std::string junk(16 + rng() % 200, '\0');
    for (auto& ch : junk)
      ch = static_cast<char>(rng() % 256);
    const int status = StatusOf(junk + "\r\n\r\n");
    EXPECT_TRUE(status == 0 || (status >= 400 && status < 500)) << status;
    ++sent;
  }

  // 3. Oversized bodies (413) and headers (431).
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(StatusOf("POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" +
                       std::string(8192, 'b')),
              413);
    EXPECT_EQ(StatusOf("GET /livez HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'h') +
                       "\r\n\r\n"),
              431);
    sent += 2;
  }

  // 4. Pipelined batches: five requests in one write, answered in order.
  const std::string get = "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string missing = "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string post = "POST /readyz HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
  for (int i = 0; i < 50; ++i) {
    RawConnection c(port_);
    ASSERT_TRUE(c.Send(get + missing + post + get + missing));
    auto r = c.Read(5, kDeadline);
    ASSERT_EQ(r.size(), 5u);
    EXPECT_EQ(r[0].status, 200);
    EXPECT_EQ(r[1].status, 404);
    EXPECT_EQ(r[2].status, 405);
    EXPECT_EQ(r[3].status, 200);
    EXPECT_EQ(r[4].status, 404);
    sent += 5;
  }

  // 5. Slow clients: a request that never finishes gets 408 after
  //    http.read_timeout; 20 at once.
  {
    std::vector<RawConnection> slow;
    for (int i = 0; i < 20; ++i) {
      slow.emplace_back(port_);
      ASSERT_TRUE(slow.back().Send("GET /livez HTTP/1.1\r\nHost: x\r\nX-Slow: "));
      ++sent;
    }
    for (auto& c : slow) {
      auto r = c.Read(1, kDeadline);
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0].status, 408);
      EXPECT_TRUE(c.WaitClosed(kDeadline));
    }
  }

  // 6. More connections than http.max_connections: the excess get 503.
  {
    std::vector<RawConnection> held;
    for (int i = 0; i < 64; ++i) {
      held.emplace_back(port_);
      ASSERT_TRUE(held.back().Send(get));
      ASSERT_EQ(held.back().Read(1, kDeadline).size(), 1u);
    }
    for (int i = 0; i < 16; ++i) {
      RawConnection extra(port_);
      auto r = extra.Read(1, kDeadline);
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0].status, 503);
      ++sent;
    }
  }

  EXPECT_GE(sent, 1000);
  ASSERT_TRUE(agent_->process().Running()) << agent_->process().Stderr();

  // Still serving, and every rejection was counted. Slots of the held
  // connections free up as the agent sees them close: poll with a deadline.
  std::optional<testing::RawResponse> livez;
  testing::PollUntil(
      [&] {
        livez = testing::Get(port_, "/livez");
        return livez && livez->status == 200;
      },
      kDeadline);
  ASSERT_TRUE(livez);
  EXPECT_EQ(livez->status, 200);
  auto metrics = testing::Get(port_, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_GE(CountCode(metrics->body, "400"), 420);
  EXPECT_EQ(CountCode(metrics->body, "413"), 60);
  EXPECT_EQ(CountCode(metrics->body, "431"), 60);
  EXPECT_GE(CountCode(metrics->body, "408"), 20);  // random bytes may add a few
  // At least the 16 excess connections; the /livez poll above may add more.
  EXPECT_GE(SampleValue(metrics->body, "ringwatch_http_connections_rejected_total"), 16);

  ASSERT_TRUE(agent_->process().Signal(SIGTERM));
  EXPECT_EQ(agent_->process().Wait(kDeadline), 0);
}

TEST_F(AgentProcessTest, SigtermAndSigintStopCleanly) {
  for (int signo : {SIGTERM, SIGINT}) {
    StartAgent();
    RawConnection idle(port_);  // an open keep-alive connection must not delay shutdown
    ASSERT_TRUE(idle.Send("GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"));
    ASSERT_EQ(idle.Read(1, kDeadline).size(), 1u);
    const auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(agent_->process().Signal(signo));
    EXPECT_EQ(agent_->process().Wait(kDeadline), 0) << agent_->process().Stderr();
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "shutdown after signal " << signo << ": " << seconds << " s\n";
    EXPECT_TRUE(idle.WaitClosed(kDeadline));
    const std::string log = agent_->process().Stderr();
    EXPECT_NE(
        log.find(signo == SIGTERM ? "shutting down signal=SIGTERM" : "shutting down signal=SIGINT"),
        std::string::npos)
        << log;
    EXPECT_NE(log.find("[agent] stopped"), std::string::npos) << log;
  }
}

// /readyz: 503 with the reason while this agent is not alive in the
// committed view (a seeded agent whose seeds never answer stays there);
// 200 once it is (a lone agent bootstraps a one-voter cluster of itself).
TEST_F(AgentProcessTest, ReadyzSaysWhyUntilThisMemberIsAliveInTheCommittedView) {
  StartAgent("cluster:\n  seeds: [\"127.0.0.1:9\"]\n");  // nobody there
  nlohmann::json j;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        auto r = testing::Get(port_, "/readyz");
        if (!r || r->status != 503) return false;
        j = nlohmann::json::parse(r->body);
        return j["reason"] == "not a member of the committed view yet (joining)";
      },
      kDeadline))
      << j.dump();
  EXPECT_EQ(j["ready"], false);

  StartAgent();
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        auto r = testing::Get(port_, "/readyz");
        return r && r->status == 200;
      },
      kDeadline));
  auto members = nlohmann::json::parse(testing::Get(port_, "/v1/members")->body);
  ASSERT_EQ(members["members"].size(), 1u);
  EXPECT_EQ(members["members"][0]["id"], "node-1");
  EXPECT_EQ(members["members"][0]["state"], "alive");
}

TEST_F(AgentProcessTest, SecondAgentOnTheSameDataDirExitsWith1) {
  StartAgent();
  const std::string data_dir = agent_->dir().File("data");
  testing::TempDir dir;
  const auto config =
      dir.Write("second.yaml",
                "node:\n  id: node-2\nlisten:\n  peer: 127.0.0.1:0\n  http: 127.0.0.1:0\n"
                "data_dir: " +
                    data_dir + "\n");
  auto r = testing::Run({RINGWATCH_BINARY, "agent", "-c", config}, dir.File("second"), kDeadline);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("is in use by another ringwatch agent"), std::string::npos) << r.err;
  EXPECT_TRUE(agent_->process().Running());
}

TEST_F(AgentProcessTest, BusyHttpPortExitsWith1) {
  StartAgent();
  testing::TempDir dir;
  const auto config = dir.Write(
      "second.yaml", "node:\n  id: node-2\nlisten:\n  peer: 127.0.0.1:0\n  http: 127.0.0.1:" +
                         std::to_string(port_) + "\ndata_dir: data\n");
  auto r = testing::Run({RINGWATCH_BINARY, "agent", "-c", config}, dir.File("second"), kDeadline);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot listen for HTTP"), std::string::npos) << r.err;
}

TEST_F(AgentProcessTest, JsonLogsAreOneObjectPerLine) {
  StartAgent("log:\n  format: json\n  level: debug\n");
  testing::Get(port_, "/livez");
  ASSERT_TRUE(agent_->process().Signal(SIGTERM));
  ASSERT_EQ(agent_->process().Wait(kDeadline), 0);
  std::istringstream in(agent_->process().Stderr());
  std::string line;
  int lines = 0;
  bool saw_listening = false;
  while (std::getline(in, line)) {
    ++lines;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << line;
    EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(),
                                 std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
        << line;
    EXPECT_TRUE(j["level"].is_string());
    EXPECT_TRUE(j["component"].is_string());
    EXPECT_TRUE(j["message"].is_string());
    EXPECT_TRUE(j["fields"].is_object());
    if (j["message"] == "listening" && j["component"] == "http") {
      saw_listening = true;
      EXPECT_EQ(j["fields"]["address"], "127.0.0.1:" + std::to_string(port_));
    }
  }
  EXPECT_GE(lines, 4);
  EXPECT_TRUE(saw_listening);
}

TEST_F(AgentProcessTest, MetricsPassPromtoolCheck) {
  const std::string promtool = testing::FindOnPath("promtool");
  if (promtool.empty()) {
    if (testing::InCi()) FAIL() << "promtool is required under CI (apt-get install prometheus)";
    GTEST_SKIP()
        << "promtool not found (apt-get install prometheus); skipping the lint of /metrics";
  }
  StartAgent();
  // Touch several routes and codes so that labelled series exist.
  testing::Get(port_, "/livez");
  testing::Get(port_, "/readyz");
  testing::Get(port_, "/nope");
  auto r = testing::Get(port_, "/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  EXPECT_EQ(r->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
  for (const char* family :
       {"ringwatch_build_info{", "process_cpu_seconds_total ", "process_resident_memory_bytes ",
        "process_open_fds ", "process_max_fds ", "process_start_time_seconds ", "process_threads ",
        "ringwatch_http_requests_total{"}) {
    EXPECT_NE(r->body.find(family), std::string::npos) << family;
  }
  const std::string file = agent_->dir().Write("metrics.txt", r->body);
  auto check = testing::Run({promtool, "check", "metrics"}, agent_->dir().File("promtool"),
                            kDeadline, {}, file);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_EQ(check.out + check.err, "") << "promtool reported problems";
}

TEST_F(AgentProcessTest, CollectorFlagsOverrideTheConfigList) {
  agent_ = std::make_unique<AgentProcess>("node-1", "collectors: [cpu, memory]\n");
  agent_->set_extra_args({"--no-collector.cpu", "--collector.load"});
  std::string error;
  ASSERT_TRUE(agent_->Start(&error)) << error;
  auto r = testing::Get(agent_->http_port(), "/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body.find("ringwatch_host_cpu_seconds_total"), std::string::npos);
  EXPECT_NE(r->body.find("ringwatch_host_memory_available_bytes "), std::string::npos);
  EXPECT_NE(r->body.find("ringwatch_host_load1 "), std::string::npos);
  EXPECT_NE(r->body.find("ringwatch_scrape_collector_success{collector=\"load\"} 1"),
            std::string::npos);
  EXPECT_EQ(r->body.find("collector=\"network\""), std::string::npos);
  EXPECT_EQ(r->body.find("process_cpu_seconds_total"), std::string::npos);  // process is off too
}

// Type=notify as systemd sees it: READY once serving, WATCHDOG=1 pings from
// the core loop while WatchdogSec is set, STOPPING on SIGTERM. A unix
// datagram socket stands in for systemd's NOTIFY_SOCKET.
TEST_F(AgentProcessTest, TalksToSystemdThroughNotifySocket) {
  testing::TempDir dir;
  const std::string path = dir.File("notify");
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const auto receive = [&](std::chrono::milliseconds deadline) -> std::string {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(deadline.count())) <= 0) return "";
    char buf[512];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  };
  // A one-voter cluster of its own: it becomes a member at once.
  agent_ = std::make_unique<AgentProcess>("node-1", "cluster:\n  bootstrap_voters: [node-1]\n");
  agent_->set_extra_env({"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000"});
  std::string error;
  ASSERT_TRUE(agent_->Start(&error)) << error;
  std::vector<std::string> messages;
  // STATUS while joining, READY once a member, and pings throughout.
  bool ready = false;
  while (!ready || messages.size() < 5) {
    std::string m = receive(kDeadline);
    ASSERT_FALSE(m.empty()) << "after " << messages.size() << " messages";
    ready = ready || m.rfind("READY=1", 0) == 0;
    messages.push_back(std::move(m));
  }
  const std::string serving = "serving HTTP on 127.0.0.1:" + std::to_string(agent_->http_port());
  EXPECT_EQ(messages[0], "STATUS=joining the cluster; " + serving);
  int readies = 0;
  for (std::size_t i = 1; i < messages.size(); ++i) {
    if (messages[i].rfind("READY=1", 0) == 0) {
      ++readies;
      EXPECT_EQ(messages[i], "READY=1\nSTATUS=member of cluster default; " + serving);
      auto members = testing::GetJson(*agent_, "/v1/members");
      ASSERT_FALSE(members.is_null());
      EXPECT_EQ(members["members"][0]["state"], "alive") << "ready only once a member";
    } else {
      EXPECT_EQ(messages[i], "WATCHDOG=1");
    }
  }
  EXPECT_EQ(readies, 1);
  ASSERT_TRUE(agent_->process().Signal(SIGTERM));
  std::string last;
  for (int i = 0; i < 100; ++i) {
    std::string m = receive(kDeadline);
    if (m.empty() || m == "STOPPING=1") {
      last = m;
      break;
    }
  }
  EXPECT_EQ(last, "STOPPING=1");
  EXPECT_EQ(agent_->process().Wait(kDeadline), 0);
  ::close(fd);
}

}  // namespace
}  // namespace ringwatch::agent
