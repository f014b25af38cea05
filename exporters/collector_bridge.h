#pragma once
// Exposes collectors::Collector families to Prometheus, node_exporter style:
// on every scrape each collector runs in turn (on the scraping thread), its
// families are converted, and two families describe the run:
//   ringwatch_scrape_collector_duration_seconds{collector}
//   ringwatch_scrape_collector_success{collector}   1, or 0 when it failed
// Thread-safe: collectors are stateless.

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <vector>

#include "collectors/collector.h"

namespace ringwatch::exporters {

class CollectorBridge : public prometheus::Collectable {
 public:
  explicit CollectorBridge(std::vector<std::unique_ptr<collectors::Collector>> collectors);
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::vector<std::unique_ptr<collectors::Collector>> collectors_;
};

}  // namespace ringwatch::exporters
