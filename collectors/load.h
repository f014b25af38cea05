#pragma once
// load: ringwatch_host_load1, the 1-minute load average of /proc/loadavg.

#include <optional>
#include <string_view>

#include "collectors/collector.h"

namespace ringwatch::collectors {

std::optional<double> ParseLoad1(std::string_view loadavg);

std::unique_ptr<Collector> MakeLoadCollector(const Sources& sources);

}  // namespace ringwatch::collectors
