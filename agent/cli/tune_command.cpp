#include "agent/cli/tune_command.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <ostream>
#include <sstream>

#include "agent/options.h"
#include "core/file.h"
#include "detectors/evaluate.h"

namespace ringwatch::agent {
namespace {

std::vector<std::string> SplitComma(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ','))
    out.push_back(item);
  return out;
}

bool ParseDouble(const std::string& s, double* v) {
  char* end = nullptr;
  *v = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() && std::isfinite(*v);
}

std::string Seconds(core::Duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fs", core::ToSeconds(d));
  return buf;
}

struct Row {
  double threshold;
  uint32_t window;
  core::Duration min_std_dev;
  detectors::QoS qos;
};

}  // namespace

bool ParseNumberList(const std::string& text, std::vector<double>* out, std::string* why) {
  out->clear();
  if (text.find(':') != std::string::npos) {
    std::vector<std::string> parts;
    std::stringstream in(text);
    std::string item;
    while (std::getline(in, item, ':'))
      parts.push_back(item);
    double start = 0, end = 0, step = 0;
    if (parts.size() != 3 || !ParseDouble(parts[0], &start) || !ParseDouble(parts[1], &end) ||
        !ParseDouble(parts[2], &step) || step <= 0 || end < start || (end - start) / step > 1000) {
      *why = "expected START:END:STEP with STEP > 0 and at most 1000 steps, got \"" + text + "\"";
      return false;
    }
    for (int i = 0; start + i * step <= end + 1e-9; ++i)
      out->push_back(start + i * step);
    return true;
  }
  for (const auto& item : SplitComma(text)) {
    double v = 0;
    if (!ParseDouble(item, &v)) {
      *why = "expected a number, got \"" + item + "\"";
      return false;
    }
    out->push_back(v);
  }
  if (out->empty()) *why = "empty list";
  return !out->empty();
}

bool ParseDurationList(const std::string& text, std::vector<core::Duration>* out,
                       std::string* why) {
  out->clear();
  for (const auto& item : SplitComma(text)) {
    core::DurationParseError e;
    auto d = core::ParseDuration(item, &e);
    if (!d) {
      *why = e.message;
      return false;
    }
    out->push_back(*d);
  }
  if (out->empty()) *why = "empty list";
  return !out->empty();
}

int RunTune(const TuneOptions& options, std::ostream& out, std::ostream& err) {
  const auto text = core::ReadFile(options.trace_file);
  if (!text) {
    err << options.trace_file << ": cannot read trace\n";
    return 2;
  }
  std::vector<core::Duration> arrivals;
  detectors::TraceError e;
  if (!detectors::ParseTrace(*text, &arrivals, &e)) {
    err << options.trace_file << ":" << e.line << ": " << e.message << "\n";
    return 2;
  }
  if (arrivals.size() < 3) {
    err << options.trace_file << ": a trace needs at least 3 arrivals, got " << arrivals.size()
        << "\n";
    return 2;
  }

  // The trace itself.
  double sum = 0, sq = 0;
  core::Duration max_gap{};
  for (std::size_t i = 1; i < arrivals.size(); ++i) {
    const core::Duration gap = arrivals[i] - arrivals[i - 1];
    const double g = core::ToSeconds(gap);
    sum += g;
    sq += g * g;
    max_gap = std::max(max_gap, gap);
  }
  const double n = static_cast<double>(arrivals.size() - 1);
  const double mean = sum / n;
  const double stddev = std::sqrt(std::max(0.0, sq / n - mean * mean));
  char summary[256];
  std::snprintf(
      summary, sizeof summary,
      "%zu arrivals over %.1fs: mean interval %.1fms, std dev %.1fms, longest gap %.1fms\n",
      arrivals.size(), core::ToSeconds(arrivals.back()), mean * 1e3, stddev * 1e3,
      core::ToSeconds(max_gap) * 1e3);
  out << "trace " << options.trace_file << ": " << summary;
  out << "T_D: time from the last heartbeat before a crash to the suspicion (a crash after every "
         "arrival);\n"
         "mistakes: false suspicions over the trace; P_A: share of the time the detector was "
         "right.\n"
         "timeout "
      << core::FormatDuration(options.base.timeout) << ", acceptable_pause "
      << core::FormatDuration(options.base.acceptable_pause) << "\n\n";

  const std::vector<double> thresholds = options.thresholds.empty()
                                             ? std::vector<double>{options.base.phi_threshold}
                                             : options.thresholds;
  const std::vector<uint32_t> windows =
      options.windows.empty() ? std::vector<uint32_t>{options.base.window} : options.windows;
  const std::vector<core::Duration> min_std_devs =
      options.min_std_devs.empty() ? std::vector<core::Duration>{options.base.min_std_dev}
                                   : options.min_std_devs;

  std::vector<Row> rows;
  detectors::EvaluateOptions eval;
  eval.crash_after_every_arrival = true;
  for (uint32_t window : windows) {
    for (core::Duration sd : min_std_devs) {
      for (double threshold : thresholds) {
        detectors::PolicyOptions c = DetectorOptions(options.base);
        c.phi_threshold = threshold;
        c.window = window;
        c.min_std_dev = sd;
        rows.push_back({threshold, window, sd, detectors::Evaluate(arrivals, c, eval)});
      }
    }
  }

  char line[256];
  std::snprintf(line, sizeof line, "%9s %7s %11s %9s %9s %8s %9s %9s %9s\n", "threshold", "window",
                "min_std_dev", "T_D mean", "T_D max", "mistakes", "per hour", "T_M mean", "P_A");
  out << line;
  const Row* best = nullptr;
  const Row* fewest = nullptr;
  for (const Row& r : rows) {
    std::snprintf(line, sizeof line, "%9.2f %7u %11s %9s %9s %8zu %9.2f %9s %9.6f\n", r.threshold,
                  r.window, core::FormatDuration(r.min_std_dev).c_str(),
                  Seconds(r.qos.t_d_mean).c_str(), Seconds(r.qos.t_d_max).c_str(), r.qos.mistakes,
                  r.qos.mistakes_per_hour, r.qos.t_m ? Seconds(*r.qos.t_m).c_str() : "-",
                  r.qos.p_a);
    out << line;
    if (r.qos.mistakes_per_hour <= options.max_mistakes_per_hour &&
        (best == nullptr || r.qos.t_d_mean < best->qos.t_d_mean)) {
      best = &r;
    }
    if (fewest == nullptr || r.qos.mistakes < fewest->qos.mistakes ||
        (r.qos.mistakes == fewest->qos.mistakes && r.qos.t_d_mean < fewest->qos.t_d_mean)) {
      fewest = &r;
    }
  }
  out << "\n";
  const auto describe = [&](const Row& r) {
    std::snprintf(
        line, sizeof line,
        "phi_threshold: %.2f, window: %u, min_std_dev: %s (T_D mean %s, %.2f mistakes/hour)\n",
        r.threshold, r.window, core::FormatDuration(r.min_std_dev).c_str(),
        Seconds(r.qos.t_d_mean).c_str(), r.qos.mistakes_per_hour);
    return std::string(line);
  };
  if (best != nullptr) {
    std::snprintf(line, sizeof line, "recommended (fastest with at most %.2f mistakes/hour): ",
                  options.max_mistakes_per_hour);
    out << line << describe(*best);
  } else {
    std::snprintf(line, sizeof line, "no setting meets %.2f mistakes/hour; fewest mistakes: ",
                  options.max_mistakes_per_hour);
    out << line << describe(*fewest);
  }
  return 0;
}

}  // namespace ringwatch::agent
