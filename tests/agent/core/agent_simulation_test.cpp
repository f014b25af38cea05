// The whole-agent simulation (tests/agent/core/agent_sim.h): the runtime's
// AgentCore, many of them, on a simulated clock and network. Every test
// runs RINGWATCH_AGENT_SIM_SEEDS seeds (default 20; the 1000-member tests
// fewer); a failing seed prints how to re-run it alone.
#include <gtest/gtest.h>

#include <iostream>

#include "membership/view.h"
#include "tests/agent/core/agent_sim.h"
#include "tests/support/scenario.h"

namespace ringwatch::agent::sim {
namespace {

using namespace std::chrono_literals;

std::vector<std::string> Addresses(std::initializer_list<const char*> ids) {
  std::vector<std::string> out;
  for (const char* id : ids)
    out.push_back(AddressOf(id));
  return out;
}

// The simulated time by which every agent of `sim` was alive in its own
// view (ms since its start), or -1.
int64_t LastJoinMs(const AgentSim& sim) {
  int64_t last = 0;
  for (const auto& [id, a] : sim.agents()) {
    if (!a.joined_at_ms) return -1;
    last = std::max(last, *a.joined_at_ms);
  }
  return last;
}

std::string Dump(const AgentSim& sim) {
  std::string out;
  for (const auto& [id, a] : sim.agents()) {
    out += id + (a.up ? "" : " (down)") + " role=" + raft::ToString(a.core->node()->role()) +
           " leader=" + a.core->leader() +
           " commit=" + std::to_string(a.core->node()->log().committed().value) +
           " alive=" + (a.core->coordinator().Alive() ? "yes" : "no") +
           " joins=" + std::to_string(a.core->coordinator().join_attempts()) +
           " conf=" + std::to_string(a.core->node()->conf().voters.size()) + "+" +
           std::to_string(a.core->node()->conf().learners.size()) + " watching:";
    for (const PeerView& p : a.core->Peers(sim.Now()))
      out += " " + p.id + (p.suspected ? "(suspected)" : "") + (p.heard ? "" : "(unheard)");
    out += " view:";
    for (const auto& [mid, m] : a.core->view().members())
      out += " " + mid + "=" + membership::ToString(m.state);
    out += "\n";
  }
  return out;
}

// Seed topologies: whatever the seed list, every agent joins. Voters n1..n3
// bootstrap; the others join through what they are given. Time to join is
// printed (simulated time, from the start).
struct Topology {
  const char* name;
  std::vector<std::string> seeds;  // of every agent
  // Agents started with other seeds than `seeds`, after the rest have joined.
  std::map<std::string, std::vector<std::string>> late;
};

class SeedTopologies : public ::testing::TestWithParam<Topology> {};

TEST_P(SeedTopologies, EveryAgentJoins) {
  const Topology& topology = GetParam();
  std::vector<int64_t> join_ms;
  for (uint64_t seed : SeedList()) {
    SimOptions o;
    o.members = 5;
    o.seeds = topology.seeds;
    o.start.emplace();
    for (const auto& id : {"n1", "n2", "n3", "n4", "n5"})
      if (!topology.late.count(id)) o.start->push_back(id);
    AgentSim sim(seed, o);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllJoined(); }, 30s))
        << topology.name << ": not every agent joined\n"
        << Dump(sim) << Rerun(seed);
    for (const auto& [id, seeds] : topology.late)
      sim.Start(id, seeds);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllJoined(); }, 30s))
        << topology.name << ": a late agent did not join\n"
        << Dump(sim) << Rerun(seed);
    sim.Run(1s);
    for (const auto& id : sim.ids())
      EXPECT_EQ(sim.StateEverywhere(id), "alive") << id << "\n" << Dump(sim) << Rerun(seed);
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
    join_ms.push_back(LastJoinMs(sim));
  }
  std::sort(join_ms.begin(), join_ms.end());
  std::cout << topology.name << ": every agent joined by " << join_ms[join_ms.size() / 2]
            << " ms (median of " << join_ms.size() << " seeds; max " << join_ms.back()
            << " ms) of simulated time\n";
}

INSTANTIATE_TEST_SUITE_P(
    AgentSimulation, SeedTopologies,
    ::testing::Values(
        // Every agent seeded with every agent (itself included).
        Topology{"all agents", Addresses({"n1", "n2", "n3", "n4", "n5"}), {}},
        // The usual deployment: seeds are the voters (Consul's retry_join to servers).
        Topology{"voters only", Addresses({"n1", "n2", "n3"}), {}},
        // One seed: a voter.
        Topology{"one voter", Addresses({"n2"}), {}},
        // n5 knows only n4, a learner (itself seeded with the voters).
        Topology{"a single learner", Addresses({"n1", "n2", "n3"}), {{"n5", Addresses({"n4"})}}},
        // A dead seed first, then a live one; and a name that resolves to nothing.
        Topology{"dead seed first",
                 {"n9:7420", "nowhere.invalid:7420", "n1:7420", "n2:7420", "n3:7420"},
                 {}},
        // The agent itself first in its own list.
        Topology{"itself first", Addresses({"n1", "n2", "n3"}), {{"n4", Addresses({"n4", "n3"})}}}),
    [](const auto& info) {
      std::string name = info.param.name;
      for (char& c : name)
        if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
      return name;
    });

// The scenario scripts that real agents replay too
// (tests/agent/scenario_process_test.cpp): the simulation must commit the
// golden events, so the runtime and the simulation cannot drift apart.
std::string RunScenario(const testing::Scenario& scenario, uint64_t seed, std::string* failure) {
  SimOptions o;
  o.members = scenario.members;
  o.voters = static_cast<int>(scenario.voters.size());
  for (std::size_t i = 0; i < scenario.voters.size(); ++i)
    if (scenario.voters[i] != "n" + std::to_string(i + 1)) {
      *failure = "the simulation's voters are n1..nV";
      return "";
    }
  for (const auto& id : scenario.seeds)
    o.seeds.push_back(AddressOf(id));
  o.start.emplace();
  AgentSim sim(seed, o);
  for (const testing::ScenarioStep& step : scenario.steps) {
    const std::string where = "line " + std::to_string(step.line) + " (" + step.verb + "): ";
    if (step.verb == "start") {
      for (const auto& id : step.ids)
        sim.Start(id);
    } else if (step.verb == "await") {
      if (!sim.AwaitEverywhere(step.ids, step.state, 60s)) {
        *failure = where + "not reached in 60 s\n" + Dump(sim);
        return "";
      }
    } else if (step.verb == "kill") {
      for (const auto& id : step.ids)
        sim.Crash(id);
    } else if (step.verb == "leave") {
      for (const auto& id : step.ids) {
        sim.Stop(id, StopMode::kLeave);
        if (!sim.RunUntil([&] { return sim.agent(id).stopped; }, 10s)) {
          *failure = where + id + " did not stop\n" + Dump(sim);
          return "";
        }
      }
    }
  }
  sim.Run(1s);
  for (const auto& [id, a] : sim.agents()) {
    if (!a.up) continue;
    std::vector<testing::ScenarioEvent> events;
    for (const membership::Event& e : a.core->view().events())
      events.push_back({membership::ToString(e.kind), e.member,
                        e.diagnosis ? membership::ToString(*e.diagnosis) : ""});
    return testing::FormatScenarioEvents(scenario, events);
  }
  *failure = "no agent running at the end";
  return "";
}

TEST(AgentSimulation, ScenarioJoinKillRejoinLeaveCommitsTheGoldenEvents) {
  std::string error;
  const auto scenario =
      testing::ParseScenario(testing::ScenarioText("join_kill_rejoin_leave"), &error);
  ASSERT_TRUE(scenario) << error;
  const std::string golden = testing::ScenarioGolden("join_kill_rejoin_leave");
  ASSERT_FALSE(golden.empty());
  for (uint64_t seed : SeedList()) {
    std::string failure;
    const std::string events = RunScenario(*scenario, seed, &failure);
    ASSERT_TRUE(failure.empty()) << failure << Rerun(seed);
    EXPECT_EQ(events, golden) << Rerun(seed);
  }
}

// Five agents form one view; a crashed member is dead in every live view
// within a bound (2 s of simulated time after the crash); views are
// byte-identical wherever the same entries are applied.
TEST(AgentSimulation, CrashedMemberIsDeadEverywhereWithinTheBound) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    for (const auto& id : sim.ids())
      ASSERT_EQ(sim.StateEverywhere(id), "alive") << id << " " << Dump(sim) << Rerun(seed);
    ASSERT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
    std::string victim = "n" + std::to_string(1 + seed % 5);
    EXPECT_TRUE(sim.CrashAndAwaitDeath(victim))
        << victim << " not dead everywhere 2 s after its crash; " << Rerun(seed);
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
    EXPECT_EQ(sim.DeadEvents(), 1u) << "only the crashed member; " << Rerun(seed);
  }
}

// A member that restarts (a new incarnation its observers hear) and crashes
// again before its re-join commits is still declared dead: the reports speak
// of the incarnation in the committed view.
TEST(AgentSimulation, AMemberThatDiesBeforeItsRejoinCommitsIsStillDeclaredDead) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    const std::string victim = "n" + std::to_string(4 + seed % 2);  // a learner
    const uint64_t old_incarnation = sim.agent(victim).core->view().Find(victim)->info.incarnation;
    sim.mute_membership_.insert(victim);  // its join requests never reach the leader
    sim.Start(victim);
    sim.Run(1s);
    ASSERT_GT(sim.agent(victim).core->self().incarnation, old_incarnation);
    ASSERT_EQ(sim.agent("n1").core->view().Find(victim)->info.incarnation, old_incarnation)
        << "the re-join did not commit; " << Rerun(seed);
    EXPECT_TRUE(sim.CrashAndAwaitDeath(victim))
        << victim << " not dead everywhere 2 s after its crash; " << Rerun(seed);
  }
}

// Heartbeat jitter (0-20 ms) and 2 % loss for a simulated minute kill nobody.
TEST(AgentSimulation, JitterAndLossWithinBoundsCauseNoMarkDead) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    sim.jitter_ms_ = 20;
    sim.loss_per_10000_ = 200;
    sim.Run(60s);
    EXPECT_EQ(sim.DeadEvents(), 0u) << Rerun(seed);
    for (const auto& id : sim.ids())
      EXPECT_EQ(sim.StateEverywhere(id), "alive") << id << " " << Rerun(seed);
  }
}

// One bad link — every heartbeat from one member to one of its observers
// lost — never kills the member: the other observers still hear it.
TEST(AgentSimulation, ASingleLossyLinkCausesNoMarkDead) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    std::string member = "n" + std::to_string(1 + seed % 5);
    std::string observer = "n" + std::to_string(1 + (seed + 2) % 5);
    sim.lossy_links_.insert({member, observer});
    sim.Run(30s);
    // The bad link is seen: the leader holds the observer's suspicion ...
    const std::string leader = sim.Leader();
    ASSERT_FALSE(leader.empty()) << Rerun(seed);
    EXPECT_EQ(sim.agent(leader).core->coordinator().Suspicions(member, sim.Now()), 1u)
        << Rerun(seed);
    // ... and one suspicion is not a majority of the member's observers.
    EXPECT_EQ(sim.DeadEvents(), 0u) << member << " via " << observer << "; " << Rerun(seed);
    EXPECT_EQ(sim.StateEverywhere(member), "alive") << Rerun(seed);
  }
}

// A 2|3 partition with one voter on the small side: the small side commits
// nothing; the large side (two voters) declares the two cut-off members dead
// (host_down: their ports time out, nobody on the large side hears them);
// after healing, every agent converges to one view with everyone alive again.
TEST(AgentSimulation, MinorityPartitionCommitsNothingAndRejoinsAfterHealing) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});  // voters n1..n3
    sim.Run(5s);
    const std::vector<std::string> minority = {"n1", "n4"}, majority = {"n2", "n3", "n5"};
    const uint64_t minority_commit = sim.agent("n1").core->node()->log().committed().value;
    sim.side_ = {minority.begin(), minority.end()};
    sim.Run(10s);
    EXPECT_EQ(sim.agent("n1").core->node()->log().committed().value, minority_commit)
        << "the minority committed something; " << Rerun(seed);
    EXPECT_EQ(sim.agent("n4").core->node()->log().committed().value, minority_commit)
        << Rerun(seed);
    for (const auto& observer : majority) {
      for (const auto& cut : minority) {
        EXPECT_EQ(sim.StateIn(observer, cut), "dead")
            << observer << " sees " << cut << "; " << Rerun(seed);
        const membership::Member* m = sim.agent(observer).core->view().Find(cut);
        if (m && m->diagnosis) {
          EXPECT_TRUE(m->diagnosis->cls == membership::DiagnosisClass::kHostDown ||
                      m->diagnosis->cls == membership::DiagnosisClass::kPartition)
              << membership::ToString(m->diagnosis->cls) << "; " << Rerun(seed);
        }
      }
      for (const auto& other : majority)
        EXPECT_EQ(sim.StateIn(observer, other), "alive") << Rerun(seed);
    }
    sim.side_.clear();
    const bool converged = sim.AwaitAllAlive(30s);
    EXPECT_TRUE(converged) << "no single all-alive view 30 s after healing\n"
                           << Dump(sim) << Rerun(seed);
  }
}

// A graceful leave through the core's stop sequence: a leaving leader hands
// over first, the Leave commits, the member is `left` everywhere.
TEST(AgentSimulation, AGracefulStopWithLeaveCommitsTheLeaveAndHandsLeadershipOver) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.Run(5s);
    const std::string leader = sim.Leader();
    ASSERT_FALSE(leader.empty()) << Rerun(seed);
    sim.Stop(leader, StopMode::kLeave);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.agent(leader).stopped; }, 5s))
        << leader << " never finished its stop sequence; " << Rerun(seed);
    ASSERT_EQ(sim.agent(leader).completions.size(), 1u);
    EXPECT_EQ(sim.agent(leader).completions[0].status, 200)
        << sim.agent(leader).completions[0].message << "; " << Rerun(seed);
    sim.Run(1s);
    EXPECT_EQ(sim.StateEverywhere(leader), "left") << Rerun(seed);
    const std::string next = sim.Leader();
    EXPECT_FALSE(next.empty()) << "no leader after the hand-over; " << Rerun(seed);
    EXPECT_NE(next, leader);
    EXPECT_EQ(sim.DeadEvents(), 0u) << "a leave is not a death; " << Rerun(seed);
  }
}

// 1000 agents (voters n1..n3, 997 learners) seeded with the voters.
SimOptions ThousandSeededWithTheVoters(bool formed) {
  SimOptions o;
  o.members = 1000;
  o.formed = formed;
  o.seeds = Addresses({"n1", "n2", "n3"});
  return o;
}

// The same properties at 1000 members (3 voters, 997 learners, 5 observers
// each), from an already formed cluster: one view everywhere, jitter and
// loss within bounds kill nobody, nor does one lossy link, and a crashed
// member is dead in every live view within 2 s, the views byte-identical.
// Fewer seeds than the 5-member runs (RINGWATCH_AGENT_SIM_LARGE_SEEDS,
// default 2; none in the sanitizer pass).
TEST(AgentSimulation, ThousandMembersDetectACrashAndIgnoreJitterAndLoss) {
  const auto seeds = LargeSeedList(2);
  if (seeds.empty()) GTEST_SKIP() << "RINGWATCH_AGENT_SIM_LARGE_SEEDS=0 (the sanitizer pass)";
  for (uint64_t seed : seeds) {
    AgentSim sim(seed, ThousandSeededWithTheVoters(/*formed=*/true));
    sim.Run(3s);
    for (const auto& id : sim.ids())
      ASSERT_EQ(sim.StateEverywhere(id), "alive") << id << " " << Rerun(seed);
    ASSERT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
    // Watching is one-way at this size (an observer sends its subject
    // nothing), yet every observer knows its round trip to each subject:
    // heartbeats carry the round trips their sender measured.
    for (const std::string id : {"n4", "n500", "n999"})
      for (const PeerView& p : sim.agent(id).core->Peers(sim.Now()))
        EXPECT_TRUE(p.rtt_seconds.has_value()) << id << " has no RTT to " << p.id;

    sim.jitter_ms_ = 20;
    sim.loss_per_10000_ = 200;
    sim.Run(10s);
    EXPECT_EQ(sim.DeadEvents(), 0u) << "jitter and 2 % loss killed a member; " << Rerun(seed);

    // One member's heartbeats to one of its five observers all lost.
    const std::string member = "n" + std::to_string(1 + (seed * 577) % 1000);
    const auto observers = sim.agent(member).core->coordinator().HeartbeatTargets();
    ASSERT_EQ(observers.size(), 5u);
    sim.lossy_links_.insert({member, observers[seed % 5].id});
    sim.Run(5s);
    const std::string leader = sim.Leader();
    ASSERT_FALSE(leader.empty()) << Rerun(seed);
    EXPECT_EQ(sim.agent(leader).core->coordinator().Suspicions(member, sim.Now()), 1u)
        << member << "; " << Rerun(seed);
    EXPECT_EQ(sim.DeadEvents(), 0u) << "one lossy link killed " << member << "; " << Rerun(seed);
    sim.lossy_links_.clear();

    // A learner in one seed, a voter (perhaps the leader) in the next.
    std::string victim = seed % 2 ? "n" + std::to_string(4 + (seed * 389) % 997)
                                  : "n" + std::to_string(1 + seed % 3);
    EXPECT_TRUE(sim.CrashAndAwaitDeath(victim))
        << victim << " not dead everywhere 2 s after its crash; " << Rerun(seed);
    sim.Run(1s);
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
    EXPECT_EQ(sim.DeadEvents(), 1u) << "only the crashed member; " << Rerun(seed);
  }
}

// 1000 agents start at once, seeded with the 3 voters only: every one joins
// (a learner of the Raft group, alive in the one view). Time to join printed.
TEST(AgentSimulation, ThousandAgentsSeededWithTheVotersAllJoin) {
  const auto seeds = LargeSeedList(1);
  if (seeds.empty()) GTEST_SKIP() << "RINGWATCH_AGENT_SIM_LARGE_SEEDS=0 (the sanitizer pass)";
  for (uint64_t seed : seeds) {
    AgentSim sim(seed, ThousandSeededWithTheVoters(/*formed=*/false));
    std::size_t joined = 0;
    const bool all = sim.RunUntil(
        [&] {
          joined = 0;
          for (const auto& [id, a] : sim.agents())
            joined += a.joined_at_ms ? 1 : 0;
          return joined == sim.agents().size();
        },
        120s);
    if (!all) {
      for (const auto& [id, a] : sim.agents()) {
        if (a.joined_at_ms) continue;
        const auto* m = sim.agent("n1").core->view().Find(id);
        std::cerr << id << " not joined: leader=" << a.core->leader()
                  << " commit=" << a.core->node()->log().committed().value
                  << " joins=" << a.core->coordinator().join_attempts()
                  << " in n1's view: " << (m ? membership::ToString(m->state) : "absent")
                  << " n1 conf has it: "
                  << sim.agent("n1").core->node()->conf().Contains(raft::NodeId{id}) << "\n";
      }
    }
    ASSERT_TRUE(all) << joined << " of 1000 joined; " << Rerun(seed);
    std::vector<int64_t> times;
    for (const auto& [id, a] : sim.agents())
      times.push_back(*a.joined_at_ms);
    std::sort(times.begin(), times.end());
    std::cout << "1000 agents seeded with the 3 voters: median join " << times[500] << " ms, p99 "
              << times[990] << " ms, last " << times.back() << " ms of simulated time\n";
    sim.Run(2s);
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
    EXPECT_EQ(sim.DeadEvents(), 0u) << Rerun(seed);
  }
}

// A minority partition at 1000 members: one voter and two learners cut off
// from the other 997 (two voters). The small side commits nothing; the large
// side declares the three dead; after healing every agent converges to one
// byte-identical view with everyone alive again.
TEST(AgentSimulation, ThousandMembersMinorityPartitionCommitsNothingAndRejoins) {
  const auto seeds = LargeSeedList(1);
  if (seeds.empty()) GTEST_SKIP() << "RINGWATCH_AGENT_SIM_LARGE_SEEDS=0 (the sanitizer pass)";
  for (uint64_t seed : seeds) {
    AgentSim sim(seed, ThousandSeededWithTheVoters(/*formed=*/true));
    sim.Run(3s);
    const std::vector<std::string> minority = {"n1", "n" + std::to_string(100 + seed % 400),
                                               "n" + std::to_string(600 + seed % 400)};
    const uint64_t minority_commit = sim.agent("n1").core->node()->log().committed().value;
    sim.side_ = {minority.begin(), minority.end()};
    sim.Run(6s);
    for (const auto& id : minority) {
      EXPECT_LE(sim.agent(id).core->node()->log().committed().value, minority_commit)
          << id << " committed something; " << Rerun(seed);
      for (const auto& cut : minority)
        EXPECT_EQ(sim.StateIn(id, cut), "alive") << Rerun(seed);
    }
    for (const std::string observer : {"n2", "n3", "n500"})
      for (const auto& cut : minority)
        EXPECT_EQ(sim.StateIn(observer, cut), "dead")
            << observer << " sees " << cut << "; " << Rerun(seed);
    sim.side_.clear();
    bool converged = false;
    for (int i = 0; i < 30 && !converged; ++i) {  // up to 30 s, looked at once a second
      sim.Run(1s);
      converged = true;
      for (const auto& id : minority)
        converged = converged && sim.StateEverywhere(id) == "alive";
      converged = converged && sim.ViewsIdentical();
    }
    EXPECT_TRUE(converged) << "no single all-alive view 30 s after healing; " << Rerun(seed);
  }
}

}  // namespace
}  // namespace ringwatch::agent::sim
