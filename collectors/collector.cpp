#include "collectors/collector.h"

#include <sys/statvfs.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "collectors/cpu.h"
#include "collectors/filesystem.h"
#include "collectors/load.h"
#include "collectors/memory.h"
#include "collectors/network.h"
#include "collectors/process.h"

namespace ringwatch::collectors {

std::optional<FsStats> StatFs(const std::string& mountpoint) {
  struct statvfs st;
  if (::statvfs(mountpoint.c_str(), &st) != 0) return std::nullopt;
  const double block = static_cast<double>(st.f_frsize);
  return FsStats{static_cast<double>(st.f_blocks) * block,
                 static_cast<double>(st.f_bavail) * block};
}

std::vector<std::unique_ptr<Collector>> MakeCollectors(const std::vector<std::string>& names,
                                                       const Sources& sources) {
  std::vector<std::unique_ptr<Collector>> out;
  for (const auto& n : names) {
    if (n == "cpu") {
      out.push_back(MakeCpuCollector(sources));
    } else if (n == "memory") {
      out.push_back(MakeMemoryCollector(sources));
    } else if (n == "load") {
      out.push_back(MakeLoadCollector(sources));
    } else if (n == "filesystem") {
      out.push_back(MakeFilesystemCollector(sources));
    } else if (n == "network") {
      out.push_back(MakeNetworkCollector(sources));
    } else if (n == "process") {
      out.push_back(MakeProcessCollector(sources));
    } else {
      std::fprintf(stderr, "MakeCollectors: unknown collector %s\n", n.c_str());
      std::abort();  // the config loader only lets known names through
    }
  }
  return out;
}

}  // namespace ringwatch::collectors
