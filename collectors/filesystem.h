#pragma once
// filesystem: ringwatch_host_filesystem_avail_bytes{mountpoint} and
// ringwatch_host_filesystem_size_bytes{mountpoint} for the real filesystems
// of /proc/mounts (pseudo filesystems and /dev, /proc, /sys, /run/credentials
// skipped, as node_exporter does by default), each mount point once.

#include <string>
#include <string_view>
#include <vector>

#include "collectors/collector.h"

namespace ringwatch::collectors {

struct Mount {
  std::string device;
  std::string mountpoint;  // octal escapes (\040 for a space) decoded
  std::string fstype;
};

// The mounts worth reporting, in file order, without duplicate mount points.
std::vector<Mount> ParseMounts(std::string_view mounts);

std::unique_ptr<Collector> MakeFilesystemCollector(const Sources& sources);

}  // namespace ringwatch::collectors
