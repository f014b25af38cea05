#include "collectors/process.h"

#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace ringwatch::collectors {
namespace {

std::optional<double> ToNumber(std::string_view s) {
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Family Gauge(std::string name, std::string help, double value) {
  return {std::move(name), std::move(help), MetricType::kGauge, {{{}, value}}};
}

}  // namespace

bool ParseProcPidStat(std::string_view stat, double ticks_per_second, double page_size,
                      std::optional<double> boot_time, ProcessStats* out) {
  // The command name (field 2) is in parentheses and may itself contain
  // spaces and parentheses: fields resume after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return false;
  std::vector<std::string_view> fields;  // fields[0] is field 3 (state)
  std::string_view rest = stat.substr(close + 1);
  while (!rest.empty()) {
    const auto start = rest.find_first_not_of(" \n");
    if (start == std::string_view::npos) break;
    rest.remove_prefix(start);
    const auto end = rest.find_first_of(" \n");
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end == std::string_view::npos ? rest.size() : end);
  }
  // man 5 proc: utime 14, stime 15, num_threads 20, starttime 22, vsize 23, rss 24.
  const auto field = [&](int n) -> std::optional<double> {
    const std::size_t i = static_cast<std::size_t>(n - 3);
    if (i >= fields.size()) return std::nullopt;
    return ToNumber(fields[i]);
  };
  const auto utime = field(14), stime = field(15), threads = field(20), start = field(22),
             vsize = field(23), rss = field(24);
  if (!utime || !stime || !threads || !start || !vsize || !rss) return false;
  out->cpu_seconds = (*utime + *stime) / ticks_per_second;
  out->threads = *threads;
  out->virtual_bytes = *vsize;
  out->resident_bytes = *rss * page_size;
  if (boot_time) out->start_time_seconds = *boot_time + *start / ticks_per_second;
  return true;
}

std::optional<double> ParseBootTime(std::string_view proc_stat) {
  std::size_t pos = 0;
  while (pos < proc_stat.size()) {
    auto end = proc_stat.find('\n', pos);
    if (end == std::string_view::npos) end = proc_stat.size();
    std::string_view line = proc_stat.substr(pos, end - pos);
    if (line.starts_with("btime ")) return ToNumber(line.substr(6));
    pos = end + 1;
  }
  return std::nullopt;
}

std::optional<double> ParseMaxOpenFiles(std::string_view limits) {
  const auto at = limits.find("Max open files");
  if (at == std::string_view::npos) return std::nullopt;
  std::string_view rest = limits.substr(at + std::string_view("Max open files").size());
  const auto start = rest.find_first_not_of(' ');
  if (start == std::string_view::npos) return std::nullopt;
  rest.remove_prefix(start);
  return ToNumber(rest.substr(0, rest.find(' ')));
}

std::vector<Family> ProcessFamilies(const ProcessStats& s) {
  std::vector<Family> out;
  if (s.cpu_seconds) {
    out.push_back({"process_cpu_seconds_total",
                   "Total user and system CPU time spent in seconds.",
                   MetricType::kCounter,
                   {{{}, *s.cpu_seconds}}});
  }
  if (s.open_fds)
    out.push_back(Gauge("process_open_fds", "Number of open file descriptors.", *s.open_fds));
  if (s.max_fds)
    out.push_back(Gauge("process_max_fds", "Maximum number of open file descriptors.", *s.max_fds));
  if (s.virtual_bytes) {
    out.push_back(
        Gauge("process_virtual_memory_bytes", "Virtual memory size in bytes.", *s.virtual_bytes));
  }
  if (s.resident_bytes) {
    out.push_back(Gauge("process_resident_memory_bytes", "Resident memory size in bytes.",
                        *s.resident_bytes));
  }
  if (s.start_time_seconds) {
    out.push_back(Gauge("process_start_time_seconds",
                        "Start time of the process since unix epoch in seconds.",
                        *s.start_time_seconds));
  }
  if (s.threads)
    out.push_back(Gauge("process_threads", "Number of OS threads in the process.", *s.threads));
  return out;
}

ProcessStats ReadProcessStats(const std::string& proc_root) {
  ProcessStats stats;
  std::optional<double> boot_time;
  if (auto text = ReadFile(proc_root + "/stat")) boot_time = ParseBootTime(*text);
  if (auto text = ReadFile(proc_root + "/self/stat")) {
    ParseProcPidStat(*text, static_cast<double>(sysconf(_SC_CLK_TCK)),
                     static_cast<double>(sysconf(_SC_PAGESIZE)), boot_time, &stats);
  }
  if (auto text = ReadFile(proc_root + "/self/limits")) stats.max_fds = ParseMaxOpenFiles(*text);
  std::error_code ec;
  std::filesystem::directory_iterator it(proc_root + "/self/fd", ec);
  if (!ec) {
    double n = 0;
    for (; it != std::filesystem::directory_iterator(); it.increment(ec)) {
      if (ec) break;
      ++n;
    }
    // The iterator's own descriptor is in the listing: it is open at the
    // moment of the scrape, as in the Go client.
    if (!ec) stats.open_fds = n;
  }
  return stats;
}

namespace {

class ProcessCollector : public Collector {
 public:
  explicit ProcessCollector(Sources s) : sources_(std::move(s)) {}
  const char* name() const override { return "process"; }
  bool Collect(std::vector<Family>* out) const override {
    const ProcessStats stats = ReadProcessStats(sources_.proc_root);
    if (!stats.cpu_seconds) return false;  // /proc/self/stat unreadable
    for (auto& f : ProcessFamilies(stats))
      out->push_back(std::move(f));
    return true;
  }

 private:
  Sources sources_;
};

}  // namespace

std::unique_ptr<Collector> MakeProcessCollector(const Sources& sources) {
  return std::make_unique<ProcessCollector>(sources);
}

}  // namespace ringwatch::collectors
