// Joining as users deploy it, with real agents on loopback: seed lists that
// hold only the voters, one learner, dead and unresolvable addresses and the
// agent itself; and the scenario scripts that the whole-agent simulation
// replays too (tests/support/scenario.h): real agents must commit the same
// golden events as the simulation, so the two cannot drift apart.

#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"
#include "tests/support/scenario.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;

constexpr auto kDeadline = 30s;

std::string Seeds(const std::vector<std::string>& addresses) {
  std::string out = "[";
  for (const auto& a : addresses)
    out += (out.size() > 1 ? ", \"" : "\"") + a + "\"";
  return out + "]";
}

std::string Loopback(uint16_t port) {
  return "127.0.0.1:" + std::to_string(port);
}

// Five agents: node-1..node-3 bootstrap the Raft group; every agent's seed
// list is given by `seeds_of` (index 0..4). Every agent must join; the time
// from the first start until all five are alive everywhere is printed.
void ExpectEveryAgentJoins(
    const std::string& what,
    const std::function<std::vector<std::string>(std::size_t, const std::vector<uint16_t>&)>&
        seeds_of) {
  const auto ports = testing::FreeLoopbackPorts(5);
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::vector<AgentProcess*> all;
  const auto t0 = std::chrono::steady_clock::now();
  for (std::size_t i = 0; i < 5; ++i) {
    agents.push_back(
        std::make_unique<AgentProcess>("node-" + std::to_string(i + 1),
                                       "cluster:\n  seeds: " + Seeds(seeds_of(i, ports)) +
                                           "\n  bootstrap_voters: [node-1, node-2, node-3]\n",
                                       ports[i]));
    std::string error;
    ASSERT_TRUE(agents.back()->Start(&error)) << error;
    all.push_back(agents.back().get());
  }
  const bool joined =
      testing::AllSee(all, {"node-1", "node-2", "node-3", "node-4", "node-5"}, "alive");
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string stderrs;
  if (!joined)
    for (AgentProcess* a : all)
      stderrs += a->process().Stderr().substr(0, 4000) + "\n----\n";
  ASSERT_TRUE(joined) << what << ": not every agent joined\n" << stderrs;
  std::cout << what << ": all five alive in every view " << seconds << " s after the first start\n";
  for (AgentProcess* a : all) {
    auto ready = testing::Get(a->http_port(), "/readyz");
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->status, 200) << ready->body;
  }
}

// The usual deployment (Consul's retry_join to the servers): every agent is
// seeded with the three voters only. (Before the agent core, the two others
// never joined.)
TEST(JoinProcess, AgentsSeededWithTheVotersOnlyAllJoin) {
  ExpectEveryAgentJoins("voters only", [](std::size_t, const std::vector<uint16_t>& p) {
    return std::vector<std::string>{Loopback(p[0]), Loopback(p[1]), Loopback(p[2])};
  });
}

// Hard seed lists: node-4 lists a dead port, a name that resolves to
// nothing and itself before a voter; node-5 knows only node-4, a learner.
TEST(JoinProcess, DeadUnresolvableSelfAndLearnerOnlySeedsAllJoin) {
  ExpectEveryAgentJoins(
      "dead, unresolvable, self and learner seeds",
      [](std::size_t i, const std::vector<uint16_t>& p) -> std::vector<std::string> {
        const uint16_t dead = testing::FreeLoopbackPort();  // nobody listens there
        if (i == 3) return {Loopback(dead), "nowhere.invalid:7420", Loopback(p[3]), Loopback(p[1])};
        if (i == 4) return {Loopback(p[3])};
        return {Loopback(p[0]), Loopback(p[1]), Loopback(p[2])};
      });
}

// An agent whose seeds all fail says why after 10 s, and keeps trying with
// backoff (its CPU stays idle).
TEST(JoinProcess, AnAgentThatCannotJoinSaysWhyAfterTenSeconds) {
  const uint16_t dead = testing::FreeLoopbackPort();
  AgentProcess a("node-1", "cluster:\n  seeds: [\"" + Loopback(dead) +
                               "\", \"nowhere.invalid:7420\"]\nlog:\n  level: debug\n");
  std::string error;
  ASSERT_TRUE(a.Start(&error)) << error;
  auto line = a.process().WaitForStderrLine("not a member of the cluster yet", 30s);
  ASSERT_TRUE(line) << a.process().Stderr();
  std::cout << *line << "\n";
  EXPECT_NE(line->find(Loopback(dead) + ": "), std::string::npos) << "names each seed: " << *line;
  EXPECT_NE(line->find("nowhere.invalid:7420: does not resolve"), std::string::npos) << *line;
  const std::string log = a.process().Stderr();
  EXPECT_NE(log.find("warning [membership] not a member of the cluster yet"), std::string::npos)
      << log;
  EXPECT_NE(log.find("seed does not resolve seed=nowhere.invalid:7420"), std::string::npos);
  EXPECT_NE(log.find("[membership] join request"), std::string::npos) << "each attempt at debug";
  auto ready = testing::Get(a.http_port(), "/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 503);
  EXPECT_NE(ready->body.find("joining"), std::string::npos) << ready->body;
}

// Replays a scenario script with real agents n1..nN; returns the formatted
// committed events (tests/support/scenario.h).
std::string RunScenario(const testing::Scenario& s, std::string* failure) {
  const auto ports = testing::FreeLoopbackPorts(static_cast<std::size_t>(s.members));
  auto port_of = [&](const std::string& id) { return ports[std::stoul(id.substr(1)) - 1]; };
  std::vector<std::string> seeds;
  for (const auto& id : s.seeds)
    seeds.push_back(Loopback(port_of(id)));
  std::string voters;
  for (const auto& v : s.voters)
    voters += (voters.empty() ? "" : ", ") + v;
  std::map<std::string, std::unique_ptr<AgentProcess>> agents;
  auto running = [&] {
    std::vector<AgentProcess*> out;
    for (auto& [id, a] : agents)
      if (a->process().Running()) out.push_back(a.get());
    return out;
  };
  for (const testing::ScenarioStep& step : s.steps) {
    const std::string where = "line " + std::to_string(step.line) + " (" + step.verb + "): ";
    for (const std::string& id : step.ids) {
      if (step.verb == "start") {
        auto& a = agents[id];
        if (!a)
          a = std::make_unique<AgentProcess>(
              id, "cluster:\n  seeds: " + Seeds(seeds) + "\n  bootstrap_voters: [" + voters + "]\n",
              port_of(id));
        std::string error;
        if (!a->Start(&error)) return *failure = where + error, "";
      } else if (step.verb == "kill") {
        agents.at(id)->process().Signal(SIGKILL);
        agents.at(id)->process().Wait(kDeadline);
      } else if (step.verb == "leave") {
        auto r = testing::Exchange(agents.at(id)->http_port(),
                                   "POST /v1/leave HTTP/1.1\r\nHost: x\r\nContent-Length: "
                                   "0\r\nConnection: close\r\n\r\n");
        if (!r || r->status != 200)
          return *failure = where + id + ": " + (r ? r->body : "no answer"), "";
        agents.at(id)->process().Wait(kDeadline);
      }
    }
    if (step.verb == "await" && !testing::AllSee(running(), step.ids, step.state, 20ms, 60s))
      return *failure = where + "not reached in 60 s", "";
  }
  std::vector<AgentProcess*> up = running();
  if (up.empty()) return *failure = "no agent running at the end", "";
  // Wait until every running agent committed the same events.
  std::string events;
  const bool agreed = testing::PollUntil(
      [&] {
        std::string first;
        for (AgentProcess* a : up) {
          auto j = testing::GetJson(*a, "/v1/events");
          if (j.is_null()) return false;
          std::vector<testing::ScenarioEvent> list;
          for (const auto& e : j["events"])
            list.push_back({e["kind"].get<std::string>(), e["member"].get<std::string>(),
                            e["diagnosis"].is_null() ? "" : e["diagnosis"].get<std::string>()});
          std::string formatted = testing::FormatScenarioEvents(s, list);
          if (a != up.front() && formatted != first) return false;
          first = std::move(formatted);
        }
        events = first;
        return true;
      },
      kDeadline, 50ms);
  if (!agreed) return *failure = "the running agents' event logs differ", "";
  return events;
}

TEST(ScenarioProcess, JoinKillRejoinLeaveCommitsTheGoldenEvents) {
  std::string error;
  const auto scenario =
      testing::ParseScenario(testing::ScenarioText("join_kill_rejoin_leave"), &error);
  ASSERT_TRUE(scenario) << error;
  std::string failure;
  const std::string events = RunScenario(*scenario, &failure);
  ASSERT_TRUE(failure.empty()) << failure;
  EXPECT_EQ(events, testing::ScenarioGolden("join_kill_rejoin_leave"))
      << "the real agents diverge from the simulation's golden events";
}

}  // namespace
}  // namespace ringwatch::agent
