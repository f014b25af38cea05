#include "detectors/policy.h"

#include <algorithm>

namespace ringwatch::detectors {

const char* ToString(SuspectReason reason) {
  switch (reason) {
    case SuspectReason::kNone:
      return "none";
    case SuspectReason::kPhi:
      return "phi";
    case SuspectReason::kTimeout:
      return "timeout";
  }
  return "none";
}

PhiAccrualConfig PhiConfigFrom(const PolicyOptions& c) {
  PhiAccrualConfig p;
  p.first_heartbeat_estimate = c.heartbeat_interval;
  p.window = c.window;
  p.min_std_dev = c.min_std_dev;
  p.acceptable_pause = c.acceptable_pause;
  return p;
}

Policy::Policy(const PolicyOptions& config, Instant watch_start)
    : threshold_score_(StandardScoreForPhi(config.phi_threshold)),
      phi_(PhiConfigFrom(config)),
      timeout_(config.timeout, watch_start) {}

Duration Policy::SuspicionDelay() const {
  if (!phi_.last_heartbeat()) return timeout_.timeout();  // phi cannot judge an unheard peer
  return std::min(phi_.SilenceForScore(threshold_score_), timeout_.timeout());
}

bool Policy::Heartbeat(Instant now) {
  const bool was_suspected = Observe(now).suspected;
  // The first guard: do not learn the gap that made the peer suspected.
  phi_.Heartbeat(now, !was_suspected && !skip_next_interval_);
  timeout_.Heartbeat(now);
  skip_next_interval_ = false;
  return was_suspected;
}

Observation Policy::Observe(Instant now) const {
  Observation o;
  o.heard = phi_.last_heartbeat().has_value();
  o.silence = timeout_.Silence(now);
  o.phi = o.heard ? phi_.PhiAt(now) : 0.0;
  if (o.heard && o.silence >= phi_.SilenceForScore(threshold_score_)) {
    o.suspected = true;
    o.reason = SuspectReason::kPhi;
  } else if (o.silence >= timeout_.timeout()) {
    o.suspected = true;
    o.reason = SuspectReason::kTimeout;
  }
  return o;
}

void Policy::Resync(Instant now) {
  // Restart the silence as if a heartbeat had arrived, learning nothing from
  // it nor from the interval up to the next real heartbeat.
  if (phi_.last_heartbeat()) phi_.Heartbeat(std::max(now, *phi_.last_heartbeat()), false);
  timeout_.Restart(now);
  skip_next_interval_ = true;
}

bool StallDetector::Tick(Instant now) {
  const bool stalled = last_ && now - *last_ > bound_;
  last_gap_ = last_ ? now - *last_ : Duration{0};
  last_ = now;
  return stalled;
}

}  // namespace ringwatch::detectors
