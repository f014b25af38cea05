#pragma once
// Time as the cores see it: an Instant on a monotonic timeline, passed in by
// the caller. Cores never read a clock; agent/ reads the real one
// (std::chrono::steady_clock) and tests and the simulator own a fake one.

#include <chrono>

#include "core/duration.h"

namespace ringwatch::core {

// A point on the monotonic timeline (the epoch is arbitrary: steady_clock's in
// the agent, zero in tests).
using Instant = std::chrono::time_point<std::chrono::steady_clock, Duration>;

// The agent's source of now; the one place a core-facing Instant is read.
inline Instant MonotonicNow() {
  return std::chrono::time_point_cast<Duration>(std::chrono::steady_clock::now());
}

// The wall clock in milliseconds since the epoch (the runtime's; what the
// view's times and frames' send times are made of).
inline int64_t WallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace ringwatch::core
