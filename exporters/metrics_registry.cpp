#include "exporters/metrics_registry.h"

#include <prometheus/gauge.h>
#include <prometheus/text_serializer.h>

#include <algorithm>

namespace ringwatch::exporters {

MetricsRegistry::MetricsRegistry(const std::string& version, const std::string& revision)
    : registry_(std::make_shared<prometheus::Registry>()) {
  prometheus::BuildGauge()
      .Name("ringwatch_build_info")
      .Help("Build information of the running agent; the value is always 1.")
      .Register(*registry_)
      .Add({{"version", version}, {"revision", revision}})
      .Set(1);
}

void MetricsRegistry::AddCollectable(std::shared_ptr<prometheus::Collectable> collectable) {
  collectables_.push_back(std::move(collectable));
}

std::string MetricsRegistry::Render() const {
  std::vector<prometheus::MetricFamily> families = registry_->Collect();
  for (const auto& c : collectables_) {
    auto more = c->Collect();
    families.insert(families.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
  }
  std::stable_sort(families.begin(), families.end(),
                   [](const auto& a, const auto& b) { return a.name < b.name; });
  return prometheus::TextSerializer().Serialize(families);
}

}  // namespace ringwatch::exporters
