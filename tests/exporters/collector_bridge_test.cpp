#include "exporters/collector_bridge.h"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

namespace ringwatch::exporters {
namespace {

class Fixed : public collectors::Collector {
 public:
  Fixed(const char* name, bool ok) : name_(name), ok_(ok) {}
  const char* name() const override { return name_; }
  bool Collect(std::vector<collectors::Family>* out) const override {
    out->push_back({std::string("test_") + name_ + "_total",
                    "A test counter.",
                    collectors::MetricType::kCounter,
                    {{{{"device", "eth0"}}, 42}}});
    return ok_;
  }

 private:
  const char* name_;
  bool ok_;
};

TEST(CollectorBridge, ConvertsFamiliesAndReportsDurationAndSuccess) {
  std::vector<std::unique_ptr<collectors::Collector>> cs;
  cs.push_back(std::make_unique<Fixed>("good", true));
  cs.push_back(std::make_unique<Fixed>("bad", false));
  const std::string text =
      prometheus::TextSerializer().Serialize(CollectorBridge(std::move(cs)).Collect());
  EXPECT_NE(text.find("# TYPE test_good_total counter\ntest_good_total{device=\"eth0\"} 42\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("test_bad_total"),
            std::string::npos);  // a failed collector's output is dropped
  EXPECT_NE(text.find("ringwatch_scrape_collector_success{collector=\"good\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringwatch_scrape_collector_success{collector=\"bad\"} 0\n"),
            std::string::npos);
  EXPECT_NE(text.find("ringwatch_scrape_collector_duration_seconds{collector=\"good\"} "),
            std::string::npos);
}

TEST(CollectorBridge, NoCollectorsNoFamilies) {
  EXPECT_TRUE(CollectorBridge({}).Collect().empty());
}

}  // namespace
}  // namespace ringwatch::exporters
