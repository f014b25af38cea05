#include "exporters/process_metrics.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "tests/support/temp_dir.h"

namespace ringwatch::exporters {
namespace {

// /proc/[pid]/stat of a process whose command name holds spaces and ')'.
constexpr const char* kStat =
    "4242 (ring watch) (x)) S 1 4242 4242 0 -1 4194560 2506 0 0 0 250 130 0 0 20 0 7 0 "
    "12345 90000000 1500 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

constexpr const char* kProcStat =
    "cpu  1 2 3 4 5 6 7 0 0 0\nintr 123\nctxt 456\nbtime 1700000000\nprocesses 99\n";

constexpr const char* kLimits =
    "Limit                     Soft Limit           Hard Limit           Units     \n"
    "Max cpu time              unlimited            unlimited            seconds   \n"
    "Max open files            1024                 524288               files     \n";

TEST(ProcessMetrics, ParsesStatAfterTheLastParenthesis) {
  ProcessStats s;
  ASSERT_TRUE(ParseProcPidStat(kStat, 100, 4096, 1700000000.0, &s));
  EXPECT_DOUBLE_EQ(*s.cpu_seconds, 3.8);  // (250 + 130) / 100
  EXPECT_DOUBLE_EQ(*s.threads, 7);
  EXPECT_DOUBLE_EQ(*s.start_time_seconds, 1700000000.0 + 123.45);
  EXPECT_DOUBLE_EQ(*s.virtual_bytes, 90000000);
  EXPECT_DOUBLE_EQ(*s.resident_bytes, 1500.0 * 4096);
}

TEST(ProcessMetrics, RejectsTruncatedStat) {
  ProcessStats s;
  EXPECT_FALSE(ParseProcPidStat("4242 (x) S 1 2 3", 100, 4096, 0.0, &s));
  EXPECT_FALSE(ParseProcPidStat("no parenthesis", 100, 4096, 0.0, &s));
  EXPECT_FALSE(s.cpu_seconds);
}

TEST(ProcessMetrics, ParsesBootTimeAndLimits) {
  EXPECT_EQ(ParseBootTime(kProcStat), 1700000000.0);
  EXPECT_FALSE(ParseBootTime("cpu 1 2 3\n"));
  EXPECT_EQ(ParseMaxOpenFiles(kLimits), 1024.0);
  EXPECT_FALSE(ParseMaxOpenFiles(
      "Max open files            unlimited            unlimited            files\n"));
}

TEST(ProcessMetrics, CollectorReadsAProcTree) {
  testing::TempDir proc;
  std::filesystem::create_directories(proc.File("self/fd"));
  proc.Write("stat", kProcStat);
  proc.Write("self/stat", kStat);
  proc.Write("self/limits", kLimits);
  for (const char* fd : {"0", "1", "2", "5"})
    proc.Write(std::string("self/fd/") + fd, "");
  std::map<std::string, prometheus::MetricFamily> by_name;
  for (auto& f : ProcessCollector(proc.path()).Collect())
    by_name[f.name] = f;
  ASSERT_EQ(by_name.size(), 7u);
  EXPECT_EQ(by_name["process_cpu_seconds_total"].type, prometheus::MetricType::Counter);
  EXPECT_DOUBLE_EQ(by_name["process_cpu_seconds_total"].metric[0].counter.value, 3.8);
  EXPECT_DOUBLE_EQ(by_name["process_open_fds"].metric[0].gauge.value, 4);
  EXPECT_DOUBLE_EQ(by_name["process_max_fds"].metric[0].gauge.value, 1024);
  EXPECT_DOUBLE_EQ(by_name["process_threads"].metric[0].gauge.value, 7);
  EXPECT_DOUBLE_EQ(by_name["process_start_time_seconds"].metric[0].gauge.value,
                   1700000000.0 + 12345.0 / static_cast<double>(sysconf(_SC_CLK_TCK)));
}

TEST(ProcessMetrics, MissingProcYieldsNoFamiliesRatherThanGarbage) {
  EXPECT_TRUE(ProcessCollector("/nonexistent-proc").Collect().empty());
}

TEST(ProcessMetrics, RealProcSelfHasEveryFamily) {
  const auto families = ProcessCollector().Collect();
  EXPECT_EQ(families.size(), 7u);
  for (const auto& f : families) {
    ASSERT_EQ(f.metric.size(), 1u) << f.name;
    const double v = f.type == prometheus::MetricType::Counter ? f.metric[0].counter.value
                                                               : f.metric[0].gauge.value;
    if (f.name != "process_cpu_seconds_total") {
      EXPECT_GT(v, 0) << f.name;
    }
  }
}

}  // namespace
}  // namespace ringwatch::exporters
