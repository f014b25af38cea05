#include "agent/core/lock_requests.h"

#include <gtest/gtest.h>

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using membership::Command;

membership::MemberInfo Info(const std::string& id, uint64_t incarnation = 1) {
  return membership::MemberInfo{id, id + ":7420", "z", id + ":80", 1, incarnation};
}

// LockRequests against a view the test commits to by hand: what it proposes
// is applied (or not) as a log would, at increasing indexes.
class LockRequestsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"a", "b"})
      Commit({100, membership::AddMember{Info(id)}});
  }
  // Applies `c` as the next entry and tells LockRequests (as AgentCore does).
  void Commit(const Command& c) {
    auto change = view_.Apply(c, ++index_);
    requests_.Applied(change.locks, self_, now_);
  }
  LockRequests::Output Check() {
    LockRequests::Output out;
    requests_.Check(view_, self_, alive_, now_, wall_, out);
    return out;
  }
  // Commits every proposal of `out` (the log accepts them all, in order).
  void CommitAll(const LockRequests::Output& out) {
    for (const Command& c : out.proposals)
      Commit(c);
  }
  LockRequests::Output Acquire(const std::string& name, const std::string& holder,
                               core::Duration wait = 0s, int64_t ttl_ms = 0) {
    LockRequests::Output out;
    requests_.Acquire({name, holder, ttl_ms, wait}, ++token_, view_, self_, alive_, leader_, now_,
                      wall_, out);
    return out;
  }
  void Advance(core::Duration d) {
    now_ += d;
    wall_ += std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  }

  membership::View view_;
  uint64_t index_ = 0;
  membership::MemberInfo self_ = Info("a");
  LockRequests requests_{LockOptions{}};
  core::Instant now_{};
  int64_t wall_ = 1'000'000;
  bool alive_ = true;
  bool leader_ = true;
  uint64_t token_ = 0;
};

TEST_F(LockRequestsTest, AFreeLockIsProposedAndAnsweredWithTheCommittedToken) {
  auto out = Acquire("db", "alice");
  EXPECT_TRUE(out.completions.empty()) << "not before the table says so";
  ASSERT_EQ(out.proposals.size(), 1u);
  const auto* take = std::get_if<membership::LockAcquire>(&out.proposals[0].body);
  ASSERT_TRUE(take);
  EXPECT_EQ(take->member, "a");
  EXPECT_EQ(take->incarnation, 1u);
  EXPECT_EQ(take->max, LockOptions{}.max);
  CommitAll(out);
  auto done = Check();
  ASSERT_EQ(done.completions.size(), 1u);
  EXPECT_EQ(done.completions[0].status, 200);
  ASSERT_TRUE(done.completions[0].lock);
  EXPECT_EQ(done.completions[0].lock->token, index_);
  EXPECT_EQ(requests_.pending(), 0u);
}

TEST_F(LockRequestsTest, TheSameHolderAgainGetsTheSameLockAtOnce) {
  CommitAll(Acquire("db", "alice"));
  Check();
  const uint64_t token = view_.locks().Find("db")->token;
  auto again = Acquire("db", "alice");
  EXPECT_TRUE(again.proposals.empty());
  ASSERT_EQ(again.completions.size(), 1u);
  EXPECT_EQ(again.completions[0].status, 200);
  EXPECT_EQ(again.completions[0].lock->token, token);
}

TEST_F(LockRequestsTest, AHeldLockIsRefusedAtOnceWithItsHolder) {
  Commit({100, membership::LockAcquire{"db", "bob", "b", 1, 0, 1024}});
  auto out = Acquire("db", "alice");
  EXPECT_TRUE(out.proposals.empty());
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].status, 409);
  ASSERT_TRUE(out.completions[0].lock);
  EXPECT_EQ(out.completions[0].lock->holder, "bob");
}

TEST_F(LockRequestsTest, LosingTheRaceIsA409) {
  auto out = Acquire("db", "alice");
  // Another agent's acquisition commits first; ours is then refused by the table.
  Commit({100, membership::LockAcquire{"db", "bob", "b", 1, 0, 1024}});
  CommitAll(out);
  auto done = Check();
  ASSERT_EQ(done.completions.size(), 1u);
  EXPECT_EQ(done.completions[0].status, 409);
  EXPECT_EQ(done.completions[0].lock->holder, "bob");
}

TEST_F(LockRequestsTest, AWaiterTakesTheLockWhenItIsReleasedAndReportsTheHandover) {
  Commit({100, membership::LockAcquire{"db", "bob", "b", 1, 0, 1024}});
  auto out = Acquire("db", "alice", 30s);
  EXPECT_TRUE(out.completions.empty());
  EXPECT_TRUE(out.proposals.empty()) << "no proposal while another holds it";
  Advance(2s);
  EXPECT_TRUE(Check().proposals.empty());
  // b dies: the view releases its lock; the waiter proposes at once.
  Commit({wall_, membership::MarkDead{"b", 1, membership::Diagnosis{}}});
  Advance(30ms);
  auto freed = Check();
  ASSERT_EQ(freed.proposals.size(), 1u);
  CommitAll(freed);
  auto done = Check();
  ASSERT_EQ(done.completions.size(), 1u);
  EXPECT_EQ(done.completions[0].status, 200);
  EXPECT_EQ(done.completions[0].lock->holder, "alice");
  ASSERT_EQ(done.handovers.size(), 1u);
  EXPECT_DOUBLE_EQ(done.handovers[0], 0.030);
}

// The waiter's request arrived before its agent applied another holder's
// acquisition: its first proposal is refused by the table. When the lock
// is freed it proposes at once, not a retry period after the first one.
TEST_F(LockRequestsTest, AWaiterWhoseFirstProposalWasRefusedProposesAtOnceWhenFreed) {
  auto out = Acquire("db", "alice", 30s);
  ASSERT_EQ(out.proposals.size(), 1u);
  Commit({100, membership::LockAcquire{"db", "bob", "b", 1, 0, 1024}});
  CommitAll(out);  // refused: bob holds it
  Advance(100ms);
  EXPECT_TRUE(Check().proposals.empty());
  Commit({wall_, membership::LockRelease{"db", view_.locks().Find("db")->token}});
  Advance(25ms);
  auto freed = Check();
  ASSERT_EQ(freed.proposals.size(), 1u) << "at once";
  CommitAll(freed);
  EXPECT_EQ(Check().completions.at(0).status, 200);
}

// A proposal forwarded to a leader that died with it is made again to the
// next leader at once.
TEST_F(LockRequestsTest, ANewLeaderGetsTheProposalsNotCommittedYet) {
  auto out = Acquire("db", "alice");
  ASSERT_EQ(out.proposals.size(), 1u);  // lost with the old leader
  Advance(100ms);
  EXPECT_TRUE(Check().proposals.empty());
  requests_.LeaderChanged();
  EXPECT_EQ(Check().proposals.size(), 1u);
}

TEST_F(LockRequestsTest, AWaitThatEndsWhileHeldIs409) {
  Commit({100, membership::LockAcquire{"db", "bob", "b", 1, 0, 1024}});
  Acquire("db", "alice", 2s);
  Advance(1s);
  EXPECT_TRUE(Check().completions.empty());
  Advance(1s);
  auto done = Check();
  ASSERT_EQ(done.completions.size(), 1u);
  EXPECT_EQ(done.completions[0].status, 409);
}

TEST_F(LockRequestsTest, ALostProposalIsMadeAgainThenTimesOut) {
  auto out = Acquire("db", "alice");
  ASSERT_EQ(out.proposals.size(), 1u);  // never committed (a leader change lost it)
  Advance(999ms);
  EXPECT_TRUE(Check().proposals.empty());
  Advance(1ms);
  EXPECT_EQ(Check().proposals.size(), 1u) << "again after LockOptions::retry";
  Advance(4s);
  auto done = Check();
  ASSERT_EQ(done.completions.size(), 1u);
  EXPECT_EQ(done.completions[0].status, 504);
}

TEST_F(LockRequestsTest, NotAliveOrNoLeaderIsRefused) {
  alive_ = false;
  auto out = Acquire("db", "alice");
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].status, 503);
  alive_ = true;
  leader_ = false;
  out = Acquire("db", "alice");
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].status, 503);
  // A waiter waits for a leader too.
  out = Acquire("db", "alice", 10s);
  EXPECT_TRUE(out.completions.empty());
}

TEST_F(LockRequestsTest, AMemberDeclaredDeadMeanwhileGets503) {
  auto out = Acquire("db", "alice", 10s);
  alive_ = false;  // this member was declared dead before the acquisition committed
  auto done = Check();
  ASSERT_EQ(done.completions.size(), 1u);
  EXPECT_EQ(done.completions[0].status, 503);
}

TEST_F(LockRequestsTest, BadRequestsAre400) {
  EXPECT_EQ(Acquire("a/b", "alice").completions.at(0).status, 400);
  EXPECT_EQ(Acquire("db", "").completions.at(0).status, 400);
  EXPECT_EQ(Acquire("db", "alice", 0s, 500).completions.at(0).status, 400);
}

TEST_F(LockRequestsTest, RenewAndReleaseAnswerWhenCommittedAnd409ForAStaleToken) {
  CommitAll(Acquire("db", "alice", 0s, 3000));
  Check();
  const uint64_t token = view_.locks().Find("db")->token;
  LockRequests::Output out;
  requests_.Renew("db", token + 1, 100, view_, leader_, now_, wall_, out);
  ASSERT_EQ(out.completions.size(), 1u);
  EXPECT_EQ(out.completions[0].status, 409);

  out = {};
  requests_.Renew("db", token, 101, view_, leader_, now_, wall_, out);
  EXPECT_TRUE(out.completions.empty());
  CommitAll(out);
  auto done = Check();
  ASSERT_EQ(done.completions.size(), 1u);
  EXPECT_EQ(done.completions[0].token, 101u);
  EXPECT_EQ(done.completions[0].status, 200);
  EXPECT_EQ(done.completions[0].lock->renewals, 1u);

  out = {};
  requests_.Release("db", token - 1, 102, view_, leader_, now_, wall_, out);
  EXPECT_EQ(out.completions.at(0).status, 409);
  out = {};
  requests_.Release("db", token, 103, view_, leader_, now_, wall_, out);
  CommitAll(out);
  done = Check();
  ASSERT_EQ(done.completions.size(), 1u);
  EXPECT_EQ(done.completions[0].status, 200);
  EXPECT_FALSE(view_.locks().Find("db"));
}

TEST_F(LockRequestsTest, ARenewalWhoseLockWasLostMeanwhileIs409) {
  CommitAll(Acquire("db", "alice"));
  Check();
  const uint64_t token = view_.locks().Find("db")->token;
  LockRequests::Output out;
  requests_.Renew("db", token, 7, view_, leader_, now_, wall_, out);
  Commit({wall_, membership::Leave{"a"}});  // released with its member before the renewal
  CommitAll(out);
  alive_ = false;
  auto done = Check();
  ASSERT_EQ(done.completions.size(), 1u);
  EXPECT_EQ(done.completions[0].status, 409);
}

TEST_F(LockRequestsTest, ATtlPassesWithoutRenewalThenTheHoldersAgentProposesTheExpiry) {
  CommitAll(Acquire("db", "alice", 0s, 3000));
  Check();
  const uint64_t token = view_.locks().Find("db")->token;
  Advance(2s);
  EXPECT_TRUE(Check().proposals.empty());
  // A renewal (through any agent) restarts the count.
  Commit({wall_, membership::LockRenew{"db", token}});
  Advance(2s);
  EXPECT_TRUE(Check().proposals.empty());
  Advance(1s);
  auto out = Check();
  ASSERT_EQ(out.proposals.size(), 1u);
  EXPECT_EQ(std::get<membership::LockExpire>(out.proposals[0].body).token, token);
  EXPECT_TRUE(Check().proposals.empty()) << "not again before the retry";
  CommitAll(out);
  EXPECT_FALSE(view_.locks().Find("db"));
}

TEST_F(LockRequestsTest, AnotherMembersTtlIsNotOursToExpire) {
  Commit({100, membership::LockAcquire{"db", "bob", "b", 1, 2000, 1024}});
  Advance(1h);
  EXPECT_TRUE(Check().proposals.empty());
}

TEST_F(LockRequestsTest, AfterASnapshotOurLocksGetAFullTtl) {
  membership::View other;
  uint64_t index = 0;
  for (const char* id : {"a", "b"})
    other.Apply({100, membership::AddMember{Info(id)}}, ++index);
  other.Apply({100, membership::LockAcquire{"db", "alice", "a", 1, 4000, 1024}}, ++index);
  view_ = other;
  requests_.Restored(view_, self_, now_);
  Advance(3s);
  EXPECT_TRUE(Check().proposals.empty());
  Advance(1s);
  EXPECT_EQ(Check().proposals.size(), 1u);
}

}  // namespace
}  // namespace ringwatch::agent
