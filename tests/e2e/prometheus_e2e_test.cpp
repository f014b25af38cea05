// End to end with a real Prometheus (Debian's `prometheus` package): it
// scrapes a 3-agent cluster on loopback over HTTPS with a client certificate
// (the agents require one: mutual TLS), as deploy/prometheus/prometheus.yml
// shows, and every dashboard panel query and
// every alert expression is evaluated through Prometheus' HTTP API. Each must
// be valid and return data; alert expressions that only have data during a
// failure are exercised by injecting that failure. A deliberately broken and
// an empty query prove that the checks report what they should.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <thread>

#include "agent/core/heartbeat_codec.h"
#include "agent/peer/peer_frame.h"
#include "core/clock.h"
#include "tests/support/agent_process.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"
#include "tests/support/tls.h"

namespace ringwatch::e2e {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;

constexpr auto kDeadline = 60s;

std::string UrlEncode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// A query's verdict: valid (Prometheus accepted it) and how many series it returned.
struct Verdict {
  bool valid = false;
  std::size_t series = 0;
  std::string error;
};

class PrometheusE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    prometheus_ = testing::FindOnPath("prometheus");
    if (prometheus_.empty()) {
      if (testing::InCi()) FAIL() << "prometheus is required under CI (apt-get install prometheus)";
      GTEST_SKIP() << "prometheus not found (apt-get install prometheus)";
    }
    std::string error;
    // A short rejoin probation: the alert test kills and restarts node-3
    // seven times, and each flap doubles the probation.
    ASSERT_TRUE(testing::StartSeededCluster(
        3, &agents_, &error,
        "  bootstrap_voters: [node-1, node-2, node-3]\n"
        "detector:\n  rejoin_probation: 100ms\n" +
            HttpsYaml(),
        [&](std::size_t, testing::AgentProcess& a) { a.set_https(client_); }))
        << error;
    port_ = testing::FreeLoopbackPort();
    std::string targets;
    for (const auto& a : agents_)
      targets += "'127.0.0.1:" + std::to_string(a->http_port()) + "', ";
    const std::string config =
        dir_.Write("prometheus.yml",
                   "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                   "rule_files: ['" RINGWATCH_SOURCE_DIR
                   "/deploy/prometheus/ringwatch-alerts.yml']\n"
                   "scrape_configs:\n  - job_name: ringwatch\n    scheme: https\n"
                   "    tls_config:\n      ca_file: " +
                       ca_.cert_file() + "\n      cert_file: " + scraper_.cert_file +
                       "\n      key_file: " + scraper_.key_file +
                       "\n"
                       "    static_configs:\n"
                       "      - targets: [" +
                       targets +
                       "]\n"
                       // Targets a test adds while Prometheus runs (AddTarget).
                       "    file_sd_configs:\n      - files: ['" +
                       dir_.File("extra.json") + "']\n        refresh_interval: 1s\n");
    dir_.Write("extra.json", "[]");
    server_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{
            prometheus_, "--config.file=" + config, "--storage.tsdb.path=" + dir_.File("tsdb"),
            "--web.listen-address=127.0.0.1:" + std::to_string(port_), "--log.level=warn"},
        dir_.File("prometheus"));
    // Ready once all three agents were scraped at least a few times.
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          return Query("count(count_over_time(up{job=\"ringwatch\"}[1m]) >= 5)").series == 1 &&
                 Query("count(up{job=\"ringwatch\"} == 1) == 3").series == 1;
        },
        kDeadline, 250ms))
        << server_->Stderr();
  }

  // Adds a scrape target of job ringwatch (file service discovery).
  void AddTarget(uint16_t http_port) {
    extra_ +=
        std::string(extra_.empty() ? "" : ", ") + "\"127.0.0.1:" + std::to_string(http_port) + "\"";
    const std::string tmp = dir_.Write("extra.json.tmp", "[{\"targets\": [" + extra_ + "]}]");
    std::filesystem::rename(tmp, dir_.File("extra.json"));
  }

  // Polls until `expr` has no data (true), or the deadline.
  bool QueryUntilEmpty(const std::string& expr) {
    return testing::PollUntil(
        [&] {
          const Verdict v = Query(expr);
          return v.valid && v.series == 0;
        },
        kDeadline, 250ms);
  }

  // The agents' agreed Raft leader (index into agents_), or -1.
  int AgreedLeader(const std::vector<int>& among) {
    std::string leader;
    for (int i : among) {
      auto r = agents_[i]->Get("/v1/status");
      if (!r) return -1;
      const auto j = nlohmann::json::parse(r->body, nullptr, false);
      if (j.is_discarded() || !j["raft"]["leader"].is_string()) return -1;
      const std::string l = j["raft"]["leader"];
      if (!leader.empty() && l != leader) return -1;
      leader = l;
    }
    return std::stoi(leader.substr(5)) - 1;  // "node-N"
  }

  Verdict Query(const std::string& expr) {
    Verdict v;
    std::optional<testing::RawResponse> r;
    try {
      r = testing::Get(port_, "/api/v1/query?query=" + UrlEncode(expr));
    } catch (const std::exception& e) {
      v.error = e.what();
      return v;
    }
    if (!r) {
      v.error = "no answer";
      return v;
    }
    const auto j = nlohmann::json::parse(r->body, nullptr, false);
    if (j.is_discarded() || j["status"] != "success") {
      v.error = r->body;
      return v;
    }
    v.valid = true;
    v.series = j["data"]["result"].size();
    return v;
  }

  // Polls until the query returns data; the final verdict.
  Verdict QueryUntilData(const std::string& expr, std::chrono::milliseconds deadline = kDeadline) {
    Verdict v;
    testing::PollUntil(
        [&] {
          v = Query(expr);
          return !v.valid || v.series > 0;
        },
        deadline, 250ms);
    return v;
  }

  // Dashboard variables as Grafana would fill them for "all instances".
  static std::string Expand(std::string expr) {
    expr = std::regex_replace(expr, std::regex("\\$__rate_interval"), "5s");
    expr = std::regex_replace(expr, std::regex("\\$job"), "ringwatch");
    expr = std::regex_replace(expr, std::regex("\\$instance"), ".*");
    return expr;
  }

  // The http section of agents that serve HTTPS to clients with a
  // certificate from the test CA.
  std::string HttpsYaml() const {
    return "http:\n  tls:\n    cert_file: " + server_cert_.cert_file +
           "\n    key_file: " + server_cert_.key_file + "\n    client_ca_file: " + ca_.cert_file() +
           "\n";
  }

  std::string prometheus_;
  testing::TempDir dir_;
  testing::TestCa ca_{dir_.path(), "e2e"};
  testing::PemPair server_cert_ = ca_.Issue("agent", true);
  testing::PemPair scraper_ = ca_.Issue("prometheus", false);
  testing::PemPair operator_ = ca_.Issue("operator", false);
  testing::TlsClientOptions client_{ca_.cert_file(), operator_.cert_file, operator_.key_file, 0};
  std::vector<std::unique_ptr<AgentProcess>> agents_;
  std::unique_ptr<testing::ChildProcess> server_;
  uint16_t port_ = 0;
  std::string extra_;
};

TEST_F(PrometheusE2e, TheChecksReportBrokenAndEmptyQueries) {
  const Verdict broken = Query("rate(ringwatch_host_cpu_seconds_total{job=\"ringwatch\"[5s])");
  EXPECT_FALSE(broken.valid);
  EXPECT_NE(broken.error.find("parse error"), std::string::npos) << broken.error;
  const Verdict empty = Query("ringwatch_no_such_metric{job=\"ringwatch\"}");
  EXPECT_TRUE(empty.valid);
  EXPECT_EQ(empty.series, 0u);
}

TEST_F(PrometheusE2e, EveryDashboardQueryIsValidAndReturnsData) {
  int queries = 0;
  for (const auto& file : std::filesystem::directory_iterator(RINGWATCH_SOURCE_DIR "/dashboards")) {
    if (file.path().extension() != ".json") continue;
    std::ifstream in(file.path());
    const auto dashboard = nlohmann::json::parse(in);
    for (const auto& panel : dashboard["panels"]) {
      for (const auto& target : panel["targets"]) {
        const std::string expr = Expand(target["expr"]);
        const Verdict v = QueryUntilData(expr);
        EXPECT_TRUE(v.valid) << file.path().filename() << " \"" << panel["title"]
                             << "\": " << v.error;
        EXPECT_GT(v.series, 0u) << file.path().filename() << " \"" << panel["title"]
                                << "\" has no data: " << expr;
        ++queries;
      }
    }
  }
  EXPECT_GE(queries, 9);
}

TEST_F(PrometheusE2e, EveryAlertExpressionIsValidAndFiresOnItsFailure) {
  const YAML::Node rules =
      YAML::LoadFile(RINGWATCH_SOURCE_DIR "/deploy/prometheus/ringwatch-alerts.yml");
  std::map<std::string, std::string> exprs;
  for (const auto& group : rules["groups"]) {
    for (const auto& rule : group["rules"])
      exprs[rule["alert"].as<std::string>()] = rule["expr"].as<std::string>();
  }
  ASSERT_EQ(exprs.size(), 9u);
  for (const auto& [alert, expr] : exprs)
    EXPECT_TRUE(Query(expr).valid) << alert << ": " << Query(expr).error;

  // Healthy cluster: no alert expression has data (views may differ for a
  // moment after the last join, hence the poll).
  for (const auto& [alert, expr] : exprs)
    EXPECT_TRUE(QueryUntilEmpty(expr)) << alert << " fires on a healthy cluster";

  // Foreign traffic: an agent of another cluster sends to node-1. Scraped in
  // the same job, it also holds another view than the cluster's (it never
  // joins): views diverge.
  std::vector<uint16_t> peer_ports;
  for (const auto& a : agents_)
    peer_ports.push_back(a->peer_port());
  AgentProcess foreign("intruder", "cluster:\n  name: other\n  seeds: " +
                                       testing::SeedList(peer_ports) + "\n" + HttpsYaml());
  foreign.set_https(client_);
  std::string error;
  ASSERT_TRUE(foreign.Start(&error)) << error;
  EXPECT_GT(QueryUntilData(exprs["RingwatchForeignPeerTraffic"]).series, 0u);

  // Impersonation: heartbeats under node-2's id signed by another key, sent
  // to node-1 until the alert's expression has data.
  {
    const agent::FrameSender impostor{"node-2", 1, core::SigningKey::Generate()};
    agent::Heartbeat h;
    h.sender = "node-2";
    h.incarnation = 1;
    std::atomic<bool> done{false};
    std::thread sender([&] {
      const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_in to{};
      to.sin_family = AF_INET;
      to.sin_port = htons(agents_[0]->peer_port());
      to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      for (uint64_t seq = 1; !done && seq < 600; ++seq) {  // bounded: at most 2 minutes
        h.sequence = seq;
        const std::string frame =
            agent::EncodeFrame(agent::FrameType::kHeartbeat, "default", impostor, seq,
                               core::WallClockMs(), agent::EncodeHeartbeat(h), "");
        ::sendto(fd, frame.data(), frame.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                 sizeof to);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));  // a steady trickle
      }
      ::close(fd);
    });
    EXPECT_GT(QueryUntilData(exprs["RingwatchPeerImpersonation"]).series, 0u);
    done = true;
    sender.join();
  }
  AddTarget(foreign.http_port());
  EXPECT_GT(QueryUntilData(exprs["RingwatchViewsDiverging"]).series, 0u);

  // Leader churn: the leader killed and restarted six times. Each round
  // counts one change on every agent, but a leader killed soon after its
  // election may take the count of its election with it (not scraped yet):
  // with six rounds over three voters one of them is killed at most twice
  // and counts at least four changes, more than the alert's three.
  for (int round = 0; round < 6; ++round) {
    int leader = -1;
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          return (leader = AgreedLeader({0, 1, 2})) >= 0;
        },
        kDeadline, 50ms));
    ASSERT_TRUE(agents_[leader]->process().Signal(SIGKILL));
    agents_[leader]->process().Wait(kDeadline);
    std::vector<int> others;
    for (int i = 0; i < 3; ++i)
      if (i != leader) others.push_back(i);
    ASSERT_TRUE(testing::PollUntil([&] { return AgreedLeader(others) >= 0; }, kDeadline, 50ms))
        << "round " << round << ": no new leader";
    ASSERT_TRUE(agents_[leader]->Start(&error)) << error;
  }
  EXPECT_GT(QueryUntilData(exprs["RingwatchFrequentLeaderChanges"]).series, 0u);

  // Suspicions: node-3 killed and restarted until more than 5 were counted
  // by node-1. Each kill is suspected, then node-3 is declared dead (node-1
  // stops watching it, and its suspicion series goes with it — Prometheus'
  // increase() sees a counter reset), and it rejoins after a probation
  // (100 ms here, doubling with each flap).
  auto node3_on_node1 = [&]() -> nlohmann::json {
    auto r = agents_[0]->Get("/v1/members");
    if (!r) return nullptr;
    const auto body = nlohmann::json::parse(r->body, nullptr, false);
    if (body.is_discarded()) return nullptr;
    for (const auto& m : body["members"])
      if (m["id"] == "node-3") return m;
    return nullptr;
  };
  for (int i = 0; i < 7; ++i) {
    // node-1 watches and hears node-3 (again) before the kill.
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          const auto m = node3_on_node1();
          return !m.is_null() && m["state"] == "alive" && m["local"].is_object() &&
                 m["local"]["heard"] == true && m["local"]["suspected"] == false;
        },
        kDeadline, 20ms))
        << "round " << i;
    // Prometheus has scraped node-1's counter for this life of node-3, so
    // that the next suspicion shows as an increase.
    auto r = agents_[0]->Get("/metrics");
    ASSERT_TRUE(r);
    const std::string series = "\nringwatch_peer_suspicions_total{peer=\"node-3\"} ";
    const auto at = r->body.find(series);
    ASSERT_NE(at, std::string::npos);
    const std::string count =
        r->body.substr(at + series.size(), r->body.find('\n', at + 1) - at - series.size());
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          return Query("ringwatch_peer_suspicions_total{instance=\"127.0.0.1:" +
                       std::to_string(agents_[0]->http_port()) + "\", peer=\"node-3\"} == " + count)
                     .series == 1;
        },
        kDeadline, 100ms))
        << "round " << i;
    ASSERT_TRUE(agents_[2]->process().Signal(SIGKILL));
    agents_[2]->process().Wait(kDeadline);
    // Suspected by node-1 (and by then perhaps already declared dead).
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          const auto m = node3_on_node1();
          return !m.is_null() && (m["state"] == "dead" ||
                                  (m["local"].is_object() && m["local"]["suspected"] == true));
        },
        kDeadline, 20ms))
        << "round " << i;
    ASSERT_TRUE(agents_[2]->Start(&error)) << error;
  }
  // The rule holds "for: 10m"; its expression has data as soon as the rate is high.
  EXPECT_GT(QueryUntilData(exprs["RingwatchHighSuspicionRate"]).series, 0u);

  // Agent down: node-3 killed for good; the others declare it dead.
  ASSERT_TRUE(agents_[2]->process().Signal(SIGKILL));
  EXPECT_GT(QueryUntilData(exprs["RingwatchAgentDown"]).series, 0u);
  EXPECT_GT(QueryUntilData(exprs["RingwatchMemberDown"]).series, 0u);

  // No leader: node-2 killed too; node-1 alone of three voters (and the
  // intruder) knows no leader.
  ASSERT_TRUE(agents_[1]->process().Signal(SIGKILL));
  EXPECT_GT(QueryUntilData(exprs["RingwatchNoLeader"]).series, 0u);

  // A collector failure cannot be injected into a healthy host without
  // breaking /proc; its expression was checked for validity above, and the
  // series it watches must exist for every collector of every agent.
  EXPECT_EQ(Query("ringwatch_scrape_collector_success{job=\"ringwatch\"}").series >= 12, true);
}

}  // namespace
}  // namespace ringwatch::e2e

namespace ringwatch::e2e {
namespace {

// What Grafana needs of every shipped dashboard: a stable uid, the
// datasource variable on every panel and target (file provisioning ignores
// __inputs), and a description and a unit on every panel.
TEST(Dashboards, EveryPanelHasADescriptionAUnitAndTheDatasourceVariable) {
  std::set<std::string> uids;
  int dashboards = 0;
  for (const auto& file : std::filesystem::directory_iterator(RINGWATCH_SOURCE_DIR "/dashboards")) {
    if (file.path().extension() != ".json") continue;
    ++dashboards;
    std::ifstream in(file.path());
    const auto d = nlohmann::json::parse(in);
    const std::string name = file.path().filename();
    EXPECT_TRUE(uids.insert(d.value("uid", "")).second) << name << ": missing or duplicate uid";
    EXPECT_FALSE(d.contains("__inputs")) << name;
    std::set<std::string> variables;
    for (const auto& v : d["templating"]["list"])
      variables.insert(v["name"]);
    EXPECT_EQ(variables, (std::set<std::string>{"datasource", "job", "instance"})) << name;
    std::set<int> ids;
    for (const auto& p : d["panels"]) {
      const std::string title = p.value("title", "");
      EXPECT_TRUE(ids.insert(p.value("id", 0)).second) << name << " " << title << ": panel id";
      EXPECT_FALSE(p.value("description", "").empty()) << name << " " << title;
      EXPECT_FALSE(p["fieldConfig"]["defaults"].value("unit", "").empty()) << name << " " << title;
      EXPECT_EQ(p["datasource"]["uid"], "${datasource}") << name << " " << title;
      ASSERT_FALSE(p["targets"].empty()) << name << " " << title;
      for (const auto& t : p["targets"]) {
        EXPECT_EQ(t["datasource"]["uid"], "${datasource}") << name << " " << title;
        const std::string expr = t["expr"];
        EXPECT_NE(expr.find("job=\"$job\""), std::string::npos) << name << " " << title;
      }
    }
  }
  EXPECT_EQ(dashboards, 2) << "ringwatch / Host and ringwatch / Cluster";
}

}  // namespace
}  // namespace ringwatch::e2e
