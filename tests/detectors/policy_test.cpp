#include "detectors/policy.h"

#include <gtest/gtest.h>

namespace ringwatch::detectors {
namespace {

using namespace std::chrono_literals;

PolicyOptions Defaults() {
  return PolicyOptions{};
}  // 100ms, phi 8, 50ms, 3s

// Regular heartbeats every 100 ms until `t`.
Instant Feed(Policy& p, Instant t, int count, Duration every = 100ms) {
  for (int i = 0; i < count; ++i)
    p.Heartbeat(t += every);
  return t;
}

TEST(Policy, SuspectsByPhiLongBeforeTheTimeout) {
  Policy p(Defaults(), Instant{});
  const Instant t = Feed(p, Instant{}, 100);
  // mean 100 ms, std dev floored at 50 ms: phi 8 at 100 + 5.22 x 50 ~= 361 ms.
  const Duration delay = p.SuspicionDelay();
  EXPECT_GT(delay, 355ms);
  EXPECT_LT(delay, 367ms);
  EXPECT_FALSE(p.Observe(t + delay - 1ms).suspected);
  const Observation o = p.Observe(t + delay);
  EXPECT_TRUE(o.suspected);
  EXPECT_EQ(o.reason, SuspectReason::kPhi);
  EXPECT_GE(o.phi, 8.0 - 1e-6);
  EXPECT_EQ(o.silence, delay);
}

TEST(Policy, TimeoutWinsWhenPhiIsSlower) {
  auto c = Defaults();
  c.acceptable_pause = 10s;  // phi would wait > 10 s
  Policy p(c, Instant{});
  const Instant t = Feed(p, Instant{}, 20);
  EXPECT_EQ(p.SuspicionDelay(), 3s);
  EXPECT_FALSE(p.Observe(t + 3s - 1ns).suspected);
  const Observation o = p.Observe(t + 3s);
  EXPECT_TRUE(o.suspected);
  EXPECT_EQ(o.reason, SuspectReason::kTimeout);
}

TEST(Policy, AnUnheardPeerIsSuspectedByTimeoutFromWatchStart) {
  const Instant start = Instant{} + 5s;
  Policy p(Defaults(), start);
  EXPECT_FALSE(p.Observe(start + 2s).suspected);
  const Observation o = p.Observe(start + 3s);
  EXPECT_TRUE(o.suspected);
  EXPECT_FALSE(o.heard);
  EXPECT_EQ(o.phi, 0.0);
  EXPECT_EQ(o.reason, SuspectReason::kTimeout);
}

TEST(Policy, AFreshHeartbeatClearsTheSuspicion) {
  Policy p(Defaults(), Instant{});
  Instant t = Feed(p, Instant{}, 50);
  t += 1s;
  ASSERT_TRUE(p.Observe(t).suspected);
  EXPECT_TRUE(p.Heartbeat(t));  // reports that it ended a suspicion
  EXPECT_FALSE(p.Observe(t).suspected);
  EXPECT_FALSE(p.Heartbeat(t + 100ms));
}

TEST(Policy, TheGapThatCausedASuspicionIsNotLearned) {
  Policy p(Defaults(), Instant{});
  Instant t = Feed(p, Instant{}, 50);
  const double mean = p.phi().MeanNanos();
  const std::size_t size = p.phi().window().size();
  p.Heartbeat(t += 2s);  // arrives while suspected
  EXPECT_EQ(p.phi().window().size(), size);
  EXPECT_DOUBLE_EQ(p.phi().MeanNanos(), mean);
  p.Heartbeat(t += 100ms);  // the next regular one is learned again
  EXPECT_EQ(p.phi().window().size(), size + 1);
}

TEST(Policy, ALateButUnsuspectedHeartbeatIsLearned) {
  Policy p(Defaults(), Instant{});
  Instant t = Feed(p, Instant{}, 50);
  const std::size_t size = p.phi().window().size();
  p.Heartbeat(t += 250ms);  // late, below the ~361 ms suspicion delay
  EXPECT_EQ(p.phi().window().size(), size + 1);
}

TEST(Policy, ResyncAfterAnObserverStallAccusesNobody) {
  Policy p(Defaults(), Instant{});
  Instant t = Feed(p, Instant{}, 50);
  t += 5s;                              // the observer was paused for 5 s
  ASSERT_TRUE(p.Observe(t).suspected);  // what a naive detector would say
  p.Resync(t);
  EXPECT_FALSE(p.Observe(t).suspected);
  EXPECT_FALSE(p.Observe(t + 300ms).suspected);
  const std::size_t size = p.phi().window().size();
  p.Heartbeat(t + 40ms);  // partial interval after the resync: not learned
  EXPECT_EQ(p.phi().window().size(), size);
  p.Heartbeat(t + 140ms);
  EXPECT_EQ(p.phi().window().size(), size + 1);
}

TEST(Policy, ADeadPeerIsStillSuspectedAfterAResync) {
  Policy p(Defaults(), Instant{});
  Instant t = Feed(p, Instant{}, 50);
  p.Resync(t += 5s);
  EXPECT_TRUE(p.Observe(t + p.SuspicionDelay()).suspected);
}

TEST(StallDetector, FlagsOnlyGapsLongerThanTheBound) {
  StallDetector s(250ms);
  Instant t{};
  EXPECT_FALSE(s.Tick(t));  // the first tick has nothing to compare with
  EXPECT_FALSE(s.Tick(t += 100ms));
  EXPECT_FALSE(s.Tick(t += 250ms));
  EXPECT_TRUE(s.Tick(t += 251ms));
  EXPECT_FALSE(s.Tick(t += 100ms));
}

}  // namespace
}  // namespace ringwatch::detectors
