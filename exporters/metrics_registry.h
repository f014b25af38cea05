#pragma once
// The agent's metrics: one prometheus-cpp Registry for ringwatch_* families,
// plus extra Collectables (process_* metrics, later the host collectors), all
// rendered together in the text exposition format 0.0.4 for /metrics.
//
// Thread-safety: AddCollectable is called during start-up, before Render runs
// concurrently; Render and the Registry's own API are thread-safe.

#include <prometheus/collectable.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

namespace ringwatch::exporters {

inline constexpr const char* kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

class MetricsRegistry {
 public:
  // Registers ringwatch_build_info{version,revision} = 1.
  MetricsRegistry(const std::string& version, const std::string& revision);

  prometheus::Registry& registry() { return *registry_; }

  void AddCollectable(std::shared_ptr<prometheus::Collectable> collectable);

  // All families, sorted by name so that the output is stable.
  std::string Render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::vector<std::shared_ptr<prometheus::Collectable>> collectables_;
};

}  // namespace ringwatch::exporters
