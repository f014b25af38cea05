#include "detectors/phi_accrual.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace ringwatch::detectors {
namespace {

constexpr double kLn10 = 2.302585092994045684;

// Akka's logistic approximation of the standard normal tail:
// 1 - F(y) ~= e / (1 + e), e = exp(-a), a = y * (1.5976 + 0.070566 y^2).
// -log10(e / (1 + e)) = (a + log1p(exp(-a))) / ln 10, and the softplus
// identity a + log1p(exp(-a)) = max(a, 0) + log1p(exp(-|a|)) keeps every
// intermediate finite: for a large silence phi ~ a / ln 10 keeps rising.
double PhiOfScore(double y) {
  // Beyond |y| = 1e100 the cubic would overflow to inf: phi stays finite.
  y = std::clamp(y, -1e100, 1e100);
  const double a = y * (1.5976 + 0.070566 * y * y);
  return (std::max(a, 0.0) + std::log1p(std::exp(-std::abs(a)))) / kLn10;
}

}  // namespace

double Phi(double elapsed, double mean, double std_dev) {
  return PhiOfScore((elapsed - mean) / std_dev);
}

double NormalCdf(double x, double mean, double std_dev) {
  return 1.0 - std::pow(10.0, -Phi(x, mean, std_dev));
}

double StandardScoreForPhi(double threshold) {
  // PhiOfScore is strictly increasing from 0 (y -> -inf) to inf: bisect.
  double lo = -50.0;
  double hi = 50.0;
  while (PhiOfScore(hi) < threshold)
    hi *= 2;
  for (int i = 0; i < 200 && hi - lo > 1e-12; ++i) {
    const double mid = (lo + hi) / 2;
    (PhiOfScore(mid) < threshold ? lo : hi) = mid;
  }
  return hi;
}

IntervalWindow::IntervalWindow(uint32_t capacity) : ring_(std::max<uint32_t>(capacity, 1), 0) {}

void IntervalWindow::Add(Duration interval) {
  const int64_t v = interval.count();
  if (size_ == ring_.size()) {
    const int64_t old = ring_[next_];
    sum_ -= old;
    sum_sq_ -= static_cast<__int128>(old) * old;
  } else {
    ++size_;
  }
  ring_[next_] = v;
  sum_ += v;
  sum_sq_ += static_cast<__int128>(v) * v;
  next_ = (next_ + 1) % ring_.size();
}

double IntervalWindow::MeanNanos() const {
  if (size_ == 0) return 0;
  return static_cast<double>(sum_) / static_cast<double>(size_);
}

double IntervalWindow::VarianceNanos2() const {
  if (size_ == 0) return 0;
  // n * sum(x^2) - (sum x)^2 is exact in 128 bits for windows up to 10^5
  // intervals of up to ~10^10 ns, and never negative.
  const __int128 n = static_cast<__int128>(size_);
  const __int128 numerator = n * sum_sq_ - sum_ * sum_;
  return static_cast<double>(numerator) / (static_cast<double>(size_) * static_cast<double>(size_));
}

PhiAccrual::PhiAccrual(const PhiAccrualConfig& config) : config_(config), window_(config.window) {
  config_.min_std_dev = std::max(config_.min_std_dev, Duration(1));  // keeps the model proper
  const Duration estimate = config_.first_heartbeat_estimate;
  window_.Add(estimate - estimate / 4);
  window_.Add(estimate + estimate / 4);
}

void PhiAccrual::Heartbeat(Instant now, bool record_interval) {
  if (last_ && now < *last_) {
    std::fprintf(stderr, "PhiAccrual::Heartbeat: time went backwards\n");
    std::abort();
  }
  if (last_ && record_interval) window_.Add(now - *last_);
  last_ = now;
}

double PhiAccrual::MeanNanos() const {
  return window_.MeanNanos() + static_cast<double>(config_.acceptable_pause.count());
}

double PhiAccrual::StdDevNanos() const {
  return std::max(std::sqrt(window_.VarianceNanos2()),
                  static_cast<double>(config_.min_std_dev.count()));
}

double PhiAccrual::PhiAt(Instant now) const {
  if (!last_) return 0.0;
  const double elapsed = static_cast<double>((now - *last_).count());
  return Phi(elapsed, MeanNanos(), StdDevNanos());
}

Duration PhiAccrual::SilenceForScore(double score) const {
  const double nanos = MeanNanos() + score * StdDevNanos();
  return Duration(static_cast<int64_t>(std::ceil(std::max(nanos, 0.0))));
}

}  // namespace ringwatch::detectors
