#pragma once
// process: the standard process_* metrics of the Prometheus client libraries
// (the names Go's and Python's clients export), which prometheus-cpp 1.0
// lacks, read from /proc/self.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"

namespace ringwatch::collectors {

struct ProcessStats {
  std::optional<double> cpu_seconds;         // utime + stime
  std::optional<double> resident_bytes;      // rss pages x page size
  std::optional<double> virtual_bytes;       // vsize
  std::optional<double> start_time_seconds;  // since the Unix epoch
  std::optional<double> threads;             // num_threads
  std::optional<double> open_fds;            // entries of /proc/self/fd
  std::optional<double> max_fds;             // soft RLIMIT_NOFILE
};

// Fills the fields that come from /proc/[pid]/stat. `boot_time` is btime of
// /proc/stat (seconds since the epoch). False when the text is not a stat line.
bool ParseProcPidStat(std::string_view stat, double ticks_per_second, double page_size,
                      std::optional<double> boot_time, ProcessStats* out);

// btime of /proc/stat.
std::optional<double> ParseBootTime(std::string_view proc_stat);

// Soft limit of "Max open files" in /proc/[pid]/limits; nullopt for "unlimited".
std::optional<double> ParseMaxOpenFiles(std::string_view limits);

// The families for whatever fields are present.
std::vector<Family> ProcessFamilies(const ProcessStats& stats);

// Reads `proc_root`/self/{stat,limits,fd} and `proc_root`/stat.
ProcessStats ReadProcessStats(const std::string& proc_root);

std::unique_ptr<Collector> MakeProcessCollector(const Sources& sources);

}  // namespace ringwatch::collectors
