#include "detectors/evaluate.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "detectors/policy.h"

namespace ringwatch::detectors {

QoS Evaluate(const std::vector<core::Duration>& arrivals, const PolicyOptions& config,
             const EvaluateOptions& options) {
  QoS q;
  q.arrivals = arrivals.size();
  if (arrivals.empty()) return q;
  const Instant origin{};
  // The observer starts watching at the first arrival.
  Policy policy(config, origin + arrivals.front());
  // delay_after[k]: the SuspicionDelay in force after arrival k.
  std::vector<core::Duration> delay_after(arrivals.size());
  std::optional<core::Duration> previous_mistake_start;
  core::Duration recurrence_sum{};
  std::size_t recurrences = 0;

  for (std::size_t k = 0; k < arrivals.size(); ++k) {
    if (k > 0) {
      const core::Duration gap = arrivals[k] - arrivals[k - 1];
      const core::Duration delay = delay_after[k - 1];
      if (gap > delay) {  // suspected from arrivals[k-1] + delay until arrivals[k]
        const core::Duration start = arrivals[k - 1] + delay;
        ++q.mistakes;
        q.mistake_time += gap - delay;
        if (previous_mistake_start) {
          recurrence_sum += start - *previous_mistake_start;
          ++recurrences;
        }
        previous_mistake_start = start;
      }
    }
    policy.Heartbeat(origin + arrivals[k]);
    delay_after[k] = policy.SuspicionDelay();
  }

  q.span = arrivals.back() - arrivals.front();
  if (q.mistakes > 0) q.t_m = q.mistake_time / static_cast<int64_t>(q.mistakes);
  if (recurrences > 0) q.t_mr = recurrence_sum / static_cast<int64_t>(recurrences);
  if (q.span > core::Duration::zero()) {
    const double span = core::ToSeconds(q.span);
    q.p_a = 1.0 - core::ToSeconds(q.mistake_time) / span;
    q.mistakes_per_hour = static_cast<double>(q.mistakes) * 3600.0 / span;
  }

  // Detection times.
  const auto detect = [&](core::Duration crash) {
    // Last arrival at or before the crash.
    auto it = std::upper_bound(arrivals.begin(), arrivals.end(), crash);
    if (it == arrivals.begin()) {
      // Crashed before its first heartbeat: only the timeout, from watch start.
      return std::max(arrivals.front() + config.timeout - crash, core::Duration::zero());
    }
    const std::size_t k = static_cast<std::size_t>(it - arrivals.begin()) - 1;
    return std::max(arrivals[k] + delay_after[k] - crash, core::Duration::zero());
  };
  if (options.crash_at.empty() && !options.crash_after_every_arrival) {
    q.detection_times.push_back(detect(arrivals.back()));
  }
  for (const auto& c : options.crash_at)
    q.detection_times.push_back(detect(c));
  if (options.crash_after_every_arrival) {
    for (const auto& a : arrivals)
      q.detection_times.push_back(detect(a));
  }
  if (!q.detection_times.empty()) {
    core::Duration sum{};
    for (const auto& d : q.detection_times) {
      sum += d;
      q.t_d_max = std::max(q.t_d_max, d);
    }
    q.t_d_mean = sum / static_cast<int64_t>(q.detection_times.size());
  }
  return q;
}

bool ParseTrace(const std::string& text, std::vector<core::Duration>* arrivals, TraceError* error) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  std::optional<long double> first;
  core::Duration previous{};
  arrivals->clear();
  while (std::getline(in, line)) {
    ++number;
    const auto start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line[start] == '#') continue;
    const auto end = line.find_last_not_of(" \t\r");
    const std::string field = line.substr(start, end - start + 1);
    errno = 0;
    char* stop = nullptr;
    const long double seconds = std::strtold(field.c_str(), &stop);
    if (stop != field.c_str() + field.size() || errno != 0 ||
        !std::isfinite(static_cast<double>(seconds))) {
      *error = {number, "expected a timestamp in seconds, got \"" + field + "\""};
      return false;
    }
    if (!first) first = seconds;
    const core::Duration offset(static_cast<int64_t>(std::llround((seconds - *first) * 1e9L)));
    if (offset < previous) {
      *error = {number, "timestamps must not decrease (" + field + " comes after a later one)"};
      return false;
    }
    arrivals->push_back(offset);
    previous = offset;
  }
  if (arrivals->empty()) {
    *error = {number, "the trace holds no timestamps"};
    return false;
  }
  return true;
}

std::string FormatTrace(const std::vector<double>& seconds, const std::string& comment) {
  std::string out = "# " + comment + "\n";
  out.reserve(out.size() + seconds.size() * 20);
  char line[64];
  for (double s : seconds) {
    std::snprintf(line, sizeof line, "%.6f\n", s);
    out += line;
  }
  return out;
}

}  // namespace ringwatch::detectors
