#pragma once
// cpu: ringwatch_host_cpu_seconds_total{mode} from the aggregate "cpu" line of
// /proc/stat (USER_HZ ticks converted to seconds), as node_exporter's
// node_cpu_seconds_total summed over CPUs.

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "collectors/collector.h"

namespace ringwatch::collectors {

// mode -> seconds, for user nice system idle iowait irq softirq steal.
std::optional<std::map<std::string, double>> ParseCpuSeconds(std::string_view proc_stat,
                                                             double ticks_per_second);

std::unique_ptr<Collector> MakeCpuCollector(const Sources& sources);

}  // namespace ringwatch::collectors
