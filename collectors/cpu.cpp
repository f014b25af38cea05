#include "collectors/cpu.h"

#include <unistd.h>

#include <sstream>

namespace ringwatch::collectors {

std::optional<std::map<std::string, double>> ParseCpuSeconds(std::string_view proc_stat,
                                                             double ticks_per_second) {
  if (!proc_stat.starts_with("cpu ")) return std::nullopt;
  std::istringstream line(std::string(proc_stat.substr(0, proc_stat.find('\n'))));
  std::string label;
  line >> label;
  static const char* kModes[] = {"user",   "nice", "system",  "idle",
                                 "iowait", "irq",  "softirq", "steal"};
  std::map<std::string, double> out;
  for (const char* mode : kModes) {
    double ticks = 0;
    if (!(line >> ticks)) return std::nullopt;
    out[mode] = ticks / ticks_per_second;
  }
  return out;
}

namespace {

class CpuCollector : public Collector {
 public:
  explicit CpuCollector(Sources s) : sources_(std::move(s)) {}
  const char* name() const override { return "cpu"; }
  bool Collect(std::vector<Family>* out) const override {
    const auto text = ReadFile(sources_.proc_root + "/stat");
    if (!text) return false;
    const auto seconds = ParseCpuSeconds(*text, static_cast<double>(sysconf(_SC_CLK_TCK)));
    if (!seconds) return false;
    Family f{"ringwatch_host_cpu_seconds_total",
             "Seconds the CPUs spent in each mode, summed over CPUs.",
             MetricType::kCounter,
             {}};
    for (const auto& [mode, value] : *seconds)
      f.samples.push_back({{{"mode", mode}}, value});
    out->push_back(std::move(f));
    return true;
  }

 private:
  Sources sources_;
};

}  // namespace

std::unique_ptr<Collector> MakeCpuCollector(const Sources& sources) {
  return std::make_unique<CpuCollector>(sources);
}

}  // namespace ringwatch::collectors
