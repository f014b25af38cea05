#pragma once
// The plain detector: suspect a peer after a fixed silence. It bounds the
// detection time whatever the phi model has learned (a peer whose intervals
// were very irregular would otherwise take long to suspect), and it covers
// peers never heard at all, which phi cannot judge.
// Pure; not thread-safe.

#include <optional>

#include "core/clock.h"

namespace ringwatch::detectors {

class HeartbeatTimeout {
 public:
  // Silence is counted from `watch_start` until the first heartbeat.
  HeartbeatTimeout(core::Duration timeout, core::Instant watch_start)
      : timeout_(timeout), reference_(watch_start) {}

  void Heartbeat(core::Instant now) { reference_ = now; }
  // Restarts the silence at `now` without a heartbeat (after a local stall).
  void Restart(core::Instant now) { reference_ = now; }

  core::Duration Silence(core::Instant now) const {
    return now > reference_ ? now - reference_ : core::Duration::zero();
  }
  bool Suspected(core::Instant now) const { return Silence(now) >= timeout_; }
  core::Duration timeout() const { return timeout_; }
  core::Instant reference() const { return reference_; }

 private:
  core::Duration timeout_;
  core::Instant reference_;  // last heartbeat, watch start, or restart point
};

}  // namespace ringwatch::detectors
