// Lifecycle in the whole-agent simulation (tests/agent/core/agent_sim.h):
// planned restarts (SIGTERM) keep the ring; a restart that does not come
// back within cluster.restart_grace is a death of class `stopped`.
#include <gtest/gtest.h>

#include <random>
#include <set>

#include "membership/view.h"
#include "tests/agent/core/agent_sim.h"

namespace ringwatch::agent::sim {
namespace {

using namespace std::chrono_literals;

// Event kinds committed after `from_seq`, in the view of `who`.
std::vector<membership::Event> EventsSince(const AgentSim& sim, const std::string& who,
                                           uint64_t from_seq) {
  std::vector<membership::Event> out;
  for (const membership::Event& e : sim.agents().at(who).core->view().events())
    if (e.seq >= from_seq) out.push_back(e);
  return out;
}

std::string Kinds(const std::vector<membership::Event>& events) {
  std::string out;
  for (const auto& e : events)
    out += std::string(membership::ToString(e.kind)) + ":" + e.member + " ";
  return out;
}

std::string Dump(AgentSim& sim) {
  std::string out;
  for (const auto& [id, a] : sim.agents()) {
    const auto* n = a.core->node();
    out += id + (a.up ? "" : " (down)") + " role=" + raft::ToString(n->role()) +
           " leader=" + a.core->leader() + " term=" + std::to_string(n->term().value) +
           " commit=" + std::to_string(n->log().committed().value) +
           " last=" + std::to_string(n->log().last_index().value) +
           (n->quarantined() ? " QUARANTINED" : "") + " conf=";
    for (const auto& v : n->conf().voters)
      out += v.value + ",";
    out += "/";
    for (const auto& l : n->conf().learners)
      out += l.value + ",";
    out += " view:";
    for (const auto& [mid, m] : a.core->view().members())
      out += " " + mid + "=" + membership::ToString(m.state) + "#" +
             std::to_string(m.info.incarnation % 10000);
    out += "\n";
  }
  return out;
}

// An up agent other than `but`.
std::string AnyUpBut(const AgentSim& sim, const std::string& but) {
  for (const auto& [id, a] : sim.agents())
    if (a.up && id != but) return id;
  return "";
}

// Every agent, one after the other (the leader included, wherever it is in
// the order), gets SIGTERM and starts again a second after it exited — what
// a package upgrade does. The ring's version never moves; the log holds one
// `restarting` and one `returned` per member and no death, leave or join;
// at the end every member is alive in one view.
TEST(LifecycleSimulation, ARollingRestartKeepsTheRingAndCommitsNoDeathLeaveOrJoin) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllJoined(); }, 30s)) << Rerun(seed);
    sim.Run(3s);
    const std::string first = sim.ids().front();
    const uint64_t ring_version = sim.agent(first).core->view().ring_version().value;
    const uint64_t from_seq = sim.agent(first).core->view().next_event_seq();
    for (const std::string& id : sim.ids()) {
      sim.Stop(id, StopMode::kRestart);
      ASSERT_TRUE(sim.RunUntil([&] { return sim.agent(id).stopped; }, 5s))
          << id << " did not finish its stop; " << Rerun(seed);
      ASSERT_FALSE(sim.agent(id).completions.empty());
      EXPECT_EQ(sim.agent(id).completions.back().status, 200)
          << sim.agent(id).completions.back().message << "; " << Rerun(seed);
      if (seed % 2 == 0) {
        EXPECT_TRUE(sim.RunUntil([&] { return sim.StateEverywhere(id) == "restarting"; }, 1s))
            << id << "; " << Rerun(seed);
      }
      // Nothing moves while it is away: the ring keeps it. (Away for a
      // second; on odd seeds it is back at once, as `systemctl restart` is.)
      bool ring_kept = true;
      sim.RunUntil(
          [&] {
            for (const auto& [other, a] : sim.agents())
              if (a.up && a.core->view().ring_version().value != ring_version) ring_kept = false;
            return false;
          },
          seed % 2 ? 0s : 1s);
      EXPECT_TRUE(ring_kept) << "the ring moved while " << id << " restarted; " << Rerun(seed);
      // On odd seeds the leader's Raft messages reach the returning agent
      // only after 1.5 s (a reconnect backoff): its return commits before
      // its own view knows it, and it must not be declared dead meanwhile.
      if (seed % 2) sim.raft_deaf_until_ms_[id] = sim.NowMs() + 1500;
      sim.Start(id);
      ASSERT_TRUE(sim.RunUntil(
          [&] { return sim.StateEverywhere(id) == "alive" && sim.agent(id).core->Ready(); }, 10s))
          << id << " did not return; " << Rerun(seed);
    }
    sim.Run(2s);
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
    for (const auto& [id, a] : sim.agents()) {
      ASSERT_TRUE(a.up) << id;
      EXPECT_EQ(a.core->view().ring_version().value, ring_version)
          << "the ring moved in " << id << "'s view; " << Rerun(seed);
      for (const std::string& member : sim.ids())
        EXPECT_EQ(sim.StateIn(id, member), "alive")
            << member << " in " << id << "; " << Rerun(seed);
    }
    const auto events = EventsSince(sim, first, from_seq);
    std::map<std::string, int> restarting, returned;
    for (const auto& e : events) {
      using K = membership::EventKind;
      EXPECT_TRUE(e.kind == K::kRestarting || e.kind == K::kReturned || e.kind == K::kLeader)
          << "unexpected event " << membership::ToString(e.kind) << " of " << e.member
          << "; events: " << Kinds(events) << Rerun(seed);
      if (e.kind == K::kRestarting) ++restarting[e.member];
      if (e.kind == K::kReturned) ++returned[e.member];
    }
    for (const std::string& id : sim.ids()) {
      EXPECT_EQ(restarting[id], 1) << id << "; events: " << Kinds(events) << Rerun(seed);
      EXPECT_EQ(returned[id], 1) << id << "; events: " << Kinds(events) << Rerun(seed);
    }
  }
}

// A planned restart that is not back within the grace: `dead`, class
// `stopped`, decided by the leader once the grace has run out (not before);
// the ring moves once. Started again later, the member comes back through
// its probation like any dead member.
TEST(LifecycleSimulation, ARestartThatOutstaysTheGraceIsDeadWithClassStopped) {
  for (uint64_t seed : SeedList()) {
    SimOptions o;
    o.restart_grace = 5s;
    AgentSim sim(seed, o);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllJoined(); }, 30s)) << Rerun(seed);
    sim.Run(3s);
    // The leader, on even seeds: it hands over first.
    const std::string id = seed % 2 == 0 ? sim.Leader() : "n4";
    ASSERT_FALSE(id.empty()) << Rerun(seed);
    const std::string watcher = AnyUpBut(sim, id);
    const uint64_t ring_version = sim.agent(watcher).core->view().ring_version().value;
    sim.Stop(id, StopMode::kRestart);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.agent(id).stopped; }, 5s)) << Rerun(seed);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.StateEverywhere(id) == "restarting"; }, 1s))
        << Rerun(seed);
    const int64_t since = sim.agent(watcher).core->view().Find(id)->since_ms;
    std::set<uint64_t> ring_versions;
    int64_t dead_at = -1;
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          for (const auto& [other, a] : sim.agents())
            if (a.up) ring_versions.insert(a.core->view().ring_version().value);
          const membership::Member* m = sim.agent(watcher).core->view().Find(id);
          if (dead_at < 0 && m->state == membership::MemberState::kDead) dead_at = m->since_ms;
          return sim.StateEverywhere(id) == "dead";
        },
        10s))
        << id << " is not dead 10 s after a 5 s grace; " << Rerun(seed);
    EXPECT_GE(dead_at - since, 5000) << "declared dead before the grace ran out; " << Rerun(seed);
    EXPECT_LE(dead_at - since, 6500) << Rerun(seed);
    const membership::Member* m = sim.agent(watcher).core->view().Find(id);
    ASSERT_TRUE(m->diagnosis) << Rerun(seed);
    EXPECT_EQ(m->diagnosis->cls, membership::DiagnosisClass::kStopped) << Rerun(seed);
    ring_versions.erase(ring_version);
    EXPECT_EQ(ring_versions.size(), 1u) << "the ring must move exactly once; " << Rerun(seed);
    EXPECT_EQ(sim.DeadEvents(), 1u) << Rerun(seed);

    sim.Start(id);
    EXPECT_TRUE(sim.RunUntil([&] { return sim.StateEverywhere(id) == "alive"; }, 15s))
        << id << " did not rejoin after its grace ran out; " << Rerun(seed);
    sim.Run(1s);
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
  }
}

// `ringwatch leave` (and SIGTERM with leave_on_terminate) still leave at once.
TEST(LifecycleSimulation, AStopWithLeaveStillLeaves) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllJoined(); }, 30s)) << Rerun(seed);
    sim.Run(2s);
    const uint64_t ring_version = sim.agent("n1").core->view().ring_version().value;
    sim.Stop("n5", StopMode::kLeave);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.agent("n5").stopped; }, 5s)) << Rerun(seed);
    sim.Run(500ms);
    EXPECT_EQ(sim.StateEverywhere("n5"), "left") << Rerun(seed);
    EXPECT_NE(sim.agent("n1").core->view().ring_version().value, ring_version) << Rerun(seed);
  }
}

// A member whose wal lost its tail (entries it had acknowledged) comes back
// behind the leader's match for it: the leader repairs it, and it is alive
// again with the cluster's committed history. Learners and voters, the
// leader's followers in turn.
TEST(LifecycleSimulation, AMemberThatLostItsWalTailIsRepaired) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllJoined(); }, 30s)) << Rerun(seed);
    sim.Run(2s);
    const std::string leader = sim.Leader();
    ASSERT_FALSE(leader.empty()) << Rerun(seed);
    // Learners and voters in turn; a short tail, or all but the first entry
    // (the view then lacks even the leader's address).
    std::string id = sim.ids()[seed % sim.ids().size()];
    if (id == leader) id = AnyUpBut(sim, leader);
    const std::size_t lost = seed % 2 ? 1 + seed % 6 : 1000;
    sim.LoseTail(id, lost);
    sim.Start(id);
    const bool repaired = sim.RunUntil(
        [&] {
          const std::string l = sim.Leader();
          if (l.empty() || !sim.agent(id).up) return false;
          const auto* me = sim.agent(id).core->node();
          const auto* lead = sim.agent(l).core->node();
          return me->log().committed() == lead->log().committed() &&
                 sim.StateEverywhere(id) == "alive";
        },
        10s);
    EXPECT_TRUE(repaired) << id << " lost " << lost << " entries and was not repaired; "
                          << Rerun(seed);
    sim.Run(1s);
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
  }
}

// A slow disk: every save of one member (a voter — the leader on even
// seeds) takes 500 ms. Its saves run off the core (CoreEffects::persist),
// so its heartbeats keep their pace: nobody suspects it, nothing is
// declared dead, and the cluster keeps committing (members restart and
// return meanwhile) with it in the view.
TEST(LifecycleSimulation, ASlowDiskDoesNotGetItsMemberSuspected) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllJoined(); }, 30s)) << Rerun(seed);
    sim.Run(2s);
    const std::string slow = seed % 2 == 0 ? sim.Leader() : "n2";
    ASSERT_FALSE(slow.empty()) << Rerun(seed);
    sim.agent(slow).persist_delay = 500ms;
    const uint64_t before = sim.agent(slow).core->node()->log().committed().value;
    // Work for the log: n4 and n5 restart and return, in turn.
    for (const std::string id : {"n4", "n5", "n4", "n5"}) {
      sim.Stop(id, StopMode::kRestart);
      ASSERT_TRUE(sim.RunUntil([&] { return sim.agent(id).stopped; }, 10s)) << Rerun(seed);
      sim.Run(1s);
      sim.Start(id);
      ASSERT_TRUE(sim.RunUntil([&] { return sim.StateEverywhere(id) == "alive"; }, 20s))
          << id << " did not return with a slow disk at " << slow << "; " << Rerun(seed);
    }
    sim.Run(3s);
    EXPECT_GT(sim.agent(slow).core->node()->log().committed().value, before + 4)
        << "the slow member keeps up; " << Rerun(seed);
    for (const auto& [id, a] : sim.agents()) {
      auto it = a.suspicions.find(slow);
      EXPECT_TRUE(it == a.suspicions.end()) << id << " suspected " << slow << "; " << Rerun(seed);
    }
    EXPECT_EQ(sim.DeadEvents(), 0u) << Rerun(seed);
    EXPECT_EQ(sim.StateEverywhere(slow), "alive") << Rerun(seed);
  }
}

// Voters of `sim`'s leader's configuration.
std::set<std::string> Voters(AgentSim& sim) {
  std::set<std::string> out;
  const std::string leader = sim.Leader();
  if (leader.empty()) return out;
  for (const auto& v : sim.agent(leader).core->node()->conf().voters)
    out.insert(v.value);
  return out;
}

// The key `viewer`'s view registers for member `id` ("" for none or no such member).
std::string Identity(const SimAgent& viewer, const std::string& id) {
  const membership::Member* m = viewer.core->view().Find(id);
  return m ? m->info.identity : "";
}

// A replaced disk: a learner's and then a voter's Raft state is wiped (the
// leader's, on even seeds). Each comes back as a member with the cluster's
// history; the voter, quarantined, never votes under its old identity —
// the leader removes it from the configuration, it returns as a learner
// and is promoted again. One history at every step.
TEST(LifecycleSimulation, MembersWhoseRaftStateIsWipedComeBackAndNoCommittedEntryIsLost) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    sim.check_history_ = true;
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllJoined(); }, 30s)) << Rerun(seed);
    sim.Run(12s);  // autopilot settles: three voters
    ASSERT_EQ(Voters(sim).size(), 3u) << Rerun(seed);
    const std::string learner = seed % 3 ? "n4" : "n5";
    sim.Wipe(learner);
    sim.Start(learner);
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          return sim.StateEverywhere(learner) == "alive" && sim.agent(learner).core->Ready() &&
                 !sim.agent(learner).core->node()->quarantined();
        },
        20s))
        << learner << " did not come back\n"
        << Rerun(seed);

    std::string voter = sim.Leader();
    if (seed % 2)
      voter = *Voters(sim).begin() == voter ? *Voters(sim).rbegin() : *Voters(sim).begin();
    ASSERT_FALSE(voter.empty()) << Rerun(seed);
    sim.Wipe(voter);
    sim.Start(voter);
    ASSERT_TRUE(sim.agent(voter).core->node()->quarantined()) << Rerun(seed);
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          return sim.StateEverywhere(voter) == "alive" && sim.agent(voter).core->Ready() &&
                 !sim.agent(voter).core->node()->quarantined();
        },
        30s))
        << voter << " did not come back\n"
        << Rerun(seed);
    // Autopilot brings the voter count back (it, or another member).
    EXPECT_TRUE(sim.RunUntil([&] { return Voters(sim).size() == 3; }, 30s)) << Rerun(seed);
    sim.Run(2s);
    EXPECT_EQ(sim.history_violation(), "") << Rerun(seed);
    EXPECT_TRUE(sim.ViewsIdentical()) << Rerun(seed);
    // The key went with the disk: every view registers the new one.
    for (const std::string& id : {learner, voter})
      for (const auto& [other, a] : sim.agents())
        EXPECT_EQ(Identity(a, id), sim.agent(id).identity.public_key)
            << id << " in " << other << "'s view\n"
            << Rerun(seed);
  }
}

// Honest agents never refuse each other: through joins, a crash and a
// restart (the same identity, a new incarnation), a planned restart and a
// leave, no input is refused (bad_identity, replay), and every view
// registers each member's own key.
TEST(LifecycleSimulation, HonestAgentsRefuseNothingAndEveryViewHoldsTheirKeys) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    auto everywhere_alive = [&] {
      for (const auto& [id, a] : sim.agents())
        if (sim.StateEverywhere(id) != "alive") return false;
      return true;
    };
    ASSERT_TRUE(sim.RunUntil(everywhere_alive, 30s)) << Rerun(seed);
    for (const auto& [id, a] : sim.agents())
      for (const auto& [other, b] : sim.agents())
        EXPECT_EQ(Identity(b, id), a.identity.public_key) << id << " in " << other << "'s view\n"
                                                          << Rerun(seed);
    sim.Crash("n4");
    ASSERT_TRUE(sim.RunUntil([&] { return sim.StateEverywhere("n4") == "dead"; }, 10s))
        << Rerun(seed);
    sim.Start("n4");
    sim.Stop("n2", StopMode::kRestart);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.StateEverywhere("n2") == "restarting"; }, 10s))
        << Rerun(seed);
    sim.Start("n2");
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          return sim.StateEverywhere("n2") == "alive" && sim.StateEverywhere("n4") == "alive";
        },
        30s))
        << Rerun(seed);
    sim.Stop("n5", StopMode::kLeave);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.StateEverywhere("n5") == "left"; }, 10s))
        << Rerun(seed);
    sim.Run(3s);
    for (const auto& [id, a] : sim.agents())
      for (const auto& [reason, count] : a.refused)
        ADD_FAILURE() << id << " refused " << count << " input(s): " << reason << "\n"
                      << Rerun(seed);
  }
}

// Lifecycle events at random under crash and partition schedules: crashes
// and restarts, planned restarts (back at once, later, or after the grace),
// wiped disks, lost wal tails (learners), minority partitions. At every
// step one history; at the end, healed and everyone started, one
// all-alive view.
TEST(LifecycleSimulation, RandomLifecycleSchedulesKeepOneHistory) {
  for (uint64_t seed : SeedList()) {
    SimOptions o;
    o.restart_grace = 4s;
    AgentSim sim(seed, o);
    sim.check_history_ = true;
    ASSERT_TRUE(sim.RunUntil([&] { return sim.AllJoined(); }, 30s)) << Rerun(seed);
    sim.Run(12s);
    std::mt19937_64 rng(seed);
    auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
    std::string log;
    for (int step = 0; step < 16; ++step) {
      const std::string id = sim.ids()[static_cast<std::size_t>(pick(5))];
      const int what = pick(6);
      // (A lost tail of acknowledged entries on a voter is more than Raft
      // can survive — nothing tells it apart from a torn write — so only
      // learners lose tails here; replaced disks, detected, on anyone.)
      const std::set<std::string> voters = Voters(sim);
      const bool learner = !voters.empty() && !voters.count(id);
      bool voter_ever = false;
      for (const auto& [other, a] : sim.agents())
        voter_ever = voter_ever || a.core->node()->conf().voters.count(raft::NodeId{id}) > 0;
      if (!sim.agent(id).up) {
        sim.Start(id);
        log += "start " + id + "; ";
      } else if (what == 0) {
        sim.Crash(id);
        log += "crash " + id + "; ";
      } else if (what == 1) {
        sim.Stop(id, StopMode::kRestart);
        log += "restart-notice " + id + "; ";
      } else if (what == 2) {
        // One disk at a time: wait until nobody is quarantined.
        bool calm = true;
        for (const auto& [other, a] : sim.agents())
          calm = calm && a.up && !a.core->node()->quarantined();
        if (!calm) continue;
        sim.Wipe(id);
        sim.Start(id);
        log += "wipe " + id + "; ";
      } else if (what == 3 && learner && !voter_ever) {
        sim.LoseTail(id, 1 + static_cast<std::size_t>(pick(8)));
        sim.Start(id);
        log += "lose-tail " + id + "; ";
      } else if (what == 4) {
        sim.side_ = {id};
        log += "isolate " + id + "; ";
      } else {
        sim.side_.clear();
        log += "heal; ";
      }
      sim.Run(std::chrono::milliseconds(250 + 250 * pick(12)));
      ASSERT_EQ(sim.history_violation(), "") << "after: " << log << Rerun(seed);
    }
    sim.side_.clear();
    sim.RunUntil(  // stops under way finish first
        [&] {
          for (const auto& [id, a] : sim.agents())
            if (a.up && a.core->stopping()) return false;
          return true;
        },
        10s);
    for (const std::string& id : sim.ids())
      if (!sim.agent(id).up) sim.Start(id);
    const bool converged = sim.RunUntil(
        [&] {
          for (const std::string& id : sim.ids())
            if (sim.StateEverywhere(id) != "alive") return false;
          return sim.ViewsIdentical();
        },
        60s);
    EXPECT_TRUE(converged) << "after: " << log << "\n" << Dump(sim) << Rerun(seed);
    EXPECT_EQ(sim.history_violation(), "") << "after: " << log << Rerun(seed);
  }
}

}  // namespace
}  // namespace ringwatch::agent::sim
