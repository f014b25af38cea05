#pragma once
// Host and process collectors in the style of node_exporter: one file per
// collector, each reading its /proc source on every scrape and returning
// plain metric families (exporters/ turns them into Prometheus families and
// adds per-collector duration and success). Parsing is split into pure
// functions tested on recorded /proc text.
//
// Collectors run on the HTTP thread, never on the core thread. Collect is
// const and keeps no state, so concurrent scrapes are safe.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/file.h"

namespace ringwatch::collectors {

using core::ReadFile;

enum class MetricType { kCounter, kGauge };

struct Sample {
  std::vector<std::pair<std::string, std::string>> labels;
  double value = 0;
};

struct Family {
  std::string name;
  std::string help;
  MetricType type = MetricType::kGauge;
  std::vector<Sample> samples;
};

struct FsStats {
  double size_bytes = 0;
  double avail_bytes = 0;  // available to unprivileged users
};

// Where collectors read from; tests point them at recorded files.
struct Sources {
  std::string proc_root = "/proc";
  // statvfs(2) of a mount point; nullopt when it fails (e.g. a stale mount).
  std::function<std::optional<FsStats>(const std::string& mountpoint)> statfs;
};

// The real statvfs.
std::optional<FsStats> StatFs(const std::string& mountpoint);

class Collector {
 public:
  virtual ~Collector() = default;
  virtual const char* name() const = 0;
  // Appends this collector's families; false (appending nothing) when its
  // source cannot be read or parsed.
  virtual bool Collect(std::vector<Family>* out) const = 0;
};

// The collectors named (config `collectors`, in that order). Precondition:
// every name is one of config::KnownCollectors().
std::vector<std::unique_ptr<Collector>> MakeCollectors(const std::vector<std::string>& names,
                                                       const Sources& sources);

}  // namespace ringwatch::collectors
