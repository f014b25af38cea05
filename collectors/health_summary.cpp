#include "collectors/health_summary.h"

#include <unistd.h>

#include <algorithm>

#include "collectors/filesystem.h"
#include "collectors/load.h"
#include "collectors/memory.h"
#include "collectors/process.h"

namespace ringwatch::collectors {

HealthSampler::HealthSampler(Sources sources, unsigned cpus)
    : sources_(std::move(sources)), cpus_(std::max(cpus, 1u)) {}

std::optional<HealthSummary> HealthSampler::Sample(core::Instant now) {
  const auto loadavg = ReadFile(sources_.proc_root + "/loadavg");
  const auto meminfo = ReadFile(sources_.proc_root + "/meminfo");
  const auto load1 = loadavg ? ParseLoad1(*loadavg) : std::nullopt;
  const auto memory = meminfo ? ParseMeminfo(*meminfo) : std::nullopt;
  if (!load1 || !memory || memory->total_bytes <= 0) return std::nullopt;
  HealthSummary s;
  s.load1_per_core = static_cast<float>(*load1 / cpus_);
  s.memory_available_ratio = static_cast<float>(memory->available_bytes / memory->total_bytes);
  if (const auto mounts = ReadFile(sources_.proc_root + "/mounts"); mounts && sources_.statfs) {
    for (const Mount& m : ParseMounts(*mounts)) {
      const auto st = sources_.statfs(m.mountpoint);
      if (!st || st->size_bytes <= 0) continue;
      s.fullest_filesystem_ratio = std::max(
          s.fullest_filesystem_ratio, static_cast<float>(1.0 - st->avail_bytes / st->size_bytes));
    }
  }
  // Only /proc/self/stat: the rest of the process metrics is not needed here.
  ProcessStats process;
  if (const auto stat = ReadFile(sources_.proc_root + "/self/stat")) {
    ParseProcPidStat(*stat, static_cast<double>(sysconf(_SC_CLK_TCK)), 1.0, std::nullopt, &process);
  }
  if (process.cpu_seconds) {
    if (previous_cpu_ && now > previous_cpu_->first) {
      const double wall = core::ToSeconds(now - previous_cpu_->first);
      s.agent_cpu_ratio =
          static_cast<float>(std::max(0.0, (*process.cpu_seconds - previous_cpu_->second) / wall));
    }
    previous_cpu_ = {now, *process.cpu_seconds};
  }
  return s;
}

}  // namespace ringwatch::collectors
