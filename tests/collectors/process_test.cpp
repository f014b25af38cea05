#include "collectors/process.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "tests/support/temp_dir.h"

namespace ringwatch::collectors {
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

std::map<std::string, Family> CollectByName(const Sources& sources) {
  std::vector<Family> families;
  EXPECT_TRUE(MakeProcessCollector(sources)->Collect(&families));
  std::map<std::string, Family> by_name;
  for (auto& f : families)
    by_name[f.name] = f;
  return by_name;
}

TEST(ProcessMetrics, CollectorReadsAProcTree) {
  testing::TempDir proc;
  std::filesystem::create_directories(proc.File("self/fd"));
  proc.Write("stat", kProcStat);
  proc.Write("self/stat", kStat);
  proc.Write("self/limits", kLimits);
  for (const char* fd : {"0", "1", "2", "5"})
    proc.Write(std::string("self/fd/") + fd, "");
  auto by_name = CollectByName({proc.path(), nullptr});
  ASSERT_EQ(by_name.size(), 7u);
  EXPECT_EQ(by_name["process_cpu_seconds_total"].type, MetricType::kCounter);
  EXPECT_DOUBLE_EQ(by_name["process_cpu_seconds_total"].samples[0].value, 3.8);
  EXPECT_DOUBLE_EQ(by_name["process_open_fds"].samples[0].value, 4);
  EXPECT_DOUBLE_EQ(by_name["process_max_fds"].samples[0].value, 1024);
  EXPECT_DOUBLE_EQ(by_name["process_threads"].samples[0].value, 7);
  EXPECT_DOUBLE_EQ(by_name["process_start_time_seconds"].samples[0].value,
                   1700000000.0 + 12345.0 / static_cast<double>(sysconf(_SC_CLK_TCK)));
}

TEST(ProcessMetrics, MissingProcFailsRatherThanReportingGarbage) {
  std::vector<Family> families;
  EXPECT_FALSE(MakeProcessCollector({"/nonexistent-proc", nullptr})->Collect(&families));
  EXPECT_TRUE(families.empty());
}

TEST(ProcessMetrics, RealProcSelfHasEveryFamily) {
  const auto by_name = CollectByName({"/proc", nullptr});
  EXPECT_EQ(by_name.size(), 7u);
  for (const auto& [name, f] : by_name) {
    ASSERT_EQ(f.samples.size(), 1u) << name;
    if (name != "process_cpu_seconds_total") {
      EXPECT_GT(f.samples[0].value, 0) << name;
    }
  }
}

}  // namespace
}  // namespace ringwatch::collectors
