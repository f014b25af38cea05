// Diagnosis in the whole-agent simulation (tests/agent/core/agent_sim.h):
// the verdict the leader commits from what the survivors saw, and the
// revision it commits from the member's own account when it comes back.
// Five agents, n1..n3 voting; the faults hit the learners n4 and n5, so
// the verdicts are about members, not about an election.
#include <gtest/gtest.h>

#include <algorithm>

#include "membership/view.h"
#include "tests/agent/core/agent_sim.h"

namespace ringwatch::agent::sim {
namespace {

using namespace std::chrono_literals;
using membership::DiagnosisClass;

const std::vector<std::string> kSurvivors = {"n1", "n2", "n3"};

// Steps until every survivor's view holds each of `ids` in `state`.
bool SurvivorsSee(AgentSim& sim, const std::vector<std::string>& ids, const std::string& state,
                  std::chrono::milliseconds limit) {
  return sim.RunUntil(
      [&] {
        for (const auto& observer : kSurvivors)
          for (const auto& id : ids)
            if (sim.StateIn(observer, id) != state) return false;
        return true;
      },
      limit);
}

bool Converge(AgentSim& sim) {
  return sim.AwaitAllAlive(30s);
}

// The diagnosis of `id` in n1's committed view.
const membership::Diagnosis* DiagnosisOf(AgentSim& sim, const std::string& id) {
  const membership::Member* m = sim.agent("n1").core->view().Find(id);
  return m && m->diagnosis ? &*m->diagnosis : nullptr;
}

std::string Describe(const membership::Diagnosis* d) {
  if (!d) return "no diagnosis";
  std::string out = std::string("verdict ") + membership::ToString(d->cls) + " probe " +
                    membership::ToString(d->probe);
  for (const auto& g : d->group)
    out += " group:" + g;
  if (d->revision) {
    out += std::string(" revision ") + membership::ToString(d->revision->cls) +
           (d->revision->account.restarted ? " restarted" : "") +
           " pause_ms=" + std::to_string(d->revision->account.longest_pause_ms) +
           (d->revision->account.episode ? " episode" : "") + " heard:";
    for (const auto& h : d->revision->account.heard)
      out += h + ",";
  }
  return out;
}

// Two members cut off together: both verdicts are `partition`, each naming
// the other; back, each says it kept hearing the other — `partition` again.
TEST(DiagnosisSimulation, AGroupThatFallsSilentTogetherIsAPartitionNamingTheOtherSide) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    sim.side_ = {"n4", "n5"};
    ASSERT_TRUE(SurvivorsSee(sim, {"n4", "n5"}, "dead", 10s)) << Rerun(seed);
    for (const auto& [id, other] : {std::pair{"n4", "n5"}, std::pair{"n5", "n4"}}) {
      const membership::Diagnosis* d = DiagnosisOf(sim, id);
      ASSERT_TRUE(d) << Rerun(seed);
      EXPECT_EQ(d->cls, DiagnosisClass::kPartition) << id << ": " << Describe(d) << Rerun(seed);
      EXPECT_EQ(d->group, std::vector<std::string>{other}) << id << ": " << Describe(d);
      for (const auto& o : d->observers)
        EXPECT_NE(o.probe, membership::ProbeResult::kRefused) << id << ": " << Describe(d);
    }
    sim.side_.clear();
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    for (const auto& [id, other] : {std::pair{"n4", "n5"}, std::pair{"n5", "n4"}}) {
      const membership::Diagnosis* d = DiagnosisOf(sim, id);
      ASSERT_TRUE(d && d->revision) << id << ": " << Describe(d) << Rerun(seed);
      EXPECT_EQ(d->revision->cls, DiagnosisClass::kPartition) << id << ": " << Describe(d);
      EXPECT_TRUE(d->revision->account.episode) << Describe(d);
      EXPECT_NE(
          std::find(d->revision->account.heard.begin(), d->revision->account.heard.end(), other),
          d->revision->account.heard.end())
          << id << ": " << Describe(d);
    }
    EXPECT_EQ(sim.DeadEvents(), 2u) << "only the two cut off; " << Rerun(seed);
  }
}

// One member cut off alone: `host_down` (its probes time out, nobody else
// went silent); back, it says it heard nobody — `isolated`.
TEST(DiagnosisSimulation, AMemberCutOffAloneIsHostDownAndItsAccountSaysIsolated) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    sim.side_ = {"n5"};
    ASSERT_TRUE(SurvivorsSee(sim, {"n5"}, "dead", 10s)) << Rerun(seed);
    const membership::Diagnosis* d = DiagnosisOf(sim, "n5");
    ASSERT_TRUE(d) << Rerun(seed);
    EXPECT_EQ(d->cls, DiagnosisClass::kHostDown) << Describe(d) << Rerun(seed);
    EXPECT_TRUE(d->group.empty()) << Describe(d);
    sim.side_.clear();
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    d = DiagnosisOf(sim, "n5");
    ASSERT_TRUE(d && d->revision) << Describe(d) << Rerun(seed);
    EXPECT_EQ(d->revision->cls, DiagnosisClass::kIsolated) << Describe(d) << Rerun(seed);
    EXPECT_TRUE(d->revision->account.heard.empty()) << Describe(d);
    EXPECT_EQ(sim.DeadEvents(), 1u) << Rerun(seed);
  }
}

// A voter cut off alone loses the leader too: its watch is planned anew
// while it is cut off (fresh detectors, never heard, suspect nobody before
// the timeout). And when the link comes back, its Raft connections wait
// out their reconnect backoff (as TCP's did in the chaos suite): for a
// while it hears only heartbeats — the leader's (it heartbeats every voter)
// but no one else's (it is dead in their views), which looks like a second
// isolation episode in which it hears the leader. Its account still speaks
// of the first one: it heard nobody — `isolated`.
TEST(DiagnosisSimulation, AVoterCutOffAloneSaysIsolatedThoughItsWatchChanged) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    const std::string leader = sim.Leader();
    ASSERT_FALSE(leader.empty()) << Rerun(seed);
    const std::string cut = leader == "n3" ? "n2" : "n3";
    std::vector<std::string> others;
    for (const auto& id : sim.ids())
      if (id != cut) others.push_back(id);
    sim.side_ = {cut};
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          for (const auto& o : others)
            if (sim.StateIn(o, cut) != "dead") return false;
          return true;
        },
        10s))
        << Rerun(seed);
    // Long enough for its watch to change: the timeout of fresh detectors.
    sim.Run(3s);
    sim.raft_deaf_until_ms_[cut] = sim.NowMs() + 2500;
    sim.side_.clear();
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    const membership::Diagnosis* d = DiagnosisOf(sim, cut);
    ASSERT_TRUE(d && d->revision) << Describe(d) << Rerun(seed);
    EXPECT_EQ(d->cls, DiagnosisClass::kHostDown) << Describe(d) << Rerun(seed);
    EXPECT_EQ(d->revision->cls, DiagnosisClass::kIsolated) << Describe(d) << Rerun(seed);
    EXPECT_TRUE(d->revision->account.heard.empty()) << Describe(d) << Rerun(seed);
    EXPECT_EQ(sim.DeadEvents(), 1u) << Rerun(seed);
  }
}

// Every frame from n5 is lost, every frame to it arrives: the survivors
// cannot tell it from a dead host, but never call it `process_down`; back,
// it says it heard everyone all along — `partition`.
TEST(DiagnosisSimulation, AMemberBehindAOneWayCutIsNotProcessDown) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    for (const auto& other : sim.ids())
      if (other != "n5") sim.one_way_.insert({"n5", other});
    ASSERT_TRUE(SurvivorsSee(sim, {"n5"}, "dead", 10s)) << Rerun(seed);
    const membership::Diagnosis* d = DiagnosisOf(sim, "n5");
    ASSERT_TRUE(d) << Rerun(seed);
    EXPECT_NE(d->cls, DiagnosisClass::kProcessDown) << Describe(d) << Rerun(seed);
    sim.one_way_.clear();
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    d = DiagnosisOf(sim, "n5");
    ASSERT_TRUE(d && d->revision) << Describe(d) << Rerun(seed);
    EXPECT_EQ(d->revision->cls, DiagnosisClass::kPartition) << Describe(d) << Rerun(seed);
    EXPECT_FALSE(d->revision->account.episode) << Describe(d);
  }
}

// SIGSTOP for 3 s: the host accepts connections, the agent says nothing —
// `unresponsive`; back, its stall detector measured the pause — `paused`.
TEST(DiagnosisSimulation, APausedMemberIsUnresponsiveAndItsAccountSaysPaused) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    sim.Pause("n5", 3s);
    ASSERT_TRUE(SurvivorsSee(sim, {"n5"}, "dead", 3s)) << Rerun(seed);
    const membership::Diagnosis* d = DiagnosisOf(sim, "n5");
    ASSERT_TRUE(d) << Rerun(seed);
    EXPECT_EQ(d->cls, DiagnosisClass::kUnresponsive) << Describe(d) << Rerun(seed);
    EXPECT_EQ(d->probe, membership::ProbeResult::kConnected) << Describe(d);
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    d = DiagnosisOf(sim, "n5");
    ASSERT_TRUE(d && d->revision) << Describe(d) << Rerun(seed);
    EXPECT_EQ(d->revision->cls, DiagnosisClass::kPaused) << Describe(d) << Rerun(seed);
    EXPECT_GE(d->revision->account.longest_pause_ms, 2000u) << Describe(d);
  }
}

// A crash: `process_down` (the port refuses); started again, the member's
// new process says so — `crashed`.
TEST(DiagnosisSimulation, ACrashedMemberIsProcessDownAndComesBackCrashed) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    ASSERT_TRUE(sim.CrashAndAwaitDeath("n5")) << Rerun(seed);
    const membership::Diagnosis* d = DiagnosisOf(sim, "n5");
    ASSERT_TRUE(d) << Rerun(seed);
    EXPECT_EQ(d->cls, DiagnosisClass::kProcessDown) << Describe(d) << Rerun(seed);
    sim.Start("n5");
    ASSERT_TRUE(Converge(sim)) << Rerun(seed);
    d = DiagnosisOf(sim, "n5");
    ASSERT_TRUE(d && d->revision) << Describe(d) << Rerun(seed);
    EXPECT_EQ(d->revision->cls, DiagnosisClass::kCrashed) << Describe(d) << Rerun(seed);
    EXPECT_TRUE(d->revision->account.restarted);
    // The revision is in every view, with its event.
    EXPECT_TRUE(sim.ViewsIdentical());
    bool revised = false;
    for (const auto& e : sim.agent("n2").core->view().events())
      revised = revised || (e.kind == membership::EventKind::kRevised && e.member == "n5" &&
                            e.diagnosis == DiagnosisClass::kCrashed);
    EXPECT_TRUE(revised) << Rerun(seed);
  }
}

}  // namespace
}  // namespace ringwatch::agent::sim
