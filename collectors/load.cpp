#include "collectors/load.h"

#include <charconv>

namespace ringwatch::collectors {

std::optional<double> ParseLoad1(std::string_view loadavg) {
  double v = 0;
  const auto end = loadavg.find(' ');
  if (end == std::string_view::npos) return std::nullopt;
  auto [p, ec] = std::from_chars(loadavg.data(), loadavg.data() + end, v);
  if (ec != std::errc() || p != loadavg.data() + end) return std::nullopt;
  return v;
}

namespace {

class LoadCollector : public Collector {
 public:
  explicit LoadCollector(Sources s) : sources_(std::move(s)) {}
  const char* name() const override { return "load"; }
  bool Collect(std::vector<Family>* out) const override {
    const auto text = ReadFile(sources_.proc_root + "/loadavg");
    if (!text) return false;
    const auto load1 = ParseLoad1(*text);
    if (!load1) return false;
    out->push_back(
        {"ringwatch_host_load1", "1-minute load average.", MetricType::kGauge, {{{}, *load1}}});
    return true;
  }

 private:
  Sources sources_;
};

}  // namespace

std::unique_ptr<Collector> MakeLoadCollector(const Sources& sources) {
  return std::make_unique<LoadCollector>(sources);
}

}  // namespace ringwatch::collectors
