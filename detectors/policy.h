#pragma once
// Policy: the per-peer verdict. A peer is suspected when its phi reaches
// detector.phi_threshold or its silence reaches detector.timeout, whichever
// comes first; a fresh heartbeat clears the suspicion. Two guards learned by
// Akka and Cassandra:
//   - a heartbeat that arrives while its peer is suspected is not learned:
//     the long gap before it must not widen the distribution (which would
//     make the next real failure slower to detect);
//   - after the observer itself stalled (StallDetector), Resync restarts every
//     peer's silence at the end of the stall and skips the next interval, so
//     the observer's own pause accuses nobody.
//
// Suspicion is a pure function of the silence: suspected iff silence >=
// SuspicionDelay(), which Evaluate uses to replay traces exactly.
// Pure; not thread-safe; one Policy per watched peer.

#include "detectors/heartbeat_timeout.h"
#include "detectors/phi_accrual.h"

namespace ringwatch::detectors {

// The detector parameters (config `detector` section; agent/ maps it). The
// defaults are docs/contract.md's.
struct PolicyOptions {
  Duration heartbeat_interval = std::chrono::milliseconds(100);
  double phi_threshold = 8.0;
  uint32_t window = 1000;
  Duration min_std_dev = std::chrono::milliseconds(50);
  Duration acceptable_pause{};
  Duration timeout = std::chrono::seconds(3);  // the heartbeat-timeout detector
};

enum class SuspectReason { kNone, kPhi, kTimeout };
const char* ToString(SuspectReason reason);

struct Observation {
  double phi = 0;
  Duration silence{};  // since the last heartbeat (or watch start / resync)
  bool heard = false;  // at least one heartbeat received
  bool suspected = false;
  SuspectReason reason = SuspectReason::kNone;
};

class Policy {
 public:
  Policy(const PolicyOptions& options, Instant watch_start);

  // A heartbeat arrived at `now` (not before the previous one). Returns true
  // when it ended a suspicion.
  bool Heartbeat(Instant now);

  Observation Observe(Instant now) const;

  // The observer stalled and resumed at `now`.
  void Resync(Instant now);

  // Silence, from the current reference point, at which the peer becomes
  // suspected given what has been learned so far.
  Duration SuspicionDelay() const;

  const PhiAccrual& phi() const { return phi_; }

 private:
  double threshold_score_;  // StandardScoreForPhi(phi_threshold)
  PhiAccrual phi_;
  HeartbeatTimeout timeout_;
  bool skip_next_interval_ = false;
};

// Notices that the observer's own loop was paused: the agent calls Tick on
// every detector tick; a gap longer than `bound` since the previous tick means
// the observer, not its peers, was silent.
class StallDetector {
 public:
  explicit StallDetector(Duration bound) : bound_(bound) {}
  // True when the gap since the previous Tick exceeded the bound.
  bool Tick(Instant now);
  Duration bound() const { return bound_; }
  // The gap between the last two Ticks (zero before the second).
  Duration last_gap() const { return last_gap_; }

 private:
  Duration bound_;
  std::optional<Instant> last_;
  Duration last_gap_{0};
};

// The phi-accrual parameters of `options`.
PhiAccrualConfig PhiConfigFrom(const PolicyOptions& options);

}  // namespace ringwatch::detectors
