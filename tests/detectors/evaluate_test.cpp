#include "detectors/evaluate.h"

#include <gtest/gtest.h>

#include <cmath>

namespace ringwatch::detectors {
namespace {

using namespace std::chrono_literals;
using core::Duration;

std::vector<Duration> Periodic(int count, Duration every) {
  std::vector<Duration> out;
  for (int i = 0; i < count; ++i)
    out.push_back(every * i);
  return out;
}

// Phi effectively off: a huge standard deviation makes phi wait far beyond
// the timeout, so the timeout alone decides and answers are exact.
PolicyOptions TimeoutOnly(Duration timeout) {
  PolicyOptions c;
  c.phi_threshold = 100;
  c.min_std_dev = 60s;
  c.timeout = timeout;
  return c;
}

TEST(Evaluate, PeriodicArrivalsMakeNoMistakesAndDetectAtTheTimeout) {
  const auto trace = Periodic(600, 100ms);
  const QoS q = Evaluate(trace, TimeoutOnly(1s));
  EXPECT_EQ(q.arrivals, 600u);
  EXPECT_EQ(q.span, 59900ms);
  EXPECT_EQ(q.mistakes, 0u);
  EXPECT_EQ(q.p_a, 1.0);
  EXPECT_FALSE(q.t_m);
  EXPECT_FALSE(q.t_mr);
  ASSERT_EQ(q.detection_times.size(), 1u);
  EXPECT_EQ(q.detection_times[0], 1s);  // crash right after the last heartbeat
}

TEST(Evaluate, OneKnownGapIsOneMistakeOfKnownLength) {
  auto trace = Periodic(600, 100ms);
  for (std::size_t i = 300; i < trace.size(); ++i)
    trace[i] += 1900ms;  // a 2 s gap before arrival 300
  const QoS q = Evaluate(trace, TimeoutOnly(1s));
  EXPECT_EQ(q.mistakes, 1u);
  EXPECT_EQ(q.mistake_time, 1s);  // suspected from 1 s into the gap until its end
  ASSERT_TRUE(q.t_m);
  EXPECT_EQ(*q.t_m, 1s);
  EXPECT_FALSE(q.t_mr);  // needs two mistakes
  EXPECT_EQ(q.span, 59900ms + 1900ms);
  EXPECT_DOUBLE_EQ(q.p_a, 1.0 - 1.0 / 61.8);
  EXPECT_DOUBLE_EQ(q.mistakes_per_hour, 3600.0 / 61.8);
}

TEST(Evaluate, TwoGapsGiveTheRecurrenceTime) {
  auto trace = Periodic(600, 100ms);
  for (std::size_t i = 100; i < trace.size(); ++i)
    trace[i] += 1900ms;  // 2 s gap before 100
  for (std::size_t i = 400; i < trace.size(); ++i)
    trace[i] += 2900ms;  // 3 s gap before 400
  const QoS q = Evaluate(trace, TimeoutOnly(1s));
  EXPECT_EQ(q.mistakes, 2u);
  EXPECT_EQ(q.mistake_time, 1s + 2s);
  EXPECT_EQ(*q.t_m, 1500ms);
  // Starts: arrival 99 (9.9 s) + 1 s, and arrival 399 (39.9 s + 1.9 s) + 1 s.
  EXPECT_EQ(*q.t_mr, (41800ms + 1s) - (9900ms + 1s));
}

TEST(Evaluate, DetectionTimeForCrashesAtGivenPoints) {
  const auto trace = Periodic(100, 100ms);
  EvaluateOptions o;
  o.crash_at = {5050ms, 5000ms, 20s};
  const QoS q = Evaluate(trace, TimeoutOnly(1s), o);
  ASSERT_EQ(q.detection_times.size(), 3u);
  EXPECT_EQ(q.detection_times[0], 950ms);  // last heartbeat at 5.0 s
  EXPECT_EQ(q.detection_times[1], 1s);
  EXPECT_EQ(q.detection_times[2], 0ms);  // already suspected: the trace ended at 9.9 s
  EXPECT_EQ(q.t_d_max, 1s);
  EXPECT_EQ(q.t_d_mean, (950ms + 1s) / 3);
}

// With phi deciding: periodic 100 ms arrivals leave the two seeds (75, 125 ms)
// in the window, so the mean is exactly 100 ms and the deviation is floored
// at min_std_dev = 50 ms. T_D = 100 ms + y * 50 ms, with y solving
// y (1.5976 + 0.070566 y^2) = 8 ln 10 (the log1p term is below 1e-8 there),
// solved here by Newton's method independently of the detector's bisection.
TEST(Evaluate, PhiDetectionTimeMatchesTheClosedForm) {
  PolicyOptions c;  // defaults: phi 8, min_std_dev 50 ms, timeout 3 s
  const QoS q = Evaluate(Periodic(600, 100ms), c);
  double y = 5;
  for (int i = 0; i < 50; ++i) {
    const double f = y * (1.5976 + 0.070566 * y * y) - 8 * std::log(10.0);
    y -= f / (1.5976 + 3 * 0.070566 * y * y);
  }
  const double expected_ms = 100 + y * 50;
  ASSERT_EQ(q.detection_times.size(), 1u);
  EXPECT_NEAR(core::ToSeconds(q.detection_times[0]) * 1000, expected_ms, 0.001);
  EXPECT_EQ(q.mistakes, 0u);
}

TEST(Evaluate, CrashAfterEveryArrival) {
  EvaluateOptions o;
  o.crash_after_every_arrival = true;
  const QoS q = Evaluate(Periodic(10, 100ms), TimeoutOnly(1s), o);
  EXPECT_EQ(q.detection_times.size(), 10u);
  EXPECT_EQ(q.t_d_mean, 1s);
}

TEST(ParseTrace, ReadsSecondsSkippingCommentsAndBlanks) {
  std::vector<Duration> a;
  TraceError e;
  ASSERT_TRUE(
      ParseTrace("# peer node-2\n1700000000.100\n\n1700000000.2005\n  1700000000.300  \n", &a, &e));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0], 0ns);
  EXPECT_EQ(a[1], 100500us);
  EXPECT_EQ(a[2], 200ms);
}

TEST(ParseTrace, NamesTheBadLine) {
  std::vector<Duration> a;
  TraceError e;
  EXPECT_FALSE(ParseTrace("1.0\n2.0\nabc\n", &a, &e));
  EXPECT_EQ(e.line, 3);
  EXPECT_EQ(e.message, "expected a timestamp in seconds, got \"abc\"");
  EXPECT_FALSE(ParseTrace("1.0\n3.0\n2.0\n", &a, &e));
  EXPECT_EQ(e.line, 3);
  EXPECT_FALSE(ParseTrace("# nothing\n", &a, &e));
  EXPECT_EQ(e.message, "the trace holds no timestamps");
}

TEST(FormatTrace, ReadsBackThroughParseTrace) {
  const std::string text =
      FormatTrace({1700000000.1, 1700000000.2005, 1700000000.3}, "peer node-2");
  EXPECT_EQ(text, "# peer node-2\n1700000000.100000\n1700000000.200500\n1700000000.300000\n");
  std::vector<Duration> a;
  TraceError e;
  ASSERT_TRUE(ParseTrace(text, &a, &e));
  EXPECT_EQ(a, (std::vector<Duration>{0ns, 100500us, 200ms}));
}

}  // namespace
}  // namespace ringwatch::detectors
