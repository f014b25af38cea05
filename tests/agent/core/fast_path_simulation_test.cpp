// The fast path in the whole-agent simulation (tests/agent/core/agent_sim.h):
// a process that ends closes its connections, the observers holding one
// probe its port, and a refused connect is evidence at once. What closes
// nothing (a host cut off, a paused process) still goes through phi, and
// a planned restart is no death. Five agents, n1..n3 voting.
#include <gtest/gtest.h>

#include "membership/view.h"
#include "tests/agent/core/agent_sim.h"

namespace ringwatch::agent::sim {
namespace {

using namespace std::chrono_literals;
using membership::DetectionPath;
using membership::DiagnosisClass;

const membership::Diagnosis* DiagnosisIn(AgentSim& sim, const std::string& agent,
                                         const std::string& id) {
  const membership::Member* m = sim.agent(agent).core->view().Find(id);
  return m && m->diagnosis ? &*m->diagnosis : nullptr;
}

std::string Paths(const membership::Diagnosis* d) {
  if (!d) return "no diagnosis";
  std::string out = std::string("decided by ") + membership::ToString(d->path) + ":";
  for (const auto& o : d->observers)
    out +=
        " " + o.observer + "=" + membership::ToString(o.path) + "/" + membership::ToString(o.probe);
  return out;
}

bool SeeAll(AgentSim& sim, const std::vector<std::string>& observers, const std::string& id,
            const std::string& state, std::chrono::milliseconds limit) {
  return sim.RunUntil(
      [&] {
        for (const auto& o : observers)
          if (sim.StateIn(o, id) != state) return false;
        return true;
      },
      limit);
}

std::vector<std::string> Others(AgentSim& sim, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& x : sim.ids())
    if (x != id) out.push_back(x);
  return out;
}

// A crash closes the member's connections; its observers' probes are
// refused; the verdict is decided by the fast path, as process_down, and
// every observer that decided names it. Before phi could have: with 100 ms
// heartbeats phi needs about 0.3 s of silence, the fast path a probe.
TEST(FastPathSimulation, ACrashedMemberIsDeclaredDeadByTheFastPath) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    for (const std::string victim : {"n5", "n2"}) {  // a learner, a follower voter
      if (victim == sim.Leader()) continue;
      sim.Run(1s);
      const int64_t crashed_at = sim.NowMs();
      sim.Crash(victim);
      ASSERT_TRUE(SeeAll(sim, Others(sim, victim), victim, "dead", 2s)) << victim << Rerun(seed);
      const int64_t took = sim.NowMs() - crashed_at;
      const membership::Diagnosis* d = DiagnosisIn(sim, sim.Leader(), victim);
      ASSERT_TRUE(d) << Rerun(seed);
      EXPECT_EQ(d->path, DetectionPath::kFast) << victim << ": " << Paths(d) << Rerun(seed);
      EXPECT_EQ(d->cls, DiagnosisClass::kProcessDown) << Paths(d) << Rerun(seed);
      for (const auto& o : d->observers) {
        if (o.suspected && o.path == DetectionPath::kFast) {
          EXPECT_EQ(o.probe, membership::ProbeResult::kRefused) << Paths(d);
        }
      }
      EXPECT_LT(took, 250) << victim << " took " << took << " ms of simulated time: not the "
                           << "fast path; " << Paths(d) << Rerun(seed);
      sim.Start(victim);
      ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    }
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
  }
}

// The leader crashes: the voters holding its connection probe its port and
// start the pre-vote at once; a new leader is agreed before phi could have
// suspected the old one, and the old one is then declared dead, fast.
TEST(FastPathSimulation, ACrashedLeaderIsReplacedBeforePhiCouldSuspectIt) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    sim.Run(1s);
    const std::string old = sim.Leader();
    ASSERT_FALSE(old.empty());
    const int64_t crashed_at = sim.NowMs();
    sim.Crash(old);
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          const std::string now = sim.Leader();
          if (now.empty() || now == old) return false;
          for (const auto& id : Others(sim, old))
            if (sim.agent(id).core->leader() != now) return false;
          return true;
        },
        3s))
        << Rerun(seed);
    const int64_t took = sim.NowMs() - crashed_at;
    EXPECT_LT(took, 250) << "a new leader after " << took << " ms of simulated time" << Rerun(seed);
    ASSERT_TRUE(SeeAll(sim, Others(sim, old), old, "dead", 2s)) << Rerun(seed);
    const membership::Diagnosis* d = DiagnosisIn(sim, sim.Leader(), old);
    ASSERT_TRUE(d) << Rerun(seed);
    EXPECT_EQ(d->cls, DiagnosisClass::kProcessDown) << Paths(d) << Rerun(seed);
    EXPECT_EQ(d->path, DetectionPath::kFast) << Paths(d) << Rerun(seed);
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
  }
}

// A host cut off closes no connection (no FIN crosses a cut); a paused
// process closes none either (its kernel keeps them). Both still die by
// phi, never by the fast path.
TEST(FastPathSimulation, WhatClosesNoConnectionGoesThroughPhi) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    sim.side_ = {"n5"};
    ASSERT_TRUE(SeeAll(sim, Others(sim, "n5"), "n5", "dead", 10s)) << Rerun(seed);
    const membership::Diagnosis* cut = DiagnosisIn(sim, sim.Leader(), "n5");
    ASSERT_TRUE(cut) << Rerun(seed);
    EXPECT_NE(cut->path, DetectionPath::kFast) << Paths(cut) << Rerun(seed);
    EXPECT_NE(cut->path, DetectionPath::kNone) << Paths(cut) << Rerun(seed);
    sim.side_.clear();
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    sim.Run(5s);  // n5 hears n4 again: a fresh detector would say "heard" (a partition)

    sim.Pause("n4", 3s);
    ASSERT_TRUE(SeeAll(sim, Others(sim, "n4"), "n4", "dead", 3s)) << Rerun(seed);
    const membership::Diagnosis* paused = DiagnosisIn(sim, sim.Leader(), "n4");
    ASSERT_TRUE(paused) << Rerun(seed);
    EXPECT_EQ(paused->path, DetectionPath::kPhi) << Paths(paused) << Rerun(seed);
    EXPECT_EQ(paused->cls, DiagnosisClass::kUnresponsive) << Paths(paused) << Rerun(seed);
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    EXPECT_EQ(sim.DeadEvents(), 2u) << Rerun(seed);
  }
}

// A planned restart closes the connections too, and the port refuses until
// the new process listens: the observers report it, but the member is
// restarting in the view, so nobody declares it dead.
TEST(FastPathSimulation, APlannedRestartIsNoDeath) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    for (const std::string victim : {"n5", "n2"}) {
      sim.Stop(victim, StopMode::kRestart);
      ASSERT_TRUE(sim.RunUntil([&] { return !sim.agent(victim).up; }, 5s)) << Rerun(seed);
      sim.Run(500ms);  // down a while: its port refuses meanwhile
      sim.Start(victim);
      ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    }
    EXPECT_EQ(sim.DeadEvents(), 0u) << Rerun(seed);
    // Nobody even suspected them: their restart had committed before they
    // closed anything (a suspicion would count toward the alerts).
    for (const auto& id : sim.ids())
      for (const std::string victim : {"n5", "n2"})
        EXPECT_EQ(sim.agent(id).suspicions[victim], 0)
            << id << " suspected " << victim << Rerun(seed);
  }
}

// A connection that closes while the port still accepts (the process was
// restarted at once, by a supervisor) is not evidence: nobody suspects the
// member by the fast path; its old life ends through its rejoin.
TEST(FastPathSimulation, AClosedConnectionWhileThePortAcceptsIsNoEvidence) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    sim.Crash("n5");
    sim.Start("n5");  // before the closes reach anyone: every probe connects
    sim.Run(100ms);
    for (const auto& id : Others(sim, "n5"))
      for (const PeerView& p : sim.agent(id).core->Peers(sim.Now()))
        EXPECT_NE(p.suspected_by, "fast") << id << " about " << p.id << Rerun(seed);
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    const membership::Diagnosis* d = DiagnosisIn(sim, sim.Leader(), "n5");
    if (d) {
      EXPECT_NE(d->path, DetectionPath::kFast) << Paths(d) << Rerun(seed);
    }
  }
}

}  // namespace
}  // namespace ringwatch::agent::sim
