#include "exporters/collector_bridge.h"

#include <chrono>

namespace ringwatch::exporters {
namespace {

prometheus::MetricFamily Convert(const collectors::Family& f) {
  prometheus::MetricFamily out{f.name,
                               f.help,
                               f.type == collectors::MetricType::kCounter
                                   ? prometheus::MetricType::Counter
                                   : prometheus::MetricType::Gauge,
                               {}};
  for (const auto& s : f.samples) {
    prometheus::ClientMetric m;
    for (const auto& [name, value] : s.labels)
      m.label.push_back({name, value});
    if (f.type == collectors::MetricType::kCounter) {
      m.counter.value = s.value;
    } else {
      m.gauge.value = s.value;
    }
    out.metric.push_back(std::move(m));
  }
  return out;
}

}  // namespace

CollectorBridge::CollectorBridge(std::vector<std::unique_ptr<collectors::Collector>> collectors)
    : collectors_(std::move(collectors)) {}

std::vector<prometheus::MetricFamily> CollectorBridge::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  prometheus::MetricFamily duration{"ringwatch_scrape_collector_duration_seconds",
                                    "Time a collector took in this scrape.",
                                    prometheus::MetricType::Gauge,
                                    {}};
  prometheus::MetricFamily success{
      "ringwatch_scrape_collector_success",
      "Whether a collector succeeded in this scrape (1) or failed (0).",
      prometheus::MetricType::Gauge,
      {}};
  for (const auto& c : collectors_) {
    std::vector<collectors::Family> families;
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = c->Collect(&families);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (ok) {
      for (const auto& f : families)
        out.push_back(Convert(f));
    }
    prometheus::ClientMetric d, s;
    d.label.push_back({"collector", c->name()});
    d.gauge.value = seconds;
    s.label.push_back({"collector", c->name()});
    s.gauge.value = ok ? 1 : 0;
    duration.metric.push_back(std::move(d));
    success.metric.push_back(std::move(s));
  }
  if (!collectors_.empty()) {
    out.push_back(std::move(duration));
    out.push_back(std::move(success));
  }
  return out;
}

}  // namespace ringwatch::exporters
