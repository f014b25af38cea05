#pragma once
// What the end-to-end benches with real agents share: percentiles of their
// trials, and how a trial fails.

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

namespace ringwatch::bench {

// The p-quantile (0..1) of `v`, nearest rank.
inline double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5)];
}

// Ends the run: main catches it after unwinding, which stops the agents
// (their destructors) — std::exit would leave them running.
[[noreturn]] inline void Fail(const std::string& why) {
  throw std::runtime_error(why);
}

}  // namespace ringwatch::bench
