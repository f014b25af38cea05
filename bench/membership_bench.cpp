// Failure detection end to end with real agents: five `ringwatch agent`
// processes on loopback with the default configuration (node-1..3 voters).
// Each trial SIGKILLs one member and measures, polling every 2 ms:
//   follower trials: SIGKILL → the member is dead in every survivor's view;
//   leader trials:   SIGKILL → a new leader agreed by all survivors, and
//                    → the old leader dead in every survivor's view.
// Every trial runs on a fresh cluster that has settled (all alive and heard
// everywhere, then 2 s of heartbeats). Prints each trial, median and p99.
//
//   build/release/bench/membership_bench [TRIALS=20]
//
// Bounded: 2 x TRIALS trials, each with 30 s deadlines; agents stop on exit.
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>
#include <vector>

#include "bench/trials.h"
#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"

using namespace std::chrono_literals;
using ringwatch::bench::Fail;
using ringwatch::bench::Percentile;
using ringwatch::testing::AgentProcess;
using ringwatch::testing::AgreedLeader;
using ringwatch::testing::AllSee;

namespace {

void Dump(const std::vector<AgentProcess*>& who) {
  for (AgentProcess* a : who) {
    auto r = ringwatch::testing::Get(a->http_port(), "/v1/members");
    std::cerr << "---- " << (r ? r->body : "(no answer)") << "\n"
              << ringwatch::testing::RaftStatus(*a).dump() << "\n";
    const std::string err = a->process().Stderr();
    std::cerr << err.substr(err.size() > 4000 ? err.size() - 4000 : 0) << "\n";
  }
}

}  // namespace

int main(int argc, char** argv) try {
  const int trials = argc > 1 ? std::atoi(argv[1]) : 20;
  std::vector<double> follower_dead, leader_new, leader_dead;
  for (int t = 0; t < 2 * trials; ++t) {
    // A fresh cluster per trial: killing the same members again and again
    // would (rightly) make the flap damping lengthen their probation.
    const auto ports = ringwatch::testing::FreeLoopbackPorts(5);
    const std::string yaml = "cluster:\n  seeds: " + ringwatch::testing::SeedList(ports) +
                             "\n  bootstrap_voters: [node-1, node-2, node-3]\n";
    std::vector<std::unique_ptr<AgentProcess>> agents;
    std::vector<AgentProcess*> all;
    std::vector<std::string> ids;
    std::string error;
    for (int i = 0; i < 5; ++i) {
      ids.push_back("node-" + std::to_string(i + 1));
      agents.push_back(std::make_unique<AgentProcess>(ids.back(), yaml, ports[i]));
      if (!agents.back()->Start(&error)) Fail(error);
      all.push_back(agents.back().get());
    }
    if (!AllSee(all, ids, "alive", 20ms) ||
        !ringwatch::testing::PollUntil(
            [&] { return ringwatch::testing::EveryWatchedMemberHeard(all); }, 30s, 20ms)) {
      Dump(all);
      Fail("the cluster did not settle");
    }
    // Let heartbeats flow for a moment, as they would before any real failure.
    std::this_thread::sleep_for(2s);
    std::string leader;
    if (!ringwatch::testing::PollUntil([&] { return !(leader = AgreedLeader(all)).empty(); }, 30s))
      Fail("no agreed leader");
    const bool kill_leader = t % 2 == 1;
    std::string victim = leader;
    if (!kill_leader) {
      // Followers in turn, voters and learners alike.
      for (int k = 0; k < 5 && victim == leader; ++k)
        victim = ids[(t / 2 + k) % 5];
    }
    AgentProcess& v = *all[std::stoi(victim.substr(5)) - 1];
    std::vector<AgentProcess*> rest;
    for (AgentProcess* a : all)
      if (a != &v) rest.push_back(a);
    const auto t0 = std::chrono::steady_clock::now();
    v.process().Signal(SIGKILL);
    auto since = [&] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    if (kill_leader) {
      std::string next;
      if (!ringwatch::testing::PollUntil(
              [&] { return !(next = AgreedLeader(rest)).empty() && next != leader; }, 30s, 2ms)) {
        for (AgentProcess* a : rest)
          std::cerr << ringwatch::testing::RaftStatus(*a).dump() << "\n"
                    << a->process().Stderr().substr(a->process().Stderr().size() > 3000
                                                        ? a->process().Stderr().size() - 3000
                                                        : 0)
                    << "\n";
        Fail("no new leader");
      }
      leader_new.push_back(since());
      if (!AllSee(rest, {victim}, "dead", 2ms)) Fail("old leader never dead");
      leader_dead.push_back(since());
      std::printf("  trial %2d: leader %s killed: new leader %s after %.3f s, dead after %.3f s\n",
                  t + 1, victim.c_str(), next.c_str(), leader_new.back(), leader_dead.back());
    } else {
      if (!AllSee(rest, {victim}, "dead", 2ms)) {
        Dump(rest);
        Fail("never dead: " + victim);
      }
      follower_dead.push_back(since());
      std::printf("  trial %2d: %s killed: dead in every view after %.3f s\n", t + 1,
                  victim.c_str(), follower_dead.back());
    }
    std::fflush(stdout);
  }
  std::printf("5 agents on loopback, default configuration, %d trials each\n", trials);
  std::printf("  follower SIGKILL -> dead in every view: median %.3f s, p99 %.3f s\n",
              Percentile(follower_dead, 0.5), Percentile(follower_dead, 0.99));
  std::printf("  leader SIGKILL -> new leader:            median %.3f s, p99 %.3f s\n",
              Percentile(leader_new, 0.5), Percentile(leader_new, 0.99));
  std::printf("  leader SIGKILL -> old leader dead:       median %.3f s, p99 %.3f s\n",
              Percentile(leader_dead, 0.5), Percentile(leader_dead, 0.99));
  return 0;
} catch (const std::exception& e) {
  std::cerr << e.what() << "\n";
  return 1;
}
