#pragma once
// memory: ringwatch_host_memory_total_bytes and
// ringwatch_host_memory_available_bytes from /proc/meminfo (MemTotal,
// MemAvailable).

#include <optional>
#include <string_view>

#include "collectors/collector.h"

namespace ringwatch::collectors {

struct MemInfo {
  double total_bytes = 0;
  double available_bytes = 0;
};

std::optional<MemInfo> ParseMeminfo(std::string_view meminfo);

std::unique_ptr<Collector> MakeMemoryCollector(const Sources& sources);

}  // namespace ringwatch::collectors
