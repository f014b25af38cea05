#include "collectors/memory.h"

#include <charconv>

namespace ringwatch::collectors {
namespace {

// Value of "Key:   123 kB" in bytes.
std::optional<double> Field(std::string_view text, std::string_view key) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.starts_with(key) || line.size() <= key.size() || line[key.size()] != ':') continue;
    line.remove_prefix(key.size() + 1);
    const auto start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::nullopt;
    line.remove_prefix(start);
    double value = 0;
    auto [p, ec] = std::from_chars(line.data(), line.data() + line.size(), value);
    if (ec != std::errc()) return std::nullopt;
    const std::string_view unit = std::string_view(p, line.data() + line.size() - p);
    return unit.find("kB") != std::string_view::npos ? value * 1024 : value;
  }
  return std::nullopt;
}

class MemoryCollector : public Collector {
 public:
  explicit MemoryCollector(Sources s) : sources_(std::move(s)) {}
  const char* name() const override { return "memory"; }
  bool Collect(std::vector<Family>* out) const override {
    const auto text = ReadFile(sources_.proc_root + "/meminfo");
    if (!text) return false;
    const auto m = ParseMeminfo(*text);
    if (!m) return false;
    out->push_back({"ringwatch_host_memory_total_bytes",
                    "Total usable memory (MemTotal).",
                    MetricType::kGauge,
                    {{{}, m->total_bytes}}});
    out->push_back({"ringwatch_host_memory_available_bytes",
                    "Memory available for new work without swapping (MemAvailable).",
                    MetricType::kGauge,
                    {{{}, m->available_bytes}}});
    return true;
  }

 private:
  Sources sources_;
};

}  // namespace

std::optional<MemInfo> ParseMeminfo(std::string_view meminfo) {
  const auto total = Field(meminfo, "MemTotal");
  const auto available = Field(meminfo, "MemAvailable");
  if (!total || !available) return std::nullopt;
  return MemInfo{*total, *available};
}

std::unique_ptr<Collector> MakeMemoryCollector(const Sources& sources) {
  return std::make_unique<MemoryCollector>(sources);
}

}  // namespace ringwatch::collectors
