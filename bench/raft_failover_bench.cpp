// Leader failover time of the embedded Raft group with real agents: three
// `ringwatch agent` processes on loopback (default timing: heartbeat 100 ms,
// election timeout 1 s, detector defaults). Each round SIGKILLs the leader and
// measures the time until both survivors name the same new leader (polled
// every 2 ms over /v1/status), then restarts the victim and lets it settle.
// Rounds run with raft.failover_from_detector on and off, side by side.
//
//   build/release/bench/raft_failover_bench [ROUNDS=10]
//
// Bounded: ROUNDS x 2 rounds, each with 30 s deadlines; agents are stopped
// on exit.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <vector>

#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"

using namespace std::chrono_literals;
using ringwatch::testing::AgentProcess;

namespace {

using ringwatch::testing::AgreedLeader;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

std::vector<double> Run(bool fast, int rounds) {
  const auto ports = ringwatch::testing::FreeLoopbackPorts(3);
  std::string yaml = "cluster:\n  seeds: " + ringwatch::testing::SeedList(ports) +
                     "\n  bootstrap_voters: [node-1, node-2, node-3]\n"
                     "raft:\n  failover_from_detector: " +
                     std::string(fast ? "true" : "false") + "\n";
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::vector<AgentProcess*> all;
  std::string error;
  for (int i = 0; i < 3; ++i) {
    agents.push_back(
        std::make_unique<AgentProcess>("node-" + std::to_string(i + 1), yaml, ports[i]));
    if (!agents.back()->Start(&error)) {
      throw std::runtime_error(error);
    }
    all.push_back(agents.back().get());
  }
  std::vector<double> times;
  for (int round = 0; round < rounds; ++round) {
    std::string leader;
    if (!ringwatch::testing::PollUntil([&] { return !(leader = AgreedLeader(all)).empty(); },
                                       30s) ||
        !ringwatch::testing::PollUntil(
            [&] { return ringwatch::testing::EveryWatchedMemberHeard(all); }, 30s)) {
      throw std::runtime_error("cluster did not settle");
    }
    AgentProcess& victim = *all[std::stoi(leader.substr(5)) - 1];
    std::vector<AgentProcess*> rest;
    for (AgentProcess* a : all)
      if (a != &victim) rest.push_back(a);
    const auto t0 = std::chrono::steady_clock::now();
    victim.process().Signal(SIGKILL);
    std::string next;
    bool ok = ringwatch::testing::PollUntil(
        [&] { return !(next = AgreedLeader(rest)).empty() && next != leader; }, 30s, 2ms);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    victim.process().Wait(10s);
    if (!ok) {
      throw std::runtime_error("no new leader within 30 s");
    }
    times.push_back(s);
    std::printf("  %s round %d: %s killed, %s leads after %.3f s\n", fast ? "fast" : "textbook",
                round + 1, leader.c_str(), next.c_str(), s);
    if (!victim.Start(&error)) {
      throw std::runtime_error(error);
    }
  }
  return times;
}

}  // namespace

// A failure throws: unwinding stops the agents (their destructors), which
// std::exit would leave running.
int main(int argc, char** argv) try {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 10;
  std::vector<double> fast = Run(true, rounds);
  std::vector<double> slow = Run(false, rounds);
  std::printf("leader failover after SIGKILL, 3 voters, heartbeat 100 ms, election timeout 1 s\n");
  std::printf("  with the detector input:    median %.3f s  (min %.3f, max %.3f) over %d rounds\n",
              Median(fast), *std::min_element(fast.begin(), fast.end()),
              *std::max_element(fast.begin(), fast.end()), rounds);
  std::printf("  textbook (input disabled):  median %.3f s  (min %.3f, max %.3f) over %d rounds\n",
              Median(slow), *std::min_element(slow.begin(), slow.end()),
              *std::max_element(slow.begin(), slow.end()), rounds);
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
