// The peer port of a real agent under hostile traffic (issue "Hostile
// networks"; the bounded part): memory before authentication stays bounded
// under announced-huge frames and a thousand idle connections, and a join
// request out of bounds (a 300-byte id, a weight of 2^32-1) is refused with
// its reason and never committed. Every wait polls with a deadline.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include "agent/peer/peer_frame.h"
#include "core/byte_codec.h"
#include "core/clock.h"
#include "membership/peer_message.h"
#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;

constexpr auto kDeadline = 30s;

// A TCP connection to 127.0.0.1:port, or -1.
int Connect(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool SendAll(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// A kB figure of /proc/PID/status ("VmRSS", "RssAnon").
long StatusKb(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  return -1;
}

int64_t WallMs() {
  return core::WallClockMs();
}

const FrameSender& Mallory() {
  static const FrameSender s{"mallory", 1, core::SigningKey::Generate()};
  return s;
}

// A frame as the peer port reads it: u32 length, then the frame.
std::string StreamFrame(FrameType type, std::string_view payload,
                        const FrameSender& sender = Mallory(), std::string_view key = "",
                        std::string_view cluster = "default") {
  static uint64_t sequence = 0;
  const std::string frame = EncodeFrame(type, cluster, sender, ++sequence, WallMs(), payload, key);
  core::ByteWriter w;
  w.U32(static_cast<uint32_t>(frame.size()));
  w.Bytes(frame);
  return w.Take();
}

std::string StreamFrame(const membership::PeerMessage& m) {
  return StreamFrame(FrameType::kMembership, membership::EncodePeerMessage(m));
}

TEST(HostileProcess, MemoryStaysBoundedUnderHugeAnnouncedFramesAndAThousandIdleConnections) {
  rlimit fds{};
  ::getrlimit(RLIMIT_NOFILE, &fds);
  fds.rlim_cur = std::min<rlim_t>(fds.rlim_max, 4096);
  ::setrlimit(RLIMIT_NOFILE, &fds);
  if (fds.rlim_cur < 1200) GTEST_SKIP() << "needs 1200 file descriptors, has " << fds.rlim_cur;

  AgentProcess agent("node-1");
  std::string error;
  ASSERT_TRUE(agent.Start(&error)) << error;
  const pid_t pid = agent.process().pid();
  std::this_thread::sleep_for(1s);  // settle: the baseline, not synchronization
  const long rss_before = StatusKb(pid, "VmRSS");
  const long anon_before = StatusKb(pid, "RssAnon");

  // 100 connections that each announce a 64 MiB frame and send 64 KiB of
  // it, then nothing; 1000 that send nothing at all.
  std::vector<int> fds_open;
  core::ByteWriter w;
  w.U32(static_cast<uint32_t>(kMaxStreamFrame));
  const std::string announce = w.Take() + std::string(64 << 10, 'x');
  for (int i = 0; i < 100; ++i) {
    const int fd = Connect(agent.peer_port());
    if (fd < 0) continue;
    SendAll(fd, announce);  // may fail once the agent has closed it
    fds_open.push_back(fd);
  }
  for (int i = 0; i < 1000; ++i) {
    const int fd = Connect(agent.peer_port());
    if (fd >= 0) fds_open.push_back(fd);
  }
  std::this_thread::sleep_for(2s);  // the measurement window
  const long rss_after = StatusKb(pid, "VmRSS");
  const long anon_after = StatusKb(pid, "RssAnon");
  std::cout << "VmRSS " << rss_before << " -> " << rss_after << " KiB, RssAnon " << anon_before
            << " -> " << anon_after << " KiB under 100 announced 64 MiB frames and 1000 idle "
            << "connections\n";
  EXPECT_LT(rss_after - rss_before, 64 * 1024) << "bounded, not 100 x 64 MiB";
  EXPECT_TRUE(agent.process().Running());
  EXPECT_GT(testing::MetricSample(agent, "ringwatch_messages_dropped_total{reason=\"conn_limit\"}"),
            0)
      << "over the per-address cap: refused";
  // Silent connections do not stay: closed at the read deadline (10 s).
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        return testing::MetricSample(agent,
                                     "ringwatch_messages_dropped_total{reason=\"timeout\"}") >= 60;
      },
      kDeadline, 200ms));
  // The agent still answers and still leads its one-member cluster.
  auto r = testing::RaftStatus(agent);
  ASSERT_FALSE(r.is_null());
  EXPECT_EQ(r["role"], "leader");
  for (int fd : fds_open)
    ::close(fd);
}

TEST(HostileProcess, AJoinRequestOutOfBoundsIsRefusedWithItsReasonAndNeverCommitted) {
  AgentProcess agent("node-1");
  std::string error;
  ASSERT_TRUE(agent.Start(&error)) << error;
  ASSERT_TRUE(testing::PollUntil([&] { return testing::MemberState(agent, "node-1") == "alive"; },
                                 kDeadline, 20ms));
  const double before =
      testing::MetricSample(agent, "ringwatch_messages_dropped_total{reason=\"out_of_bounds\"}");
  membership::MemberInfo long_id{std::string(300, 'm'), "127.0.0.1:9", "", "", 1, 5};
  membership::MemberInfo heavy{"mallory", "127.0.0.1:9", "", "mallory", 4294967295u, 5};
  const int fd = Connect(agent.peer_port());
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(SendAll(fd, StreamFrame(membership::JoinRequest{long_id, false}) +
                              StreamFrame(membership::JoinRequest{heavy, false})));
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        return testing::MetricSample(
                   agent, "ringwatch_messages_dropped_total{reason=\"out_of_bounds\"}") >=
               before + 2;
      },
      kDeadline, 20ms));
  ::close(fd);
  const std::string log = agent.process().Stderr();
  EXPECT_NE(log.find("peer message refused"), std::string::npos) << log;
  EXPECT_NE(log.find("member id must be 1-64 characters"), std::string::npos) << log;
  std::this_thread::sleep_for(500ms);  // would a proposal commit? (it takes ~1 ms)
  auto members = testing::GetJson(agent, "/v1/members");
  ASSERT_FALSE(members.is_null());
  EXPECT_EQ(members["members"].size(), 1u) << members.dump();
  auto ring = testing::GetJson(agent, "/v1/ring");
  EXPECT_EQ(ring["members"].size(), 1u);
}

}  // namespace
}  // namespace ringwatch::agent
