// Locks in the whole-agent simulation (tests/agent/core/agent_sim.h): the
// replicated lock table and the agents' lock requests under crashes,
// partitions, planned restarts and TTLs, with a checker run after every
// step:
//   - one token, one holder: a token is never seen for two different
//     (lock, holder, member) in any view, nor granted to two holders;
//   - tokens only grow: in each agent's view (per life of its process), the
//     token of a lock name never goes down;
//   - a lock lives no longer than its member: in every view, each lock's
//     member is alive in that same view, in the lock's incarnation (so a
//     member declared dead, left or restarting holds nothing anywhere its
//     death has been applied).
// Five agents, n1..n3 voting.
#include <gtest/gtest.h>

#include <tuple>

#include "membership/view.h"
#include "tests/agent/core/agent_sim.h"

namespace ringwatch::agent::sim {
namespace {

using namespace std::chrono_literals;
using membership::MemberState;

class LockChecker {
 public:
  void Check(const AgentSim& sim) {
    for (const auto& [id, a] : sim.agents()) {
      if (!a.up || !a.core) continue;
      const membership::View& v = a.core->view();
      for (const auto& [name, l] : v.locks().locks()) {
        Seen(l.token, l.name, l.holder, l.member, "in the view of " + id);
        uint64_t& last = last_[{id, a.life, name}];
        if (l.token < last)
          Fail("token of " + name + " went down in the view of " + id + ": " +
               std::to_string(last) + " -> " + std::to_string(l.token));
        last = l.token;
        const membership::Member* m = v.Find(l.member);
        if (!m || m->state != MemberState::kAlive || m->info.incarnation != l.incarnation)
          Fail("lock " + name + " (token " + std::to_string(l.token) + ") held through " +
               l.member + ", which is " + (m ? membership::ToString(m->state) : "unknown") +
               " in the view of " + id);
      }
    }
  }
  // A 200 answer to an acquisition.
  void Granted(const membership::Lock& l, const std::string& through) {
    Seen(l.token, l.name, l.holder, l.member, "granted through " + through);
    ++grants_;
  }
  const std::string& violation() const { return violation_; }
  int grants() const { return grants_; }

 private:
  void Seen(uint64_t token, const std::string& name, const std::string& holder,
            const std::string& member, const std::string& where) {
    auto key = std::make_tuple(name, holder, member);
    auto [it, fresh] = by_token_.emplace(token, key);
    if (!fresh && it->second != key)
      Fail("token " + std::to_string(token) + " is " + name + "/" + holder + "@" + member + " " +
           where + ", but " + std::get<0>(it->second) + "/" + std::get<1>(it->second) + "@" +
           std::get<2>(it->second) + " before");
  }
  void Fail(const std::string& why) {
    if (violation_.empty()) violation_ = why;
  }
  std::map<uint64_t, std::tuple<std::string, std::string, std::string>> by_token_;
  std::map<std::tuple<std::string, uint64_t, std::string>, uint64_t> last_;
  std::string violation_;
  int grants_ = 0;
};

// Every agent's view of every member, for a failure message.
std::string States(AgentSim& sim) {
  std::string out;
  for (const auto& [id, a] : sim.agents()) {
    out += id + (a.up ? "" : " (down)") + ":";
    for (const std::string& m : sim.ids())
      out += " " + m + "=" + sim.StateIn(id, m);
    if (a.core) {
      const RaftView r = a.core->Raft();
      out += " leader=" + a.core->leader() + " role=" + r.role + " term=" + std::to_string(r.term) +
             " commit=" + std::to_string(r.commit_index) +
             " voters=" + std::to_string(r.voters.size()) + " why=" + a.core->NotReadyReason();
    }
    out += "\n";
  }
  return out;
}

// Runs `sim` for `d`, checking after every step.
void Checked(AgentSim& sim, LockChecker& checker, std::chrono::milliseconds d) {
  for (int64_t i = 0; i < d / kStep; ++i) {
    sim.StepOnce();
    checker.Check(sim);
  }
}

// The answer with `token` among `id`'s completions (taken out of them).
std::optional<Completion> TakeAnswer(AgentSim& sim, const std::string& id, uint64_t token) {
  auto& cs = sim.agent(id).completions;
  for (auto it = cs.begin(); it != cs.end(); ++it) {
    if (it->token != token) continue;
    Completion c = std::move(*it);
    cs.erase(it);
    return c;
  }
  return std::nullopt;
}

std::optional<Completion> AwaitAnswer(AgentSim& sim, LockChecker& checker, const std::string& id,
                                      uint64_t token, std::chrono::milliseconds limit) {
  std::optional<Completion> c;
  sim.RunUntil(
      [&] {
        checker.Check(sim);
        c = TakeAnswer(sim, id, token);
        return c.has_value();
      },
      limit);
  if (c && c->status == 200 && c->lock) checker.Granted(*c->lock, id);
  return c;
}

// Clients on every agent take, hold, renew and release three locks while
// members crash and come back, partitions come and go, and members restart
// on plan. Then everything heals: the views agree, and no lock outlives its
// member anywhere.
TEST(LockSimulation, LocksStaySafeUnderCrashesPartitionsAndRestarts) {
  for (uint64_t seed : SeedList()) {
    SimOptions options;
    // Members die again and again here: each death soon after a return
    // doubles the probation of the next return (up to 64 times).
    options.rejoin_probation = 100ms;
    AgentSim sim(seed, options);
    LockChecker checker;
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    std::mt19937_64 rng(seed);
    auto chance = [&](int per_1000) {
      return std::uniform_int_distribution<int>(0, 999)(rng) < per_1000;
    };
    struct Client {
      uint64_t request = 0;  // an answer awaited
      bool renewing = false;
      std::optional<membership::Lock> held;
      int64_t next_renew_ms = 0;
    };
    std::map<std::string, Client> clients;
    uint64_t next_token = 1000;              // the simulation's Stop answers as token 1
    std::map<std::string, int64_t> back_at;  // crashed or stopped agents: started again then
    int64_t heal_at = -1;
    for (int64_t step = 0; step < 60'000 / kStep.count(); ++step) {
      const int64_t now = sim.NowMs();
      // Faults, at most one at a time, every ~2 s.
      if (step % 80 == 40 && back_at.empty() && heal_at < 0) {
        const std::string victim =
            sim.ids()[std::uniform_int_distribution<std::size_t>(0, sim.ids().size() - 1)(rng)];
        switch (std::uniform_int_distribution<int>(0, 2)(rng)) {
          case 0:
            sim.Crash(victim);
            back_at[victim] = now + 1000;
            break;
          case 1:
            sim.side_ = {victim};
            if (chance(500)) sim.side_.insert(victim == "n1" ? "n2" : "n1");
            heal_at = now + 2500;
            break;
          case 2:
            sim.Stop(victim, StopMode::kRestart);
            back_at[victim] = now + 500;
            break;
        }
        clients.erase(victim);  // its clients' connections go with it
      }
      if (heal_at >= 0 && now >= heal_at) {
        sim.side_.clear();
        heal_at = -1;
      }
      for (auto it = back_at.begin(); it != back_at.end();) {
        if (now < it->second || sim.agent(it->first).up) {
          ++it;
          continue;
        }
        sim.Start(it->first);
        it = back_at.erase(it);
      }
      // Clients.
      for (const std::string& id : sim.ids()) {
        SimAgent& a = sim.agent(id);
        if (!a.up) continue;
        Client& c = clients[id];
        if (c.request) {
          auto answer = TakeAnswer(sim, id, c.request);
          if (!answer) continue;
          c.request = 0;
          if (c.renewing) {
            c.renewing = false;
            if (answer->status == 409) c.held.reset();  // lost
            continue;
          }
          if (answer->status == 200 && answer->lock && !c.held) {
            checker.Granted(*answer->lock, id);
            c.held = answer->lock;
            c.next_renew_ms = now + 500;
          } else if (c.held && answer->status == 200) {
            c.held.reset();  // released
          }
          continue;
        }
        if (c.held) {
          if (chance(25)) {
            c.request = next_token++;
            sim.ReleaseLock(id, c.held->name, c.held->token, c.request);
          } else if (c.held->ttl_ms && now >= c.next_renew_ms) {
            c.request = next_token++;
            c.renewing = true;
            c.next_renew_ms = now + 500;
            sim.RenewLock(id, c.held->name, c.held->token, c.request);
          }
          continue;
        }
        if (chance(50)) {
          LockRequest r;
          r.name = "L" + std::to_string(std::uniform_int_distribution<int>(0, 2)(rng));
          r.holder = "client-" + id + "-" + std::to_string(next_token);
          r.ttl_ms = chance(500) ? 2000 : 0;
          r.wait = chance(500) ? 2s : 0s;
          c.request = next_token++;
          sim.AcquireLock(id, r, c.request);
        }
      }
      sim.StepOnce();
      checker.Check(sim);
      ASSERT_EQ(checker.violation(), "") << "at " << sim.NowMs() << " ms; " << Rerun(seed);
    }
    // Heal and settle: every agent back (a stop under way finishes first),
    // the views the same everywhere.
    sim.side_.clear();
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          for (const auto& [id, a] : sim.agents())
            if (a.up && a.core->stopping()) return false;
          return true;
        },
        10s))
        << Rerun(seed);
    for (const std::string& id : sim.ids())
      if (!sim.agent(id).up) sim.Start(id);
    ASSERT_TRUE(sim.AwaitAllAlive(60s)) << States(sim) << Rerun(seed);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.ViewsIdentical(); }, 10s)) << Rerun(seed);
    checker.Check(sim);
    EXPECT_EQ(checker.violation(), "") << Rerun(seed);
    EXPECT_GT(checker.grants(), 20) << "the clients got locks; " << Rerun(seed);
  }
}

// A waiter through another agent takes the lock once the holder's agent
// crashes: the crash is detected (the fast path), the death commits and
// releases the lock in the same entry, and the waiter's agent proposes at
// once. Its token is larger.
TEST(LockSimulation, AWaiterGetsTheLockWhenItsHoldersAgentCrashes) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    LockChecker checker;
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    sim.AcquireLock("n4", {"db", "alice", 0, 0s}, 1001);
    auto first = AwaitAnswer(sim, checker, "n4", 1001, 2s);
    ASSERT_TRUE(first && first->status == 200) << Rerun(seed);
    sim.AcquireLock("n2", {"db", "bob", 0, 30s}, 1002);
    Checked(sim, checker, 1s);
    ASSERT_TRUE(sim.agent("n2").completions.empty()) << "bob waits; " << Rerun(seed);
    const int64_t crashed_at = sim.NowMs();
    sim.Crash("n4");
    auto second = AwaitAnswer(sim, checker, "n2", 1002, 5s);
    ASSERT_TRUE(second) << Rerun(seed);
    ASSERT_EQ(second->status, 200) << second->message << "; " << Rerun(seed);
    EXPECT_EQ(second->lock->holder, "bob");
    EXPECT_GT(second->lock->token, first->lock->token);
    EXPECT_LT(sim.NowMs() - crashed_at, 500) << "as fast as the crash is detected; " << Rerun(seed);
    const membership::Member* dead = sim.agent("n2").core->view().Find("n4");
    ASSERT_TRUE(dead);
    EXPECT_EQ(dead->state, MemberState::kDead);
    EXPECT_EQ(checker.violation(), "") << Rerun(seed);
  }
}

// The same when the holder's agent is the leader, and the waiter's a
// learner: a new leader is elected, commits the old one's death, and the
// learner's acquisition is committed and learned within a few round trips —
// not at the next learner keepalive.
TEST(LockSimulation, AWaiterOnALearnerGetsTheLockWhenTheLeaderHoldingItCrashes) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    LockChecker checker;
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    const std::string leader = sim.Leader();
    ASSERT_FALSE(leader.empty()) << Rerun(seed);
    sim.AcquireLock(leader, {"db", "alice", 0, 0s}, 1001);
    auto first = AwaitAnswer(sim, checker, leader, 1001, 2s);
    ASSERT_TRUE(first && first->status == 200) << Rerun(seed);
    sim.AcquireLock("n5", {"db", "bob", 0, 30s}, 1002);
    Checked(sim, checker, 1s);
    const int64_t crashed_at = sim.NowMs();
    sim.Crash(leader);
    auto second = AwaitAnswer(sim, checker, "n5", 1002, 5s);
    ASSERT_TRUE(second && second->status == 200) << Rerun(seed);
    EXPECT_GT(second->lock->token, first->lock->token);
    EXPECT_LT(sim.NowMs() - crashed_at, 400) << Rerun(seed);
    EXPECT_EQ(checker.violation(), "") << Rerun(seed);
  }
}

// A holder cut off alone keeps its lock in its own (stale) view; the
// majority declares it dead and gives the lock to a waiter with a larger
// token — which is what a resource that keeps the largest token uses to
// refuse the old holder. Healed, the old holder's view agrees.
TEST(LockSimulation, APartitionedHoldersLockGoesToTheMajorityWithALargerToken) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    LockChecker checker;
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    sim.AcquireLock("n5", {"db", "alice", 0, 0s}, 1001);
    auto first = AwaitAnswer(sim, checker, "n5", 1001, 2s);
    ASSERT_TRUE(first && first->status == 200) << Rerun(seed);
    sim.side_ = {"n5"};
    sim.AcquireLock("n3", {"db", "bob", 0, 30s}, 1002);
    auto second = AwaitAnswer(sim, checker, "n3", 1002, 10s);
    ASSERT_TRUE(second && second->status == 200) << Rerun(seed);
    EXPECT_GT(second->lock->token, first->lock->token);
    const membership::Lock* stale = sim.agent("n5").core->view().locks().Find("db");
    ASSERT_TRUE(stale) << "cut off, n5 has not heard; " << Rerun(seed);
    EXPECT_EQ(stale->token, first->lock->token);
    // Its renewals fail meanwhile: no leader, or none that commits.
    sim.RenewLock("n5", "db", first->lock->token, 1003);
    auto renewal = AwaitAnswer(sim, checker, "n5", 1003, 10s);
    ASSERT_TRUE(renewal) << Rerun(seed);
    EXPECT_NE(renewal->status, 200) << Rerun(seed);
    sim.side_.clear();
    ASSERT_TRUE(sim.AwaitAllAlive(60s)) << Rerun(seed);
    ASSERT_TRUE(sim.RunUntil([&] { return sim.ViewsIdentical(); }, 10s)) << Rerun(seed);
    const membership::Lock* now = sim.agent("n5").core->view().locks().Find("db");
    ASSERT_TRUE(now);
    EXPECT_EQ(now->holder, "bob");
    EXPECT_EQ(checker.violation(), "") << Rerun(seed);
  }
}

// A planned restart and a leave release the member's locks everywhere
// (the member's life ended, even if it returns at once).
TEST(LockSimulation, APlannedRestartOrALeaveReleasesTheMembersLocks) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    LockChecker checker;
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    for (auto [id, mode] : {std::pair{"n4", StopMode::kRestart}, {"n5", StopMode::kLeave}}) {
      sim.AcquireLock(id, {std::string("lock-") + id, "h", 0, 0s}, 1001);
      auto held = AwaitAnswer(sim, checker, id, 1001, 2s);
      ASSERT_TRUE(held && held->status == 200) << Rerun(seed);
      sim.Stop(id, mode);
      ASSERT_TRUE(sim.RunUntil(
          [&] {
            checker.Check(sim);
            for (const auto& [other, a] : sim.agents())
              if (a.up && a.core->view().locks().Find(std::string("lock-") + id)) return false;
            return true;
          },
          5s))
          << id << "; " << Rerun(seed);
    }
    EXPECT_EQ(checker.violation(), "") << Rerun(seed);
  }
}

// A lock with a TTL lives while it is renewed (through any agent) and
// expires, proposed by its own agent, once the renewals stop.
TEST(LockSimulation, ATtlLockLivesWhileRenewedThenExpires) {
  for (uint64_t seed : SeedList()) {
    AgentSim sim(seed, {});
    LockChecker checker;
    ASSERT_TRUE(sim.AwaitAllAlive(30s)) << Rerun(seed);
    sim.AcquireLock("n4", {"job", "cron", 2000, 0s}, 1001);
    auto held = AwaitAnswer(sim, checker, "n4", 1001, 2s);
    ASSERT_TRUE(held && held->status == 200) << Rerun(seed);
    const uint64_t token = held->lock->token;
    for (int i = 0; i < 5; ++i) {
      Checked(sim, checker, 1s);
      const std::string through = i % 2 ? "n4" : "n1";
      sim.RenewLock(through, "job", token, 2000 + i);
      auto renewed = AwaitAnswer(sim, checker, through, 2000 + i, 1s);
      ASSERT_TRUE(renewed) << Rerun(seed);
      ASSERT_EQ(renewed->status, 200) << renewed->message << "; " << Rerun(seed);
    }
    const int64_t last_renewal = sim.NowMs();
    ASSERT_TRUE(sim.RunUntil(
        [&] {
          checker.Check(sim);
          for (const auto& [id, a] : sim.agents())
            if (a.core->view().locks().Find("job")) return false;
          return true;
        },
        5s))
        << Rerun(seed);
    EXPECT_GE(sim.NowMs() - last_renewal, 2000) << "not before its TTL; " << Rerun(seed);
    EXPECT_LT(sim.NowMs() - last_renewal, 3000) << Rerun(seed);
    sim.RenewLock("n4", "job", token, 3000);
    auto late = AwaitAnswer(sim, checker, "n4", 3000, 1s);
    ASSERT_TRUE(late);
    EXPECT_EQ(late->status, 409) << "expired: the token holds nothing; " << Rerun(seed);
    EXPECT_EQ(checker.violation(), "") << Rerun(seed);
  }
}

}  // namespace
}  // namespace ringwatch::agent::sim
