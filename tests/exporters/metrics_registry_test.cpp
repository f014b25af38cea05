#include "exporters/metrics_registry.h"

#include <gtest/gtest.h>
#include <prometheus/counter.h>

namespace ringwatch::exporters {
namespace {

class FixedCollectable : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override {
    prometheus::ClientMetric m;
    m.gauge.value = 42;
    return {{"aaa_first", "Sorted first.", prometheus::MetricType::Gauge, {m}}};
  }
};

TEST(MetricsRegistry, RendersBuildInfoInTextFormat) {
  MetricsRegistry r("1.2.3", "abc123");
  const std::string text = r.Render();
  EXPECT_NE(text.find("# TYPE ringwatch_build_info gauge\n"), std::string::npos) << text;
  EXPECT_NE(text.find("ringwatch_build_info{revision=\"abc123\",version=\"1.2.3\"} 1\n"),
            std::string::npos)
      << text;
}

TEST(MetricsRegistry, MergesCollectablesSortedByName) {
  MetricsRegistry r("1", "r");
  prometheus::BuildCounter()
      .Name("ringwatch_x_total")
      .Help("x")
      .Register(r.registry())
      .Add({})
      .Increment(3);
  r.AddCollectable(std::make_shared<FixedCollectable>());
  const std::string text = r.Render();
  const auto a = text.find("aaa_first 42");
  const auto b = text.find("ringwatch_build_info");
  const auto x = text.find("ringwatch_x_total 3");
  ASSERT_NE(a, std::string::npos);
  ASSERT_NE(x, std::string::npos);
  EXPECT_LT(a, b);
  EXPECT_LT(b, x);
}

}  // namespace
}  // namespace ringwatch::exporters
