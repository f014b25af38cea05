#include "collectors/health_summary.h"

#include <gtest/gtest.h>

#include "tests/support/temp_dir.h"

namespace ringwatch::collectors {
namespace {

using namespace std::chrono_literals;

TEST(HealthSampler, SummarizesLoadMemoryFilesystemsAndAgentCpu) {
  testing::TempDir proc;
  std::filesystem::create_directories(proc.File("self"));
  proc.Write("loadavg", "2.00 1.00 0.50 1/100 999\n");
  proc.Write("meminfo", "MemTotal: 1000 kB\nMemAvailable: 250 kB\n");
  proc.Write("mounts", "/dev/a / ext4 rw 0 0\n/dev/b /data xfs rw 0 0\nproc /proc proc rw 0 0\n");
  proc.Write("stat", "cpu  1 2 3 4 5 6 7 8\nbtime 1700000000\n");
  // utime + stime = 100 + 50 ticks.
  const std::string stat_prefix = "42 (ringwatch) S 1 42 42 0 -1 0 0 0 0 0 ";
  const std::string stat_suffix = " 0 0 20 0 3 0 100 1000 10 0\n";
  proc.Write("self/stat", stat_prefix + "100 50" + stat_suffix);
  Sources sources{proc.path(), [](const std::string& m) -> std::optional<FsStats> {
                    return FsStats{1000, m == "/data" ? 100.0 : 600.0};  // /data is 90 % full
                  }};
  HealthSampler sampler(sources, 4);
  const core::Instant t0{};
  auto s = sampler.Sample(t0);
  ASSERT_TRUE(s);
  EXPECT_FLOAT_EQ(s->load1_per_core, 0.5f);
  EXPECT_FLOAT_EQ(s->memory_available_ratio, 0.25f);
  EXPECT_FLOAT_EQ(s->fullest_filesystem_ratio, 0.9f);
  EXPECT_FLOAT_EQ(s->agent_cpu_ratio, 0.0f);  // no previous sample
  // One more second of CPU over two seconds of wall time: half a core.
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  proc.Write("self/stat",
             stat_prefix + std::to_string(100 + static_cast<int>(ticks)) + " 50" + stat_suffix);
  s = sampler.Sample(t0 + 2s);
  ASSERT_TRUE(s);
  EXPECT_FLOAT_EQ(s->agent_cpu_ratio, 0.5f);
}

TEST(HealthSampler, NothingWithoutProc) {
  HealthSampler sampler({"/nonexistent-proc", nullptr}, 2);
  EXPECT_FALSE(sampler.Sample(core::Instant{}));
}

}  // namespace
}  // namespace ringwatch::collectors
