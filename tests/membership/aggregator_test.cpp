#include "membership/aggregator.h"

#include <gtest/gtest.h>

namespace ringwatch::membership {
namespace {

using namespace std::chrono_literals;

class AggregatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (int i = 1; i <= 7; ++i) {
      std::string id = "n" + std::to_string(i);
      view_.Apply({0, AddMember{MemberInfo{id, id + ":7420", "z", "", 1, 1}}});
    }
    observers_ = Observers::Compute(view_.AliveIds(), 3);
  }

  Report Suspect(const std::string& observer, const std::string& subject, bool suspected = true) {
    Report r;
    r.observer = observer;
    r.subject = subject;
    r.incarnation = 1;
    r.suspected = suspected;
    r.phi = suspected ? 12 : 0.5;
    r.silence_seconds = suspected ? 0.9 : 0.1;
    return r;
  }

  View view_;
  Observers observers_;
  core::Instant t0_{};
};

TEST_F(AggregatorTest, OneObserverIsNotEnoughAMajorityIs) {
  Aggregator agg({});
  const auto& watchers = observers_.Of("n4");
  ASSERT_EQ(watchers.size(), 3u);
  agg.Receive(Suspect(watchers[0], "n4"), t0_);
  EXPECT_TRUE(agg.Decide(view_, observers_, t0_, 1).empty()) << "one bad link never kills";
  agg.Receive(Suspect(watchers[1], "n4"), t0_ + 100ms);
  auto d = agg.Decide(view_, observers_, t0_ + 100ms, 2);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].subject, "n4");
  EXPECT_EQ(d[0].incarnation, 1u);
  EXPECT_EQ(d[0].diagnosis.observers.size(), 2u);
  EXPECT_EQ(d[0].diagnosis.decided_at_ms, 2);
  EXPECT_TRUE(agg.Decide(view_, observers_, t0_ + 200ms, 3).empty())
      << "not proposed twice at once";
}

TEST_F(AggregatorTest, ReportsFromNonObserversAndOldIncarnationsDoNotCount) {
  Aggregator agg({});
  const auto& watchers = observers_.Of("n4");
  for (const auto& id : view_.AliveIds())
    if (id != "n4" && std::find(watchers.begin(), watchers.end(), id) == watchers.end())
      agg.Receive(Suspect(id, "n4"), t0_);
  Report stale = Suspect(watchers[0], "n4");
  stale.incarnation = 0;
  agg.Receive(stale, t0_);
  EXPECT_TRUE(agg.Decide(view_, observers_, t0_, 1).empty());
}

TEST_F(AggregatorTest, ReportsExpireUnlessRepeated) {
  Aggregator agg({.confirmations = 0, .report_ttl = 1s, .repropose_after = 2s});
  const auto& watchers = observers_.Of("n4");
  agg.Receive(Suspect(watchers[0], "n4"), t0_);
  agg.Receive(Suspect(watchers[1], "n4"), t0_ + 1500ms);
  EXPECT_TRUE(agg.Decide(view_, observers_, t0_ + 1500ms, 1).empty())
      << "the first suspicion lapsed: the observer stopped repeating it";
  agg.Receive(Suspect(watchers[0], "n4"), t0_ + 1600ms);
  EXPECT_EQ(agg.Decide(view_, observers_, t0_ + 1600ms, 1).size(), 1u);
}

TEST_F(AggregatorTest, ExplicitConfirmationsAndDeadObservers) {
  Aggregator agg({.confirmations = 3, .report_ttl = 1s, .repropose_after = 2s});
  const auto& watchers = observers_.Of("n4");
  agg.Receive(Suspect(watchers[0], "n4"), t0_);
  agg.Receive(Suspect(watchers[1], "n4"), t0_);
  EXPECT_TRUE(agg.Decide(view_, observers_, t0_, 1).empty()) << "3 confirmations needed";
  // The third observer is dead: only two live observers remain, both agree.
  view_.Apply({1, MarkDead{watchers[2], 1, Diagnosis{}}});
  EXPECT_EQ(agg.Decide(view_, observers_, t0_, 1).size(), 1u);
}

TEST(Diagnose, ClassesFollowTheEvidence) {
  auto r = [](bool suspected, ProbeResult probe, std::optional<Health> h = std::nullopt) {
    Report x;
    x.suspected = suspected;
    x.probe = probe;
    x.health = h;
    return x;
  };
  EXPECT_EQ(Classify({r(true, ProbeResult::kRefused), r(true, ProbeResult::kNone)}),
            DiagnosisClass::kProcessDown);
  EXPECT_EQ(Classify({r(true, ProbeResult::kTimeout), r(true, ProbeResult::kTimeout)}),
            DiagnosisClass::kHostDown);
  EXPECT_EQ(Classify({r(true, ProbeResult::kTimeout), r(false, ProbeResult::kNone)}),
            DiagnosisClass::kPartition);
  Health busy{3.5f, 0.5f, 0.1f, 0.1f};
  EXPECT_EQ(Classify({r(true, ProbeResult::kNone, busy), r(true, ProbeResult::kNone)}),
            DiagnosisClass::kOverloaded);
  Health calm{0.2f, 0.5f, 0.1f, 0.01f};
  EXPECT_EQ(Classify({r(true, ProbeResult::kTimeout, calm)}), DiagnosisClass::kHostDown);
  // The host's kernel accepts, the agent is silent: hung, paused, starved.
  EXPECT_EQ(Classify({r(true, ProbeResult::kConnected), r(true, ProbeResult::kConnected)}),
            DiagnosisClass::kUnresponsive);
  // Some observers reach the host, others do not: the network is split.
  EXPECT_EQ(Classify({r(true, ProbeResult::kConnected), r(true, ProbeResult::kTimeout)}),
            DiagnosisClass::kPartition);
  // Silent together with others: a partition — unless its port refuses.
  EXPECT_EQ(Classify({r(true, ProbeResult::kTimeout)}, true), DiagnosisClass::kPartition);
  EXPECT_EQ(Classify({r(true, ProbeResult::kRefused)}, true), DiagnosisClass::kProcessDown);
  // Pressure in its last word outranks an accepted connection.
  EXPECT_EQ(Classify({r(true, ProbeResult::kConnected, busy)}), DiagnosisClass::kOverloaded);
}

// The decision names the path most suspecting observers took (the fast one
// on a tie), and each observer's path is in the evidence.
TEST_F(AggregatorTest, TheDecisionSaysWhichDetectorPathDecided) {
  const std::vector<std::string> watchers = observers_.Of("n2");
  ASSERT_GE(watchers.size(), 2u);
  Aggregator agg({});
  for (std::size_t i = 0; i < watchers.size(); ++i) {
    Report r = Suspect(watchers[i], "n2");
    r.probe = ProbeResult::kRefused;
    r.path = i == 0 ? DetectionPath::kPhi : DetectionPath::kFast;
    agg.Receive(r, t0_);
  }
  auto out = agg.Decide(view_, observers_, t0_, 1);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].diagnosis.path, DetectionPath::kFast);  // a majority, or a tie
  for (const ObserverEvidence& o : out[0].diagnosis.observers)
    EXPECT_EQ(o.path, o.observer == watchers[0] ? DetectionPath::kPhi : DetectionPath::kFast);

  // Most by phi: phi.
  Aggregator phi({});
  for (std::size_t i = 0; i < watchers.size(); ++i) {
    Report r = Suspect(watchers[i], "n2");
    r.probe = ProbeResult::kTimeout;
    r.path = i == 0 ? DetectionPath::kFast : DetectionPath::kPhi;
    phi.Receive(r, t0_);
  }
  auto by_phi = phi.Decide(view_, observers_, t0_, 1);
  ASSERT_EQ(by_phi.size(), 1u);
  EXPECT_EQ(by_phi[0].diagnosis.path,
            watchers.size() > 2 ? DetectionPath::kPhi : DetectionPath::kFast);  // a tie: fast
}

TEST_F(AggregatorTest, MembersSilentWithinOneWindowFormAGroupOneAloneDoesNot) {
  Aggregator agg({0, 1s, 2s, 0ms, 1s});
  // n2 and n3 fall silent 300 ms apart; n6 much later, alone.
  auto suspect_all = [&](const std::string& subject, core::Instant at,
                         ProbeResult probe = ProbeResult::kTimeout) {
    for (const auto& o : observers_.Of(subject)) {
      Report r = Suspect(o, subject);
      r.probe = probe;
      agg.Receive(r, at);
    }
  };
  suspect_all("n2", t0_);
  suspect_all("n3", t0_ + 300ms);
  auto first = agg.Decide(view_, observers_, t0_ + 300ms, 1);
  ASSERT_EQ(first.size(), 2u);
  for (const Decision& d : first) {
    EXPECT_EQ(d.diagnosis.cls, DiagnosisClass::kPartition) << d.subject;
    EXPECT_EQ(d.diagnosis.group, std::vector<std::string>{d.subject == "n2" ? "n3" : "n2"});
    for (const auto& o : d.diagnosis.observers)
      EXPECT_EQ(o.probe, ProbeResult::kTimeout);
  }
  view_.Apply({1, MarkDead{"n2", 1, first[0].diagnosis}});
  view_.Apply({2, MarkDead{"n3", 1, first[1].diagnosis}});
  suspect_all("n6", t0_ + 5s);
  auto later = agg.Decide(view_, observers_, t0_ + 5s, 2);
  ASSERT_EQ(later.size(), 1u);
  EXPECT_EQ(later[0].diagnosis.cls, DiagnosisClass::kHostDown);
  EXPECT_TRUE(later[0].diagnosis.group.empty());
}

TEST_F(AggregatorTest, ALateMemberJoinsTheGroupOfOneDeclaredAMomentAgo) {
  Aggregator agg({0, 1s, 2s, 0ms, 1s});
  for (const auto& o : observers_.Of("n2"))
    agg.Receive(Suspect(o, "n2"), t0_);
  auto first = agg.Decide(view_, observers_, t0_, 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(first[0].diagnosis.cls, DiagnosisClass::kHostDown) << "alone so far";
  view_.Apply({1, MarkDead{"n2", 1, first[0].diagnosis}});
  for (const auto& o : observers_.Of("n3"))
    agg.Receive(Suspect(o, "n3"), t0_ + 400ms);
  auto second = agg.Decide(view_, observers_, t0_ + 400ms, 2);
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].diagnosis.cls, DiagnosisClass::kPartition);
  EXPECT_EQ(second[0].diagnosis.group, std::vector<std::string>{"n2"});
}

TEST_F(AggregatorTest, OneBadLinkDoesNotMakeAGroup) {
  Aggregator agg({0, 1s, 2s, 0ms, 1s});
  for (const auto& o : observers_.Of("n2"))
    agg.Receive(Suspect(o, "n2"), t0_);
  agg.Receive(Suspect(observers_.Of("n3")[0], "n3"), t0_);  // one observer of n3 only
  auto d = agg.Decide(view_, observers_, t0_, 1);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].diagnosis.cls, DiagnosisClass::kHostDown);
}

TEST(Revise, TheAccountDecides) {
  Diagnosis verdict;
  verdict.cls = DiagnosisClass::kHostDown;
  verdict.observers = {{"a", 12, 1.2, true}, {"b", 11, 1.0, true}};
  Account a;
  a.restarted = true;
  EXPECT_EQ(ReviseClass(verdict, a), DiagnosisClass::kCrashed);
  a = {};
  a.longest_pause_ms = 3000;  // the whole silence was its own pause
  EXPECT_EQ(ReviseClass(verdict, a), DiagnosisClass::kPaused);
  a.longest_pause_ms = 300;  // a hiccup, not the silence
  a.heard = {"c"};
  EXPECT_EQ(ReviseClass(verdict, a), DiagnosisClass::kPartition);
  a.heard.clear();
  EXPECT_EQ(ReviseClass(verdict, a), DiagnosisClass::kIsolated);
}

}  // namespace
}  // namespace ringwatch::membership

namespace ringwatch::membership {
namespace {

using namespace std::chrono_literals;

// Agreement without any probe result waits up to probe_grace for one, so the
// diagnosis can tell process_down from host_down; a result ends the wait.
TEST(AggregatorProbeGrace, WaitsBrieflyForAProbeResult) {
  View view;
  for (const char* id : {"a", "b", "c", "d"})
    view.Apply({0, AddMember{MemberInfo{id, "", "", "", 1, 1}}});
  auto observers = Observers::Compute(view.AliveIds(), 5);  // all-to-all
  Aggregator agg(
      {.confirmations = 0, .report_ttl = 1s, .repropose_after = 2s, .probe_grace = 100ms});
  core::Instant t0{};
  auto report = [](const std::string& o, ProbeResult p) {
    Report r;
    r.observer = o;
    r.subject = "d";
    r.incarnation = 1;
    r.suspected = true;
    r.probe = p;
    return r;
  };
  for (const char* o : {"a", "b"})
    agg.Receive(report(o, ProbeResult::kNone), t0);
  EXPECT_TRUE(agg.Decide(view, observers, t0 + 50ms, 1).empty()) << "waiting for a probe";
  agg.Receive(report("a", ProbeResult::kRefused), t0 + 60ms);
  auto d = agg.Decide(view, observers, t0 + 60ms, 1);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].diagnosis.cls, DiagnosisClass::kProcessDown);
  EXPECT_EQ(d[0].diagnosis.probe, ProbeResult::kRefused);

  Aggregator late(
      {.confirmations = 0, .report_ttl = 1s, .repropose_after = 2s, .probe_grace = 100ms});
  for (const char* o : {"a", "b"})
    late.Receive(report(o, ProbeResult::kNone), t0);
  for (const char* o : {"a", "b"})
    late.Receive(report(o, ProbeResult::kNone), t0 + 100ms);
  auto without = late.Decide(view, observers, t0 + 100ms, 1);
  ASSERT_EQ(without.size(), 1u) << "the grace is bounded";
  EXPECT_EQ(without[0].diagnosis.cls, DiagnosisClass::kHostDown);
}

}  // namespace
}  // namespace ringwatch::membership
