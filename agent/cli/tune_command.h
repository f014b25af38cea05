#pragma once
// `ringwatch tune --trace FILE`: replays a recorded arrival trace (one
// timestamp in seconds per line, e.g. from GET /v1/peers/{id}/arrivals)
// against a grid of detector settings with detectors::Evaluate, prints the
// detection time and mistake rate of each side by side, and recommends the
// setting with the smallest mean detection time whose mistake rate meets the
// target. Pure apart from reading the trace file; output goes to the streams
// given, so it is testable without a process.

#include <iosfwd>
#include <string>
#include <vector>

#include "config/config.h"

namespace ringwatch::agent {

struct TuneOptions {
  std::string trace_file;
  config::DetectorConfig base;  // values not varied by the grid
  std::vector<double> thresholds;
  std::vector<uint32_t> windows;
  std::vector<core::Duration> min_std_devs;
  double max_mistakes_per_hour = 1.0;
};

// Parses "1:16:0.5" (start:end:step, inclusive) or "4,8,12" into values.
// False with a reason on malformed input.
bool ParseNumberList(const std::string& text, std::vector<double>* out, std::string* why);
bool ParseDurationList(const std::string& text, std::vector<core::Duration>* out, std::string* why);

// Returns the exit code: 0 with a table and a recommendation, 2 when the
// trace cannot be read or parsed.
int RunTune(const TuneOptions& options, std::ostream& out, std::ostream& err);

}  // namespace ringwatch::agent
