#include "detectors/phi_accrual.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ringwatch::detectors {
namespace {

using namespace std::chrono_literals;

// Akka's published vectors (PhiAccrualFailureDetectorSpec): mean 1000 ms,
// standard deviation 100 ms.
TEST(Phi, ReproducesAkkaVectors) {
  EXPECT_NEAR(Phi(1000, 1000, 100), 0.3, 0.1);
  EXPECT_NEAR(Phi(1200, 1000, 100), 1.6, 0.1);
  EXPECT_NEAR(Phi(1400, 1000, 100), 4.7, 0.1);
  EXPECT_NEAR(Phi(1600, 1000, 100), 10.8, 0.1);
  EXPECT_NEAR(Phi(1700, 1000, 100), 15.3, 0.1);
}

TEST(Phi, CdfMatchesTheNormalDistribution) {
  EXPECT_NEAR(NormalCdf(6, 0, 10), 0.7257, 1e-3);
  EXPECT_NEAR(NormalCdf(15, 0, 10), 0.9332, 1e-3);
  EXPECT_NEAR(NormalCdf(20, 0, 10), 0.97725, 1e-3);
  EXPECT_NEAR(NormalCdf(25, 0, 10), 0.99379, 1e-3);
}

TEST(Phi, IsAboutZeroAtZeroSilence) {
  EXPECT_LT(Phi(0, 1000, 100), 1e-6);
}

TEST(Phi, IsMonotonicInSilence) {
  double previous = -1;
  for (double t = 0; t <= 5000; t += 1) {
    const double phi = Phi(t, 1000, 100);
    EXPECT_GT(phi, previous) << t;  // strictly, even deep in the tails
    previous = phi;
  }
}

TEST(Phi, StaysFiniteAndKeepsRisingForHugeSilences) {
  double previous = 0;
  for (double t : {1e4, 1e6, 1e9, 1e12, 1e18, 1e30}) {
    const double phi = Phi(t, 100, 10);
    EXPECT_TRUE(std::isfinite(phi)) << t;
    EXPECT_GT(phi, previous) << t;
    previous = phi;
  }
  EXPECT_TRUE(std::isfinite(Phi(1e300, 0, 1)));
  EXPECT_FALSE(std::isnan(Phi(-1e300, 0, 1)));
}

TEST(Phi, StandardScoreInvertsPhi) {
  for (double threshold : {0.5, 1.0, 3.0, 8.0, 16.0, 100.0}) {
    const double y = StandardScoreForPhi(threshold);
    EXPECT_NEAR(Phi(1000 + y * 100, 1000, 100), threshold, 1e-9) << threshold;
  }
}

TEST(IntervalWindow, MeanAndVarianceOfAKnownWindow) {
  IntervalWindow w(3);
  w.Add(100ms);
  w.Add(110ms);
  w.Add(90ms);
  EXPECT_DOUBLE_EQ(w.MeanNanos(), 100e6);
  EXPECT_NEAR(w.VarianceNanos2() / 1e12, 66.67, 0.01);  // ms^2
}

TEST(IntervalWindow, DropsTheOldestWhenFull) {
  IntervalWindow w(3);
  for (auto d : {1000ms, 100ms, 110ms, 90ms})
    w.Add(d);
  EXPECT_EQ(w.size(), 3u);
  EXPECT_DOUBLE_EQ(w.MeanNanos(), 100e6);
  EXPECT_NEAR(w.VarianceNanos2() / 1e12, 66.67, 0.01);
}

TEST(IntervalWindow, ExactSumsDoNotDriftOverMillionsOfUpdates) {
  IntervalWindow w(10);
  for (int i = 0; i < 2'000'000; ++i)
    w.Add(Duration(100'000'000 + (i % 7) * 1'000'003));
  // The last 10 values, recomputed directly.
  double sum = 0, sq = 0;
  for (int i = 2'000'000 - 10; i < 2'000'000; ++i) {
    const double v = 100'000'000.0 + (i % 7) * 1'000'003.0;
    sum += v;
    sq += v * v;
  }
  EXPECT_DOUBLE_EQ(w.MeanNanos(), sum / 10);
  EXPECT_NEAR(w.VarianceNanos2(), sq / 10 - (sum / 10) * (sum / 10), 1e3);
}

PhiAccrualConfig Config() {
  PhiAccrualConfig c;
  c.first_heartbeat_estimate = 100ms;
  c.window = 1000;
  c.min_std_dev = 10ms;
  return c;
}

TEST(PhiAccrual, IsZeroBeforeTheFirstHeartbeat) {
  PhiAccrual d(Config());
  EXPECT_EQ(d.PhiAt(Instant{} + 1h), 0.0);
}

TEST(PhiAccrual, FirstHeartbeatEstimateSeedsTheModel) {
  PhiAccrual d(Config());
  EXPECT_DOUBLE_EQ(d.MeanNanos(), 100e6);   // (75 + 125) / 2 ms
  EXPECT_DOUBLE_EQ(d.StdDevNanos(), 25e6);  // estimate / 4
}

TEST(PhiAccrual, LearnsIntervalsAndRisesWithSilence) {
  PhiAccrual d(Config());
  Instant t{};
  for (int i = 0; i < 1002; ++i)
    d.Heartbeat(t += 200ms);  // 1001 intervals push both seeds out
  EXPECT_DOUBLE_EQ(d.MeanNanos(), 200e6);
  EXPECT_DOUBLE_EQ(d.StdDevNanos(), 10e6);  // no variance: min_std_dev
  EXPECT_NEAR(d.PhiAt(t + 200ms), 0.301, 0.001);
  EXPECT_LT(d.PhiAt(t + 210ms), d.PhiAt(t + 220ms));
  EXPECT_GT(d.PhiAt(t + 260ms), 8);
}

TEST(PhiAccrual, AcceptablePauseShiftsTheMean) {
  PhiAccrualConfig c = Config();
  c.acceptable_pause = 3s;
  PhiAccrual d(c);
  Instant t{};
  for (int i = 0; i < 1002; ++i)
    d.Heartbeat(t += 100ms);
  EXPECT_DOUBLE_EQ(d.MeanNanos(), 3100e6);
  EXPECT_LT(d.PhiAt(t + 3s), 0.3);
}

TEST(PhiAccrual, UnrecordedHeartbeatMovesTheReferenceOnly) {
  PhiAccrual d(Config());
  Instant t{};
  for (int i = 0; i < 10; ++i)
    d.Heartbeat(t += 100ms);
  const double mean = d.MeanNanos();
  const std::size_t size = d.window().size();
  d.Heartbeat(t += 10s, false);
  EXPECT_EQ(d.window().size(), size);
  EXPECT_DOUBLE_EQ(d.MeanNanos(), mean);
  EXPECT_EQ(d.last_heartbeat(), t);
}

TEST(PhiAccrual, SilenceForScoreIsWherePhiReachesTheThreshold) {
  PhiAccrual d(Config());
  Instant t{};
  for (int i = 0; i < 100; ++i)
    d.Heartbeat(t += 100ms);
  const Duration silence = d.SilenceForScore(StandardScoreForPhi(8.0));
  EXPECT_NEAR(d.PhiAt(t + silence), 8.0, 1e-6);
  EXPECT_LT(d.PhiAt(t + silence - 1ms), 8.0);
}

}  // namespace
}  // namespace ringwatch::detectors
