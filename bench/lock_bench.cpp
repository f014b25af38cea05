// Lock handover end to end with real agents: five `ringwatch agent`
// processes on loopback with the default configuration (node-1..3 voters).
// Each trial: a holder takes lock "db" through one agent, a waiter asks for
// it through another (POST /v1/locks/db?holder=waiter&wait=30s), then the
// holder's agent is SIGKILLed. Measured from the SIGKILL:
//   waiter holds: the waiter's 200 answer arrives (its token larger);
//   holder dead:  the holder's member is dead in every survivor's view
//                 (polled every 2 ms: the detection, for comparison).
// Even trials kill a follower's agent (the holder's member is not the
// leader; the waiter is another follower), odd trials the leader's (a new
// leader is elected first). Every trial runs on a fresh cluster that has
// settled (all alive and heard everywhere, then 2 s of heartbeats). Prints
// each trial, medians and p99.
//
//   build/release/bench/lock_bench [TRIALS=20]
//
// Bounded: TRIALS trials, each with 30 s deadlines; agents stop on exit.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench/trials.h"
#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"

using namespace std::chrono_literals;
using ringwatch::bench::Fail;
using ringwatch::bench::Percentile;
using ringwatch::testing::AgentProcess;
using ringwatch::testing::AgreedLeader;
using ringwatch::testing::AllSee;

namespace {

uint64_t TokenOf(const std::optional<ringwatch::testing::RawResponse>& r) {
  if (!r || r->status != 200) return 0;
  try {
    return nlohmann::json::parse(r->body).at("token").get<uint64_t>();
  } catch (const std::exception&) {
    return 0;
  }
}

}  // namespace

int main(int argc, char** argv) try {
  const int trials = argc > 1 ? std::atoi(argv[1]) : 20;
  std::vector<double> holds[2], dead[2];  // [0] follower holders, [1] leader holders
  for (int t = 0; t < trials; ++t) {
    std::vector<std::unique_ptr<AgentProcess>> agents;
    std::string error;
    if (!ringwatch::testing::StartSeededCluster(5, &agents, &error,
                                                "  bootstrap_voters: [node-1, node-2, node-3]\n"))
      Fail(error);
    std::vector<AgentProcess*> all;
    std::vector<std::string> ids;
    for (auto& a : agents) {
      all.push_back(a.get());
      ids.push_back("node-" + std::to_string(all.size()));
    }
    if (!AllSee(all, ids, "alive", 20ms) ||
        !ringwatch::testing::PollUntil(
            [&] { return ringwatch::testing::EveryWatchedMemberHeard(all); }, 30s, 20ms))
      Fail("the cluster did not settle");
    std::this_thread::sleep_for(2s);
    std::string leader;
    if (!ringwatch::testing::PollUntil([&] { return !(leader = AgreedLeader(all)).empty(); }, 30s))
      Fail("no agreed leader");
    const bool kill_leader = t % 2 == 1;
    std::vector<std::string> followers;
    for (const auto& id : ids)
      if (id != leader) followers.push_back(id);
    const std::string holder = kill_leader ? leader : followers[(t / 2) % followers.size()];
    std::string through = followers[(t / 2 + 1) % followers.size()];
    if (through == holder) through = followers[(t / 2 + 2) % followers.size()];
    AgentProcess& h = *all[std::stoi(holder.substr(5)) - 1];
    AgentProcess& w = *all[std::stoi(through.substr(5)) - 1];
    const uint64_t first = TokenOf(h.Request("POST", "/v1/locks/db?holder=holder"));
    if (!first) Fail("the holder did not get the lock through " + holder);
    auto waiter = std::async(std::launch::async, [&] {
      auto r = w.Request("POST", "/v1/locks/db?holder=waiter&wait=30s", 40s);
      return std::make_pair(r, std::chrono::steady_clock::now());
    });
    // Give the waiter's request time to arrive and wait (a bench, not a test).
    std::this_thread::sleep_for(300ms);
    if (waiter.wait_for(0s) == std::future_status::ready) Fail("the waiter was answered early");
    std::vector<AgentProcess*> rest;
    for (AgentProcess* a : all)
      if (a != &h) rest.push_back(a);
    const auto t0 = std::chrono::steady_clock::now();
    h.process().Signal(SIGKILL);
    auto since = [&](std::chrono::steady_clock::time_point t) {
      return std::chrono::duration<double>(t - t0).count();
    };
    // The death is polled on this thread; the waiter's answer is timed by
    // its own thread, when it arrives.
    if (!AllSee(rest, {holder}, "dead", 2ms)) Fail("the holder's member never dead");
    const double dead_at = since(std::chrono::steady_clock::now());
    if (waiter.wait_for(35s) != std::future_status::ready) Fail("the waiter got no answer");
    const auto [answer, answered_at] = waiter.get();
    const double holds_at = since(answered_at);
    const uint64_t second = TokenOf(answer);
    if (second <= first) Fail("the waiter did not get the lock with a larger token");
    holds[kill_leader].push_back(holds_at);
    dead[kill_leader].push_back(dead_at);
    std::printf(
        "trial %2d %-8s holder %s (waiter through %s): dead everywhere %.3f s, "
        "waiter holds %.3f s (token %llu -> %llu)\n",
        t + 1, kill_leader ? "leader" : "follower", holder.c_str(), through.c_str(), dead_at,
        holds_at, static_cast<unsigned long long>(first), static_cast<unsigned long long>(second));
    std::fflush(stdout);
  }
  for (int k = 0; k < 2; ++k) {
    if (holds[k].empty()) continue;
    std::printf(
        "%s holders (%zu trials): waiter holds p50 %.3f s p99 %.3f s; "
        "holder dead everywhere p50 %.3f s p99 %.3f s\n",
        k ? "leader" : "follower", holds[k].size(), Percentile(holds[k], 0.5),
        Percentile(holds[k], 0.99), Percentile(dead[k], 0.5), Percentile(dead[k], 0.99));
  }
  std::vector<double> every = holds[0];
  every.insert(every.end(), holds[1].begin(), holds[1].end());
  std::printf("all %zu trials: waiter holds p50 %.3f s p99 %.3f s\n", every.size(),
              Percentile(every, 0.5), Percentile(every, 0.99));
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
