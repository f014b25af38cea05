// cpu, memory, load, filesystem and network collectors on recorded /proc
// text (one test group per collector file), and through MakeCollectors on a
// fake /proc tree.

#include <gtest/gtest.h>
#include <unistd.h>

#include <map>

#include "collectors/cpu.h"
#include "collectors/filesystem.h"
#include "collectors/load.h"
#include "collectors/memory.h"
#include "collectors/network.h"
#include "tests/support/temp_dir.h"

namespace ringwatch::collectors {
namespace {

constexpr const char* kProcStat =
    "cpu  10132153 290696 3084719 46828483 16683 0 25195 0 175628 0\n"
    "cpu0 1393280 32966 572056 13343292 6130 0 17875 0 23933 0\n"
    "intr 1462898\nbtime 1700000000\n";

constexpr const char* kMeminfo =
    "MemTotal:       16303236 kB\n"
    "MemFree:         3003576 kB\n"
    "MemAvailable:   10480100 kB\n"
    "Buffers:          516592 kB\n";

constexpr const char* kLoadavg = "0.52 0.58 0.59 2/1045 123456\n";

constexpr const char* kMounts =
    "sysfs /sys sysfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    "proc /proc proc rw,nosuid,nodev,noexec,relatime 0 0\n"
    "udev /dev devtmpfs rw,nosuid,relatime 0 0\n"
    "/dev/vda1 / ext4 rw,relatime 0 0\n"
    "tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime 0 0\n"
    "cgroup2 /sys/fs/cgroup cgroup2 rw 0 0\n"
    "/dev/vdb1 /srv/my\\040data xfs rw 0 0\n"
    "/dev/vda1 / ext4 rw,relatime 0 0\n"
    "overlay /var/lib/docker/overlay2/x/merged overlay rw 0 0\n"
    "tmpfs /run/credentials/systemd-sysusers.service tmpfs ro 0 0\n";

constexpr const char* kNetDev =
    "Inter-|   Receive                                                |  Transmit\n"
    " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop "
    "fifo colls "
    "carrier compressed\n"
    "    lo: 1234567   8910    0    0    0     0          0         0  1234567   8910    0    0    "
    "0     0       "
    "0          0\n"
    "  eth0: 987654321 123456  0    0    0     0          0         0 123456789 65432    0    0    "
    "0     0       "
    "0          0\n";

TEST(Cpu, ParsesTheAggregateLine) {
  const auto s = ParseCpuSeconds(kProcStat, 100);
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->at("user"), 101321.53);
  EXPECT_DOUBLE_EQ(s->at("nice"), 2906.96);
  EXPECT_DOUBLE_EQ(s->at("system"), 30847.19);
  EXPECT_DOUBLE_EQ(s->at("idle"), 468284.83);
  EXPECT_DOUBLE_EQ(s->at("iowait"), 166.83);
  EXPECT_DOUBLE_EQ(s->at("irq"), 0);
  EXPECT_DOUBLE_EQ(s->at("softirq"), 251.95);
  EXPECT_DOUBLE_EQ(s->at("steal"), 0);
  EXPECT_EQ(s->size(), 8u);
  EXPECT_FALSE(ParseCpuSeconds("intr 5\n", 100));
  EXPECT_FALSE(ParseCpuSeconds("cpu  1 2 3\n", 100));
}

TEST(Memory, ParsesTotalAndAvailableInBytes) {
  const auto m = ParseMeminfo(kMeminfo);
  ASSERT_TRUE(m);
  EXPECT_DOUBLE_EQ(m->total_bytes, 16303236.0 * 1024);
  EXPECT_DOUBLE_EQ(m->available_bytes, 10480100.0 * 1024);
  EXPECT_FALSE(ParseMeminfo("MemTotal: 5 kB\n"));
  EXPECT_FALSE(ParseMeminfo("MemTotalX: 5 kB\nMemAvailable: 1 kB\n"));
}

TEST(Load, ParsesLoad1) {
  EXPECT_EQ(ParseLoad1(kLoadavg), 0.52);
  EXPECT_FALSE(ParseLoad1("garbage"));
  EXPECT_FALSE(ParseLoad1("x 1 2\n"));
}

TEST(Filesystem, KeepsRealFilesystemsOnceAndDecodesEscapes) {
  const auto mounts = ParseMounts(kMounts);
  std::vector<std::string> points;
  for (const auto& m : mounts)
    points.push_back(m.mountpoint);
  EXPECT_EQ(points, (std::vector<std::string>{"/", "/run", "/srv/my data"}));
}

TEST(Network, ParsesBytesPerDevice) {
  const auto d = ParseNetDev(kNetDev);
  ASSERT_TRUE(d);
  ASSERT_EQ(d->size(), 2u);
  EXPECT_DOUBLE_EQ(d->at("eth0").receive, 987654321);
  EXPECT_DOUBLE_EQ(d->at("eth0").transmit, 123456789);
  EXPECT_DOUBLE_EQ(d->at("lo").receive, 1234567);
  EXPECT_FALSE(ParseNetDev("header\nheader\neth0 1 2 3\n"));
}

TEST(Collectors, EveryCollectorReadsAFakeProcTree) {
  testing::TempDir proc;
  std::filesystem::create_directories(proc.File("net"));
  proc.Write("stat", kProcStat);
  proc.Write("meminfo", kMeminfo);
  proc.Write("loadavg", kLoadavg);
  proc.Write("mounts", kMounts);
  proc.Write("net/dev", kNetDev);
  Sources sources{proc.path(), [](const std::string& mountpoint) -> std::optional<FsStats> {
                    if (mountpoint == "/run") return std::nullopt;  // a failing mount is skipped
                    return FsStats{1000, mountpoint == "/" ? 250.0 : 900.0};
                  }};
  std::map<std::string, Family> by_name;
  for (const auto& c :
       MakeCollectors({"cpu", "memory", "load", "filesystem", "network"}, sources)) {
    std::vector<Family> families;
    EXPECT_TRUE(c->Collect(&families)) << c->name();
    for (auto& f : families)
      by_name[f.name] = f;
  }
  EXPECT_EQ(by_name["ringwatch_host_cpu_seconds_total"].samples.size(), 8u);
  EXPECT_EQ(by_name["ringwatch_host_cpu_seconds_total"].type, MetricType::kCounter);
  EXPECT_DOUBLE_EQ(by_name["ringwatch_host_memory_total_bytes"].samples[0].value,
                   16303236.0 * 1024);
  EXPECT_DOUBLE_EQ(by_name["ringwatch_host_load1"].samples[0].value, 0.52);
  const auto& avail = by_name["ringwatch_host_filesystem_avail_bytes"].samples;
  ASSERT_EQ(avail.size(), 2u);
  EXPECT_EQ(avail[0].labels[0].second, "/");
  EXPECT_DOUBLE_EQ(avail[0].value, 250);
  EXPECT_EQ(avail[1].labels[0].second, "/srv/my data");
  EXPECT_EQ(by_name["ringwatch_host_network_transmit_bytes_total"].samples.size(), 2u);
}

TEST(Collectors, AMissingSourceIsAFailureNotGarbage) {
  Sources sources{"/nonexistent-proc", StatFs};
  for (const auto& c :
       MakeCollectors({"cpu", "memory", "load", "filesystem", "network"}, sources)) {
    std::vector<Family> families;
    EXPECT_FALSE(c->Collect(&families)) << c->name();
    EXPECT_TRUE(families.empty());
  }
}

TEST(Collectors, RealProcWorks) {
  Sources sources{"/proc", StatFs};
  for (const auto& c :
       MakeCollectors({"cpu", "memory", "load", "filesystem", "network", "process"}, sources)) {
    std::vector<Family> families;
    EXPECT_TRUE(c->Collect(&families)) << c->name();
    EXPECT_FALSE(families.empty()) << c->name();
  }
}

}  // namespace
}  // namespace ringwatch::collectors
