#pragma once
// Phi-accrual failure detector (Hayashibara et al., 2004) as in Akka: the
// inter-arrival times of a peer's heartbeats are modelled by a normal
// distribution N(mean + acceptable_pause, max(stddev, min_std_dev)), and the
// suspicion level after a silence t is phi(t) = -log10(1 - F(t)). F is the
// logistic approximation of the normal CDF used by Akka (Bowling et al. 2009),
// computed in a form that stays finite for any silence (phi keeps rising
// instead of reaching inf) and never returns NaN.
//
// The window of intervals is bounded and keeps exact integer running sums, so
// mean and variance cost O(1) per heartbeat and never drift.
//
// Pure: time is passed in. Not thread-safe; one instance per watched peer.

#include <cstdint>
#include <optional>
#include <vector>

#include "core/clock.h"

namespace ringwatch::detectors {

using core::Duration;
using core::Instant;

// phi for a silence of `elapsed` under N(mean, std_dev); any unit, the same
// for all three. Precondition: std_dev > 0.
double Phi(double elapsed, double mean, double std_dev);

// The approximate normal CDF behind Phi: 1 - 10^-Phi(x, mean, std_dev).
double NormalCdf(double x, double mean, double std_dev);

// The standardized silence y = (t - mean) / std_dev at which Phi reaches
// `threshold` (solved once per threshold; Phi is strictly increasing in y).
double StandardScoreForPhi(double threshold);

// Bounded FIFO of intervals with exact sums (nanoseconds, 128-bit).
class IntervalWindow {
 public:
  explicit IntervalWindow(uint32_t capacity);

  void Add(Duration interval);
  std::size_t size() const { return size_; }
  std::size_t capacity() const { return ring_.size(); }

  // Population statistics of the intervals held; 0 when empty.
  double MeanNanos() const;
  double VarianceNanos2() const;

 private:
  std::vector<int64_t> ring_;
  std::size_t next_ = 0;  // slot the next Add writes
  std::size_t size_ = 0;
  __int128 sum_ = 0;
  __int128 sum_sq_ = 0;
};

struct PhiAccrualConfig {
  // Seeds the window before the first interval is known: two samples at
  // estimate +- estimate/4 (Akka's choice), so phi is meaningful from the
  // second heartbeat on. Usually detector.heartbeat_interval.
  Duration first_heartbeat_estimate = std::chrono::milliseconds(100);
  uint32_t window = 1000;
  Duration min_std_dev = std::chrono::milliseconds(50);
  Duration acceptable_pause = Duration::zero();
};

class PhiAccrual {
 public:
  explicit PhiAccrual(const PhiAccrualConfig& config);

  // A heartbeat arrived at `now`. With `record_interval` false the interval
  // since the previous heartbeat is not learned (used after a suspicion or a
  // local stall, so that a long pause does not widen the distribution).
  // Precondition: `now` is not before the previous heartbeat.
  void Heartbeat(Instant now, bool record_interval = true);

  // Suspicion level at `now`: 0 before the first heartbeat.
  double PhiAt(Instant now) const;

  // Silence after the last heartbeat at which phi reaches the threshold whose
  // standard score is `score` (see StandardScoreForPhi).
  Duration SilenceForScore(double score) const;

  std::optional<Instant> last_heartbeat() const { return last_; }
  // Parameters of the current model, acceptable_pause included in the mean.
  double MeanNanos() const;
  double StdDevNanos() const;
  const IntervalWindow& window() const { return window_; }

 private:
  PhiAccrualConfig config_;
  IntervalWindow window_;
  std::optional<Instant> last_;
};

}  // namespace ringwatch::detectors
