#pragma once
// The compact health summary an agent piggybacks on every heartbeat, so that
// the diagnosis of a failed member carries its last known load: 1-minute load
// per core, the share of memory available, the fullest filesystem's used
// share, and the agent's own CPU (share of one core since the last sample).
// Sampled off the core thread (it reads /proc and calls statvfs).
// Not thread-safe: one sampler, called from one thread.

#include <optional>

#include "collectors/collector.h"
#include "core/clock.h"

namespace ringwatch::collectors {

struct HealthSummary {
  float load1_per_core = 0;
  float memory_available_ratio = 0;
  float fullest_filesystem_ratio = 0;
  float agent_cpu_ratio = 0;
};

class HealthSampler {
 public:
  HealthSampler(Sources sources, unsigned cpus);

  // nullopt when /proc cannot be read. The first call reports agent CPU 0
  // (there is no previous sample to compare with).
  std::optional<HealthSummary> Sample(core::Instant now);

 private:
  Sources sources_;
  unsigned cpus_;
  std::optional<std::pair<core::Instant, double>> previous_cpu_;  // when, process CPU seconds
};

}  // namespace ringwatch::collectors
