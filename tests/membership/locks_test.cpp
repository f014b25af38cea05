#include "membership/locks.h"

#include <gtest/gtest.h>

#include "membership/command.h"
#include "membership/view.h"

namespace ringwatch::membership {
namespace {

MemberInfo Info(const std::string& id, uint64_t incarnation = 1) {
  return MemberInfo{id, id + ":7420", "z", id + ":80", 1, incarnation};
}

LockAcquire Take(const std::string& name, const std::string& holder, const std::string& member,
                 int64_t ttl_ms = 0, uint32_t max = 1024, uint64_t incarnation = 1) {
  return LockAcquire{name, holder, member, incarnation, ttl_ms, max};
}

// A view with members a, b, c (incarnation 1), applied at indexes 1..3.
class LockView : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* id : {"a", "b", "c"})
      Apply({100, AddMember{Info(id)}});
  }
  View::Change Apply(const Command& c) { return view_.Apply(c, ++index_); }
  const Lock* Find(const std::string& name) const { return view_.locks().Find(name); }

  View view_;
  uint64_t index_ = 0;
};

TEST_F(LockView, AnAcquisitionTakesItsEntrysIndexAsTheToken) {
  auto change = Apply({1000, Take("db", "alice", "a")});
  ASSERT_EQ(change.locks.size(), 1u);
  EXPECT_EQ(change.locks[0].kind, LockChange::Kind::kAcquired);
  ASSERT_TRUE(Find("db"));
  EXPECT_EQ(Find("db")->token, index_);
  EXPECT_EQ(Find("db")->holder, "alice");
  EXPECT_EQ(Find("db")->member, "a");
  EXPECT_EQ(Find("db")->acquired_at_ms, 1000);
  EXPECT_FALSE(change.member_changed) << "a lock is not a membership change";
  EXPECT_EQ(view_.locks().version(), 1u);
}

TEST_F(LockView, AHeldLockIsNotTakenAgainNotEvenByItsHolder) {
  Apply({1000, Take("db", "alice", "a")});
  const uint64_t token = Find("db")->token;
  EXPECT_TRUE(Apply({1001, Take("db", "bob", "b")}).locks.empty());
  EXPECT_TRUE(Apply({1002, Take("db", "alice", "a")}).locks.empty());
  EXPECT_EQ(Find("db")->token, token) << "the same holder keeps the same token";
  EXPECT_EQ(Find("db")->holder, "alice");
}

TEST_F(LockView, OnlyAnAliveMemberInThatIncarnationTakesALock) {
  EXPECT_TRUE(Apply({1000, Take("x", "h", "nobody")}).locks.empty());
  EXPECT_TRUE(Apply({1000, Take("x", "h", "a", 0, 1024, 2)}).locks.empty())
      << "a later incarnation than the view's";
  Apply({1000, Restarting{"b", 1}});
  EXPECT_TRUE(Apply({1000, Take("x", "h", "b")}).locks.empty()) << "restarting";
  Apply({1000, MarkDead{"c", 1, Diagnosis{}}});
  EXPECT_TRUE(Apply({1000, Take("x", "h", "c")}).locks.empty()) << "dead";
  EXPECT_TRUE(view_.Apply({1000, Take("x", "h", "a")}, 0).locks.empty())
      << "no Raft index, no token";
  EXPECT_TRUE(view_.locks().locks().empty());
}

TEST_F(LockView, TheTableRefusesAcquisitionsBeyondTheCommandsMax) {
  EXPECT_EQ(Apply({1000, Take("l1", "h", "a", 0, 2)}).locks.size(), 1u);
  EXPECT_EQ(Apply({1000, Take("l2", "h", "a", 0, 2)}).locks.size(), 1u);
  EXPECT_TRUE(Apply({1000, Take("l3", "h", "a", 0, 2)}).locks.empty());
  EXPECT_EQ(Apply({1000, Take("l3", "h", "a", 0, 3)}).locks.size(), 1u);
}

TEST_F(LockView, RenewAndReleaseNeedTheToken) {
  Apply({1000, Take("db", "alice", "a", 5000)});
  const uint64_t token = Find("db")->token;
  EXPECT_TRUE(Apply({2000, LockRenew{"db", token + 1}}).locks.empty());
  auto renewed = Apply({2000, LockRenew{"db", token}});
  ASSERT_EQ(renewed.locks.size(), 1u);
  EXPECT_EQ(renewed.locks[0].kind, LockChange::Kind::kRenewed);
  EXPECT_EQ(Find("db")->renewed_at_ms, 2000);
  EXPECT_EQ(Find("db")->renewals, 1u);
  EXPECT_TRUE(Apply({3000, LockRelease{"db", token - 1}}).locks.empty());
  ASSERT_TRUE(Find("db"));
  auto released = Apply({3000, LockRelease{"db", token}});
  ASSERT_EQ(released.locks.size(), 1u);
  EXPECT_EQ(released.locks[0].reason, LockReleaseReason::kReleased);
  EXPECT_EQ(Find("db"), nullptr);
  EXPECT_TRUE(Apply({3000, LockRelease{"db", token}}).locks.empty()) << "released once";
}

TEST_F(LockView, OnlyALockWithATtlExpires) {
  Apply({1000, Take("forever", "h", "a")});
  Apply({1000, Take("ttl", "h", "a", 2000)});
  EXPECT_TRUE(Apply({5000, LockExpire{"forever", Find("forever")->token}}).locks.empty());
  auto expired = Apply({5000, LockExpire{"ttl", Find("ttl")->token}});
  ASSERT_EQ(expired.locks.size(), 1u);
  EXPECT_EQ(expired.locks[0].reason, LockReleaseReason::kExpired);
  EXPECT_TRUE(Find("forever"));
}

TEST_F(LockView, AMembersLocksEndWithItsLife) {
  struct Case {
    const char* what;
    Command end;
    LockReleaseReason reason;
  } cases[] = {
      {"declared dead", {2000, MarkDead{"a", 1, Diagnosis{}}}, LockReleaseReason::kMemberDead},
      {"left", {2000, Leave{"a"}}, LockReleaseReason::kMemberLeft},
      {"planned restart", {2000, Restarting{"a", 1}}, LockReleaseReason::kRestarted},
      {"restarted unnoticed (a new incarnation)",
       {2000, AddMember{Info("a", 2)}},
       LockReleaseReason::kRestarted},
  };
  for (const Case& c : cases) {
    View v;
    uint64_t index = 0;
    for (const char* id : {"a", "b"})
      v.Apply({100, AddMember{Info(id)}}, ++index);
    v.Apply({1000, Take("one", "h", "a")}, ++index);
    v.Apply({1000, Take("two", "h2", "a", 3000)}, ++index);
    v.Apply({1000, Take("other", "h", "b")}, ++index);
    auto change = v.Apply(c.end, ++index);
    ASSERT_EQ(change.locks.size(), 2u) << c.what;
    for (const LockChange& l : change.locks) {
      EXPECT_EQ(l.kind, LockChange::Kind::kReleased) << c.what;
      EXPECT_EQ(l.reason, c.reason) << c.what;
      EXPECT_EQ(l.lock.member, "a") << c.what;
    }
    EXPECT_EQ(v.locks().size(), 1u) << c.what;
    EXPECT_TRUE(v.locks().Find("other")) << c.what;
  }
}

TEST_F(LockView, TokensOnlyGrowAcrossHolders) {
  uint64_t last = 0;
  for (int round = 0; round < 5; ++round) {
    Apply({1000, Take("db", "h" + std::to_string(round), round % 2 ? "a" : "b")});
    ASSERT_TRUE(Find("db"));
    EXPECT_GT(Find("db")->token, last);
    last = Find("db")->token;
    Apply({1000, LockRelease{"db", last}});
  }
}

TEST_F(LockView, TheTableIsInTheSnapshotAndOlderFormatsStillDecode) {
  Apply({1000, Take("db", "alice", "a", 5000)});
  Apply({1100, Take("queue", "bob", "b")});
  Apply({1200, LockRenew{"db", Find("db")->token}});
  const std::string bytes = view_.Encode();
  auto back = View::Decode(bytes);
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, view_);
  EXPECT_EQ(back->Encode(), bytes) << "byte-identical";
  EXPECT_EQ(back->locks().version(), view_.locks().version());

  auto old = View::Decode(view_.Encode(5));
  ASSERT_TRUE(old) << "format 5 (before locks) still decodes";
  EXPECT_TRUE(old->locks().locks().empty());
  EXPECT_EQ(old->members(), view_.members());
}

TEST_F(LockView, AGarbledTableDoesNotDecode) {
  Apply({1000, Take("db", "alice", "a")});
  std::string bytes = view_.Encode();
  for (std::size_t cut = 1; cut < 40; ++cut)
    EXPECT_FALSE(View::Decode(bytes.substr(0, bytes.size() - cut))) << cut;
  // The holder's first byte (printable) turned into a space.
  const auto at = bytes.rfind("alice");
  ASSERT_NE(at, std::string::npos);
  bytes[at] = ' ';
  EXPECT_FALSE(View::Decode(bytes));
}

TEST(LockCommands, RoundTripAndBounds) {
  for (const Command& c :
       {Command{5, Take("db", "alice@host:1", "a", 1000)}, Command{6, LockRenew{"db", 42}},
        Command{7, LockRelease{"db", 43}}, Command{8, LockExpire{"db.x_y-z", 44}}}) {
    auto back = DecodeCommand(EncodeCommand(c));
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
  }
  auto refused = [](const LockAcquire& a) { return !DecodeCommand(EncodeCommand({1, a})); };
  EXPECT_TRUE(refused(Take("", "h", "a")));
  EXPECT_TRUE(refused(Take("a/b", "h", "a")));
  EXPECT_TRUE(refused(Take(std::string(kMaxLockNameLength + 1, 'n'), "h", "a")));
  EXPECT_FALSE(refused(Take(std::string(kMaxLockNameLength, 'n'), "h", "a")));
  EXPECT_TRUE(refused(Take("db", "", "a")));
  EXPECT_TRUE(refused(Take("db", "with space", "a")));
  EXPECT_TRUE(refused(Take("db", std::string(kMaxHolderLength + 1, 'h'), "a")));
  EXPECT_TRUE(refused(Take("db", "h", "not an id")));
  EXPECT_TRUE(refused(Take("db", "h", "a", 999)));
  EXPECT_TRUE(refused(Take("db", "h", "a", kMaxLockTtlMs + 1)));
  EXPECT_TRUE(refused(Take("db", "h", "a", -1)));
  EXPECT_FALSE(refused(Take("db", "h", "a", kMinLockTtlMs)));
  EXPECT_FALSE(DecodeCommand(EncodeCommand({1, LockRelease{"bad name", 1}})));
}

TEST(LockNames, Alphabet) {
  EXPECT_TRUE(IsValidLockName("jobs.nightly-backup_1"));
  EXPECT_FALSE(IsValidLockName("a b"));
  EXPECT_FALSE(IsValidLockName("a%2Fb"));
  EXPECT_TRUE(IsValidHolder("worker-7@host:1234"));
  EXPECT_FALSE(IsValidHolder("tab\there"));
  EXPECT_FALSE(IsValidHolder("\x7f"));
}

}  // namespace
}  // namespace ringwatch::membership
