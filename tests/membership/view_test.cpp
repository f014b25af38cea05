#include "membership/view.h"

#include <gtest/gtest.h>

#include <random>

namespace ringwatch::membership {
namespace {

MemberInfo Info(const std::string& id, uint64_t incarnation = 1) {
  return MemberInfo{id, id + ":7420", "z", id + ":80", 1, incarnation};
}

Diagnosis Died(DiagnosisClass c) {
  Diagnosis d;
  d.cls = c;
  return d;
}

TEST(MembershipView, LifecycleOfAMemberWithEvents) {
  View v;
  EXPECT_TRUE(v.Apply({100, AddMember{Info("a")}}).member_changed);
  EXPECT_EQ(v.Find("a")->state, MemberState::kAlive);
  EXPECT_EQ(v.Find("a")->since_ms, 100);
  auto dead = v.Apply({200, MarkDead{"a", 1, Died(DiagnosisClass::kProcessDown)}});
  ASSERT_TRUE(dead.event);
  EXPECT_EQ(dead.event->kind, EventKind::kDead);
  EXPECT_EQ(dead.event->diagnosis, DiagnosisClass::kProcessDown);
  EXPECT_EQ(v.Find("a")->diagnosis->cls, DiagnosisClass::kProcessDown);
  EXPECT_TRUE(v.Apply({300, MarkAlive{"a", 2}}).member_changed);
  EXPECT_EQ(v.Find("a")->info.incarnation, 2u);
  EXPECT_EQ(v.Find("a")->flaps, 1u) << "died 100 ms after joining";
  EXPECT_TRUE(v.Apply({400, Leave{"a"}}).member_changed);
  EXPECT_EQ(v.Find("a")->diagnosis->cls, DiagnosisClass::kLeft);
  EXPECT_TRUE(v.Apply({500, Remove{"a"}}).member_changed);
  EXPECT_EQ(v.Find("a"), nullptr);
  std::vector<EventKind> kinds;
  for (const Event& e : v.events())
    kinds.push_back(e.kind);
  EXPECT_EQ(kinds, (std::vector<EventKind>{EventKind::kJoin, EventKind::kDead, EventKind::kAlive,
                                           EventKind::kLeave, EventKind::kRemoved}));
  EXPECT_EQ(v.events().back().seq, 5u);
  EXPECT_EQ(v.version().value, 5u);
}

// A planned restart: the member stays in the ring (ring_version unchanged)
// while restarting and when it returns with a new incarnation; only a
// restart that outstays its grace (MarkDead, class stopped) moves the ring.
TEST(MembershipView, APlannedRestartKeepsTheRingUnlessItOutstaysTheGrace) {
  View v;
  v.Apply({100, AddMember{Info("a", 1)}});
  v.Apply({100, AddMember{Info("b", 1)}});
  const uint64_t ring = v.ring_version().value;
  EXPECT_FALSE(v.Apply({150, Restarting{"a", 7}}).member_changed) << "another incarnation";
  auto r = v.Apply({200, Restarting{"a", 1}});
  ASSERT_TRUE(r.event);
  EXPECT_EQ(r.event->kind, EventKind::kRestarting);
  EXPECT_EQ(v.Find("a")->state, MemberState::kRestarting);
  EXPECT_EQ(v.ring_version().value, ring);
  EXPECT_EQ(v.InRingIds(), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(v.AliveIds(), (std::vector<std::string>{"b"}));
  EXPECT_FALSE(v.Apply({210, Restarting{"a", 1}}).member_changed) << "twice";
  EXPECT_FALSE(v.Apply({210, Remove{"a"}}).member_changed) << "a restarting member stays";
  EXPECT_FALSE(v.Apply({210, MarkAlive{"a", 2}}).member_changed) << "not dead";
  EXPECT_FALSE(v.Apply({210, AddMember{Info("a", 1)}}).member_changed) << "the same life";
  auto back = v.Apply({300, AddMember{Info("a", 2)}});
  ASSERT_TRUE(back.event);
  EXPECT_EQ(back.event->kind, EventKind::kReturned);
  EXPECT_EQ(v.Find("a")->state, MemberState::kAlive);
  EXPECT_EQ(v.Find("a")->info.incarnation, 2u);
  EXPECT_EQ(v.Find("a")->alive_since_ms, 100) << "the same life goes on; no flap";
  EXPECT_EQ(v.ring_version().value, ring);

  // Back with another service address: the ring follows that, of course.
  v.Apply({400, Restarting{"a", 2}});
  MemberInfo moved = Info("a", 3);
  moved.service = "a:81";
  v.Apply({500, AddMember{moved}});
  EXPECT_GT(v.ring_version().value, ring);

  const uint64_t ring2 = v.ring_version().value;
  v.Apply({600, Restarting{"b", 1}});
  EXPECT_EQ(v.ring_version().value, ring2);
  auto dead = v.Apply({700, MarkDead{"b", 1, Died(DiagnosisClass::kStopped)}});
  ASSERT_TRUE(dead.event);
  EXPECT_EQ(dead.event->diagnosis, DiagnosisClass::kStopped);
  EXPECT_EQ(v.Find("b")->state, MemberState::kDead);
  EXPECT_GT(v.ring_version().value, ring2);
  auto decoded = View::Decode(v.Encode());
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, v);
}

// Stale or misplaced decisions change nothing (and do not bump the version).
TEST(MembershipView, CommandsThatDoNotFitTheStateAreIgnored) {
  View v;
  v.Apply({1, AddMember{Info("a", 5)}});
  const uint64_t version = v.version().value;
  EXPECT_FALSE(v.Apply({2, MarkDead{"a", 4, Died(DiagnosisClass::kHostDown)}}).member_changed)
      << "an older incarnation";
  EXPECT_FALSE(v.Apply({2, MarkDead{"zz", 1, Died(DiagnosisClass::kHostDown)}}).member_changed);
  EXPECT_FALSE(v.Apply({2, MarkAlive{"a", 9}}).member_changed) << "alive already";
  EXPECT_FALSE(v.Apply({2, Remove{"a"}}).member_changed) << "alive members are not removed";
  EXPECT_FALSE(v.Apply({2, AddMember{Info("a", 5)}}).member_changed)
      << "the same incarnation again";
  v.Apply({3, MarkDead{"a", 5, Died(DiagnosisClass::kHostDown)}});
  EXPECT_FALSE(v.Apply({4, MarkAlive{"a", 5}}).member_changed)
      << "rejoin needs a higher incarnation";
  EXPECT_FALSE(v.Apply({4, MarkDead{"a", 5, Died(DiagnosisClass::kHostDown)}}).member_changed)
      << "a duplicate decision";
  EXPECT_EQ(v.version().value, version + 1);
  // A restart with a higher incarnation replaces the alive member's info quietly.
  v.Apply({5, AddMember{Info("b", 1)}});
  const std::size_t events = v.events().size();
  EXPECT_TRUE(v.Apply({6, AddMember{Info("b", 2)}}).member_changed);
  EXPECT_EQ(v.Find("b")->info.incarnation, 2u);
  EXPECT_EQ(v.Find("b")->state, MemberState::kAlive);
  EXPECT_EQ(v.events().size(), events);
}

TEST(MembershipView, LeftMemberReturnsOnlyWithAHigherIncarnation) {
  View v;
  v.Apply({1, AddMember{Info("a", 3)}});
  v.Apply({2, Leave{"a"}});
  EXPECT_FALSE(v.Apply({3, AddMember{Info("a", 3)}}).member_changed);
  EXPECT_TRUE(v.Apply({4, AddMember{Info("a", 4)}}).member_changed);
  EXPECT_EQ(v.Find("a")->state, MemberState::kAlive);
  // Its latest diagnosis (the leave) stays with it: /v1/diagnosis shows it.
  ASSERT_TRUE(v.Find("a")->diagnosis);
  EXPECT_EQ(v.Find("a")->diagnosis->cls, DiagnosisClass::kLeft);
}

TEST(MembershipView, ARevisionAppliesOnceToTheVerdictOfTheDeadIncarnation) {
  View v;
  v.Apply({1, AddMember{Info("a", 3)}});
  Diagnosis d;
  d.cls = DiagnosisClass::kHostDown;
  v.Apply({2, MarkDead{"a", 3, d}});
  Revision r;
  r.cls = DiagnosisClass::kIsolated;
  // Not for another incarnation, not a verdict class, not twice.
  EXPECT_FALSE(v.Apply({3, Revise{"a", 2, r}}).event);
  Revision wrong = r;
  wrong.cls = DiagnosisClass::kHostDown;
  EXPECT_FALSE(v.Apply({3, Revise{"a", 3, wrong}}).event);
  auto change = v.Apply({4, Revise{"a", 3, r}});
  ASSERT_TRUE(change.event);
  EXPECT_EQ(change.event->kind, EventKind::kRevised);
  EXPECT_EQ(change.event->diagnosis, DiagnosisClass::kIsolated);
  ASSERT_TRUE(v.Find("a")->diagnosis->revision);
  EXPECT_EQ(v.Find("a")->diagnosis->revision->revised_at_ms, 4);
  Revision again = r;
  again.cls = DiagnosisClass::kPaused;
  EXPECT_FALSE(v.Apply({5, Revise{"a", 3, again}}).event);
  // It survives the member's return, and a snapshot.
  v.Apply({6, MarkAlive{"a", 4}});
  auto back = View::Decode(v.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->Find("a")->diagnosis->revision->cls, DiagnosisClass::kIsolated);
  // A left member's diagnosis is not a verdict: no revision.
  v.Apply({7, Leave{"a"}});
  EXPECT_FALSE(v.Apply({8, Revise{"a", 4, r}}).event);
}

TEST(MembershipView, FlapsCountOnlyDeathsSoonAfterARejoin) {
  View v;
  v.Apply({0, AddMember{Info("a", 1)}});
  int64_t t = kFlapWindowMs * 2;  // a long quiet life first
  v.Apply({t, MarkDead{"a", 1, Died(DiagnosisClass::kHostDown)}});
  v.Apply({t + 10, MarkAlive{"a", 2}});
  EXPECT_EQ(v.Find("a")->flaps, 0u);
  v.Apply({t + 20, MarkDead{"a", 2, Died(DiagnosisClass::kHostDown)}});
  v.Apply({t + 30, MarkAlive{"a", 3}});
  v.Apply({t + 40, MarkDead{"a", 3, Died(DiagnosisClass::kHostDown)}});
  v.Apply({t + 50, MarkAlive{"a", 4}});
  EXPECT_EQ(v.Find("a")->flaps, 2u);
}

TEST(MembershipView, EventLogIsBoundedAndSeqKeepsCounting) {
  View v;
  for (int i = 0; i < 1500; ++i)
    v.Apply({i, LeaderElected{"a", static_cast<uint64_t>(i)}});
  EXPECT_EQ(v.events().size(), View::kMaxEvents);
  EXPECT_EQ(v.events().front().seq, 1500u - View::kMaxEvents + 1);
  EXPECT_EQ(v.events().back().seq, 1500u);
  EXPECT_EQ(v.version().value, 0u) << "leader events change no member";
}

TEST(MembershipView, TimeNeverRunsBackwards) {
  View v;
  v.Apply({1000, AddMember{Info("a")}});
  v.Apply({500, AddMember{Info("b")}});  // a leader with a slower clock
  EXPECT_EQ(v.Find("b")->since_ms, 1000);
}

// The same commands in the same order give byte-identical views, and the
// encoding round-trips (it is the Raft snapshot).
// The ring version moves exactly when what the ring is built from moves:
// the alive members' ids, services, zones and weights.
TEST(MembershipView, RingVersionFollowsOnlyChangesOfTheRingsInput) {
  View v;
  EXPECT_EQ(v.ring_version().value, 0u);
  v.Apply({1, AddMember{Info("a")}});
  v.Apply({2, AddMember{Info("b")}});
  EXPECT_EQ(v.ring_version().value, 2u) << "joins add owners";
  v.Apply({3, LeaderElected{"a", 1}});
  MemberInfo moved = Info("a");
  moved.address = "elsewhere:7420";
  v.Apply({4, UpdateMember{moved}});
  EXPECT_EQ(v.version().value, 3u);
  EXPECT_EQ(v.ring_version().value, 2u) << "a new peer address owns the same keys";
  v.Apply({5, AddMember{Info("b", 2)}});
  EXPECT_EQ(v.version().value, 4u);
  EXPECT_EQ(v.ring_version().value, 2u) << "a restart with the same service owns the same keys";
  MemberInfo heavier = Info("a");
  heavier.weight = 2;
  v.Apply({6, UpdateMember{heavier}});
  EXPECT_EQ(v.ring_version().value, 5u) << "a new weight";
  v.Apply({7, MarkDead{"b", 2, Died(DiagnosisClass::kHostDown)}});
  EXPECT_EQ(v.ring_version().value, 6u) << "a dead member owns nothing";
  v.Apply({8, Leave{"b"}});
  EXPECT_EQ(v.version().value, 7u);
  EXPECT_EQ(v.ring_version().value, 6u) << "dead to left: it owned nothing already";
  v.Apply({9, Remove{"b"}});
  EXPECT_EQ(v.ring_version().value, 6u);
  v.Apply({10, MarkDead{"a", 1, Died(DiagnosisClass::kHostDown)}});
  v.Apply({11, MarkAlive{"a", 2}});
  EXPECT_EQ(v.ring_version(), v.version()) << "a rejoin brings its points back";
  auto back = View::Decode(v.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->ring_version(), v.ring_version());
  EXPECT_EQ(back->removed(), v.removed());
  // A format-1 image (an earlier version's snapshot) still decodes: no ring
  // version (taken as the view version) and no removed ids in it.
  auto old = View::Decode(v.Encode(1));
  ASSERT_TRUE(old) << "format 1";
  EXPECT_EQ(old->ring_version(), v.version());
  EXPECT_TRUE(old->removed().empty());
  EXPECT_EQ(old->members(), v.members());
  EXPECT_EQ(v.removed().count("b"), 1u) << "b was removed by an operator";
  v.Apply({12, AddMember{Info("b", 3)}});
  EXPECT_EQ(v.removed().count("b"), 0u) << "and is forgotten as removed once it joins again";
}

TEST(MembershipView, SameCommandsGiveByteIdenticalViewsThatRoundTrip) {
  std::mt19937_64 rng(3);
  std::vector<Command> log;
  for (int i = 0; i < 2000; ++i) {
    std::string id = "m" + std::to_string(rng() % 20);
    uint64_t inc = rng() % 4;
    switch (rng() % 6) {
      case 0:
        log.push_back({i, AddMember{Info(id, inc)}});
        break;
      case 1:
        log.push_back({i, MarkDead{id, inc, Died(DiagnosisClass::kHostDown)}});
        break;
      case 2:
        log.push_back({i, MarkAlive{id, inc}});
        break;
      case 3:
        log.push_back({i, Leave{id}});
        break;
      case 4:
        log.push_back({i, Remove{id}});
        break;
      case 5:
        log.push_back({i, LeaderElected{id, inc}});
        break;
    }
  }
  View a, b;
  for (const Command& c : log)
    a.Apply(c);
  for (const Command& c : log)
    b.Apply(DecodeCommand(EncodeCommand(c)).value());
  EXPECT_EQ(a.Encode(), b.Encode());
  auto back = View::Decode(a.Encode());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, a);
  EXPECT_EQ(back->Encode(), a.Encode());
  EXPECT_GT(a.version().value, 100u);
  std::string bytes = a.Encode();
  for (std::size_t cut = 0; cut < bytes.size(); cut += 7)
    EXPECT_FALSE(View::Decode(bytes.substr(0, cut)));
}

}  // namespace
}  // namespace ringwatch::membership
