// Multi-process tests of the heartbeat exchange between real agents on
// loopback: a killed agent is suspected by phi (long before detector.timeout)
// and cleared on restart; peers with another secret or cluster are refused
// and counted; garbage on the peer port is counted and harmless.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <random>

#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;

constexpr auto kDeadline = 30s;
const std::string kVoters = "  bootstrap_voters: [node-1, node-2, node-3]\n";

// This agent's observation of `peer` from /v1/members, or null.
nlohmann::json Observation(AgentProcess& agent, const std::string& peer) {
  try {
    auto r = testing::Get(agent.http_port(), "/v1/members");
    if (!r || r->status != 200) return nullptr;
    const auto body = nlohmann::json::parse(r->body);  // must outlive the loop (C++20 range-for)
    for (const auto& m : body["members"]) {
      if (m["id"] == peer) return m["local"];
    }
  } catch (const std::exception&) {
  }
  return nullptr;
}

// Polls until `pred(observation)` holds or the deadline passes.
template <typename Pred>
bool PollObservation(AgentProcess& agent, const std::string& peer, Pred pred,
                     std::chrono::milliseconds deadline) {
  return testing::PollUntil(
      [&] {
        const auto o = Observation(agent, peer);
        return !o.is_null() && pred(o);
      },
      deadline, std::chrono::milliseconds(10));
}

TEST(HeartbeatProcess, KilledAgentIsSuspectedByTheFastPathAndClearedOnRestart) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::string error;
  ASSERT_TRUE(testing::StartSeededCluster(3, &agents, &error, kVoters)) << error;
  const auto healthy = [](const nlohmann::json& o) {
    return o["heard"] == true && o["suspected"] == false;
  };
  for (int i = 0; i < 3; ++i) {
    for (int j = 0; j < 3; ++j) {
      if (i == j) continue;
      ASSERT_TRUE(PollObservation(*agents[i], "node-" + std::to_string(j + 1), healthy, kDeadline))
          << "node-" << i + 1 << " does not hear node-" << j + 1 << "\n"
          << testing::Get(agents[i]->http_port(), "/v1/members")->body
          << agents[i]->process().Stderr();
    }
  }

  // Heartbeats carry the sender's health summary.
  ASSERT_TRUE(PollObservation(
      *agents[0], "node-2", [](const nlohmann::json& o) { return !o["health"].is_null(); },
      kDeadline));
  const auto health = Observation(*agents[0], "node-2")["health"];
  EXPECT_GT(health["memory_available_ratio"].get<double>(), 0.0);
  EXPECT_LE(health["memory_available_ratio"].get<double>(), 1.0);
  EXPECT_GE(health["load1_per_core"].get<double>(), 0.0);

  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(agents[2]->process().Signal(SIGKILL));
  ASSERT_EQ(agents[2]->process().Wait(kDeadline), 128 + SIGKILL);
  // The fast path, not phi nor the 3 s timeout: both observers' connections
  // closed and its port refused, before phi rose (phi needs ~0.3 s of
  // silence). The suspicions last only until the verdict ends the watch, so
  // the evidence is read from the diagnosis.
  ASSERT_TRUE(testing::AllSee({agents[0].get(), agents[1].get()}, {"node-3"}, "dead"));
  std::cout << "node-3 dead in both views "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s after SIGKILL\n";
  const auto d = testing::GetJson(*agents[0], "/v1/diagnosis/node-3");
  ASSERT_FALSE(d.is_null());
  EXPECT_EQ(d["path"], "fast") << d.dump();
  EXPECT_EQ(d["class"], "process_down") << d.dump();
  int fast = 0;
  for (const auto& o : d["observers"]) {
    if (o["suspected"] != true) continue;
    ++fast;
    EXPECT_EQ(o["path"], "fast") << d.dump();
    EXPECT_EQ(o["probe"], "refused") << d.dump();
    EXPECT_LT(o["phi"].get<double>(), 8.0) << d.dump();
    EXPECT_LT(o["silence_seconds"].get<double>(), 3.0) << d.dump();
  }
  EXPECT_EQ(fast, 2) << "both observers suspected it: " << d.dump();

  ASSERT_TRUE(agents[2]->Start(&error)) << error;
  for (int i = 0; i < 2; ++i) {
    ASSERT_TRUE(PollObservation(*agents[i], "node-3", healthy, kDeadline)) << "node-" << i + 1;
    // The gauge follows at the next detector tick.
    EXPECT_TRUE(testing::PollUntil(
        [&] {
          return testing::MetricSample(*agents[i], "ringwatch_peer_phi{peer=\"node-3\"}") < 8.0;
        },
        kDeadline, 10ms));
    EXPECT_GE(testing::MetricSample(*agents[i], "ringwatch_peer_suspicions_total{peer=\"node-3\"}"),
              1);
  }
}

// The observer-stall guard, for real: an agent frozen with SIGSTOP for 2 s is
// suspected by the others (it was silent), but on waking it suspects nobody —
// its own pause is not its peers' silence.
TEST(HeartbeatProcess, AnAgentPausedBySigstopSuspectsNobodyOnWaking) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::string error;
  ASSERT_TRUE(testing::StartSeededCluster(3, &agents, &error, kVoters)) << error;
  const auto healthy = [](const nlohmann::json& o) {
    return o["heard"] == true && o["suspected"] == false;
  };
  for (const char* peer : {"node-2", "node-3"})
    ASSERT_TRUE(PollObservation(*agents[0], peer, healthy, kDeadline));
  ASSERT_TRUE(PollObservation(*agents[1], "node-1", healthy, kDeadline));

  ASSERT_TRUE(agents[0]->process().Signal(SIGSTOP));
  // node-2 sees node-1 fall silent (a true observation: it is not running).
  ASSERT_TRUE(PollObservation(
      *agents[1], "node-1", [](const nlohmann::json& o) { return o["suspected"] == true; },
      kDeadline));
  const auto frozen_until = std::chrono::steady_clock::now() + 2s;
  testing::PollUntil([&] { return std::chrono::steady_clock::now() >= frozen_until; }, 10s, 100ms);
  ASSERT_TRUE(agents[0]->process().Signal(SIGCONT));

  // node-1 hears its peers again and never counted a suspicion.
  for (const char* peer : {"node-2", "node-3"})
    ASSERT_TRUE(PollObservation(*agents[0], peer, healthy, kDeadline));
  EXPECT_EQ(testing::MetricSample(*agents[0], "ringwatch_peer_suspicions_total{peer=\"node-2\"}"),
            0);
  EXPECT_EQ(testing::MetricSample(*agents[0], "ringwatch_peer_suspicions_total{peer=\"node-3\"}"),
            0);
  EXPECT_NE(agents[0]->process().Stderr().find("observer stalled"), std::string::npos);
  EXPECT_GE(testing::MetricSample(*agents[1], "ringwatch_peer_suspicions_total{peer=\"node-1\"}"),
            1);
}

TEST(HeartbeatProcess, ForeignSecretsAndClustersAreRefusedAndCounted) {
  testing::TempDir keys;
  const std::string ours = keys.Write("ours", "Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZQ==\n");
  const std::string theirs = keys.Write("theirs", "YW5vdGhlciBzZWNyZXQsIGFub3RoZXIga2V5\n");
  const auto ports = testing::FreeLoopbackPorts(4);
  const std::string seeds = "  seeds: " + testing::SeedList(ports) + "\n";
  // node-a and node-b form a cluster; node-c (another key) and node-d
  // (another cluster name) try to join it through the same seeds.
  const std::string voter = "  bootstrap_voters: [node-a]\n";
  AgentProcess a("node-a", "cluster:\n  name: prod\n  secret_file: " + ours + "\n" + seeds + voter,
                 ports[0]);
  AgentProcess b("node-b", "cluster:\n  name: prod\n  secret_file: " + ours + "\n" + seeds + voter,
                 ports[1]);
  AgentProcess c("node-c", "cluster:\n  name: prod\n  secret_file: " + theirs + "\n" + seeds,
                 ports[2]);
  AgentProcess d("node-d", "cluster:\n  name: staging\n  secret_file: " + ours + "\n" + seeds,
                 ports[3]);
  for (AgentProcess* p : {&a, &b, &c, &d}) {
    std::string error;
    ASSERT_TRUE(p->Start(&error)) << error;
  }
  const auto heard = [](const nlohmann::json& o) { return o["heard"] == true; };
  ASSERT_TRUE(PollObservation(a, "node-b", heard, kDeadline));
  // Wait until both kinds of foreign frames (their join requests) were
  // counted, then check they never reached the cluster.
  testing::PollUntil(
      [&] {
        return testing::MetricSample(a, "ringwatch_messages_dropped_total{reason=\"bad_hmac\"}") >=
                   1 &&
               testing::MetricSample(
                   a, "ringwatch_messages_dropped_total{reason=\"wrong_cluster\"}") >= 1;
      },
      kDeadline);
  EXPECT_GE(testing::MetricSample(a, "ringwatch_messages_dropped_total{reason=\"bad_hmac\"}"), 1);
  EXPECT_GE(testing::MetricSample(a, "ringwatch_messages_dropped_total{reason=\"wrong_cluster\"}"),
            1);
  for (AgentProcess* foreign : {&c, &d}) {
    auto ready = testing::Get(foreign->http_port(), "/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 503) << "a foreign agent joined: " << ready->body;
  }
  auto r = testing::Get(a.http_port(), "/v1/members");
  ASSERT_TRUE(r);
  const auto body = nlohmann::json::parse(r->body);
  for (const auto& m : body["members"]) {
    EXPECT_NE(m["id"], "node-c");  // never named: its frames were never parsed
    EXPECT_NE(m["id"], "node-d");
  }
}

TEST(HeartbeatProcess, GarbageOnThePeerPortIsCountedAndHarmless) {
  AgentProcess a("node-a");
  std::string error;
  ASSERT_TRUE(a.Start(&error)) << error;
  const int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(a.peer_port());
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const auto dropped = [&] {
    double total = 0;
    for (const char* reason :
         {"bad_hmac", "bad_version", "malformed", "oversize", "wrong_cluster"}) {
      total += testing::MetricSample(
          a, std::string("ringwatch_messages_dropped_total{reason=\"") + reason + "\"}");
    }
    return total;
  };
  // Batches of 20, each counted before the next, so that the socket's
  // receive buffer never overflows (UDP would silently lose the excess).
  std::mt19937 rng(7);
  int sent = 0;
  for (int i = 0; i < 500; ++i) {
    std::string junk(1 + rng() % (i % 10 == 0 ? 3000 : 200), '\0');
    for (auto& ch : junk)
      ch = static_cast<char>(rng());
    if (i % 3 == 0)
      junk.replace(0, std::min<std::size_t>(2, junk.size()), "RW");  // a plausible start
    sent +=
        ::sendto(fd, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) > 0;
    if (sent % 20 == 0) {
      ASSERT_TRUE(testing::PollUntil([&] { return dropped() >= sent; }, kDeadline)) << sent;
    }
  }
  ::close(fd);
  ASSERT_TRUE(testing::PollUntil([&] { return dropped() >= sent; }, kDeadline));
  EXPECT_EQ(dropped(), sent);
  EXPECT_GE(testing::MetricSample(a, "ringwatch_messages_dropped_total{reason=\"oversize\"}"), 1);
  EXPECT_EQ(testing::MetricSample(a, "ringwatch_heartbeats_received_total"), 0);
  EXPECT_TRUE(a.process().Running());
  auto r = testing::Get(a.http_port(), "/livez");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
}

}  // namespace
}  // namespace ringwatch::agent
