#pragma once
// Replays a recorded heartbeat arrival trace against a detector configuration
// and reports the quality-of-service figures of Chen, Toueg & Aguilera (2002):
//
//   T_D   detection time: from a crash to the (permanent) suspicion. A crash at
//         time c, after the last arrival t_k <= c, is detected at
//         t_k + SuspicionDelay (as learned up to arrival k): T_D = that - c,
//         or 0 when the peer was already (wrongly) suspected at c.
//   T_MR  mistake recurrence time: mean time between the starts of
//         consecutive false suspicions (needs at least two).
//   T_M   mistake duration: mean length of a false suspicion (from its start
//         to the heartbeat that ends it).
//   P_A   query accuracy: the share of the trace's time during which the
//         detector's answer was right (1 - mistake time / trace span).
//   rate  mistakes per hour of trace.
//
// Because a Policy's suspicion is a pure function of the silence, a mistake is
// exactly a gap longer than the SuspicionDelay in force when it began; no
// sampling is involved. Pure; thread-safe (no shared state).

#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "detectors/policy.h"

namespace ringwatch::detectors {

struct EvaluateOptions {
  // Crash times, as offsets from the first arrival. Empty: one crash right
  // after the last arrival.
  std::vector<core::Duration> crash_at;
  // When true, T_D is also evaluated for a crash right after every arrival
  // (the distribution `tune` reports).
  bool crash_after_every_arrival = false;
};

struct QoS {
  std::size_t arrivals = 0;
  core::Duration span{};  // last arrival - first arrival
  std::size_t mistakes = 0;
  core::Duration mistake_time{};
  std::optional<core::Duration> t_mr;  // none with fewer than two mistakes
  std::optional<core::Duration> t_m;   // none without mistakes
  double p_a = 1.0;
  double mistakes_per_hour = 0.0;
  // One entry per crash evaluated (crash_at order, then after every arrival).
  std::vector<core::Duration> detection_times;
  core::Duration t_d_mean{};
  core::Duration t_d_max{};
};

// `arrivals` are offsets on one timeline, non-decreasing (use ParseTrace).
QoS Evaluate(const std::vector<core::Duration>& arrivals, const PolicyOptions& config,
             const EvaluateOptions& options = {});

// Reads a trace: one arrival timestamp in seconds per line (decimal, any
// origin); blank lines and lines starting with '#' are skipped. Returns the
// arrivals as offsets from the first, or an error naming the line.
struct TraceError {
  int line = 0;
  std::string message;
};
bool ParseTrace(const std::string& text, std::vector<core::Duration>* arrivals, TraceError* error);

// The inverse: a "# comment" line, then one timestamp (seconds, microsecond
// precision) per line — what GET /v1/peers/{id}/arrivals serves.
std::string FormatTrace(const std::vector<double>& seconds, const std::string& comment);

}  // namespace ringwatch::detectors
