#pragma once
// Durations as written by operators: a decimal number followed by a unit
// ("150ms", "2s", "1.5m", "1h30m"), Go's time.ParseDuration grammar. A bare
// number is rejected (except "0") so that "100" never silently means 100ns or
// 100s. Pure functions; thread-safe.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace ringwatch::core {

using Duration = std::chrono::nanoseconds;

struct DurationParseError {
  std::string message;  // e.g. `missing unit in "100" (use e.g. 100ms or 2s)`
};

// Parses `text`. Units: ns, us (or µs), ms, s, m, h. Negative durations are
// rejected: nothing in ringwatch is configured with one.
std::optional<Duration> ParseDuration(std::string_view text, DurationParseError* error = nullptr);

// Shortest exact spelling that ParseDuration reads back: "150ms", "2s", "1m30s", "0s".
std::string FormatDuration(Duration d);

// Seconds as a double, for metrics and JSON.
inline double ToSeconds(Duration d) {
  return std::chrono::duration<double>(d).count();
}

}  // namespace ringwatch::core
