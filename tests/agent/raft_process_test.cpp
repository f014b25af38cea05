// Multi-process tests of the embedded Raft group: three real agents on
// loopback elect one leader; after the leader is SIGKILLed the others elect
// a new one, and the killed agent rejoins from its data directory; a leader
// stopped with SIGTERM hands leadership over first; a damaged wal stops the
// agent with the file and offset. Every wait polls with a generous deadline.

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;

constexpr auto kDeadline = 30s;
const std::string kVoters = "  bootstrap_voters: [node-1, node-2, node-3]\n";

using testing::AgreedLeader;
using testing::RaftStatus;

int IndexOf(const std::string& id) {
  return std::stoi(id.substr(5)) - 1;
}

TEST(RaftProcess, ElectsOneLeaderFailsOverAfterSigkillAndTheKilledAgentRejoins) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::string error;
  ASSERT_TRUE(testing::StartSeededCluster(3, &agents, &error, kVoters)) << error;
  std::vector<AgentProcess*> all = {agents[0].get(), agents[1].get(), agents[2].get()};
  std::string leader;
  uint64_t term = 0;
  ASSERT_TRUE(testing::PollUntil([&] { return !(leader = AgreedLeader(all, &term)).empty(); },
                                 kDeadline, 20ms))
      << agents[0]->process().Stderr();
  nlohmann::json status;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        status = RaftStatus(*all[IndexOf(leader)]);
        // The bootstrap entry and the leader's own empty entry.
        return !status.is_null() && status["commit_index"].get<uint64_t>() >= 2;
      },
      kDeadline, 20ms));
  EXPECT_EQ(status["role"], "leader");
  EXPECT_EQ(status["voters"].size(), 3u);

  AgentProcess& victim = *all[IndexOf(leader)];
  std::vector<AgentProcess*> rest;
  for (AgentProcess* a : all)
    if (a != &victim) rest.push_back(a);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(victim.process().Signal(SIGKILL));
  ASSERT_EQ(victim.process().Wait(kDeadline), 128 + SIGKILL);
  std::string next;
  uint64_t next_term = 0;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        next = AgreedLeader(rest, &next_term);
        return !next.empty() && next != leader;
      },
      kDeadline, 5ms))
      << "no new leader agreed (a rare stall seen once under ASan): the survivors' Raft status "
      << testing::RaftStatus(*rest[0]).dump() << " / " << testing::RaftStatus(*rest[1]).dump()
      << "\nlog of one survivor:\n"
      << rest[0]->process().Stderr();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "new leader " << next << " (term " << next_term << ") " << seconds
            << " s after SIGKILL of " << leader << "\n";
  EXPECT_GT(next_term, term);

  // The killed agent restarts from its data directory and follows.
  ASSERT_TRUE(victim.Start(&error)) << error;
  ASSERT_TRUE(testing::PollUntil([&] { return AgreedLeader(all) == next; }, kDeadline, 20ms));
  auto back = RaftStatus(victim);
  EXPECT_EQ(back["role"], "follower");
  EXPECT_GE(back["term"].get<uint64_t>(), next_term);
}

TEST(RaftProcess, SigtermOnTheLeaderHandsLeadershipOver) {
  std::vector<std::unique_ptr<AgentProcess>> agents;
  std::string error;
  ASSERT_TRUE(testing::StartSeededCluster(3, &agents, &error, kVoters)) << error;
  std::vector<AgentProcess*> all = {agents[0].get(), agents[1].get(), agents[2].get()};
  std::string leader;
  ASSERT_TRUE(
      testing::PollUntil([&] { return !(leader = AgreedLeader(all)).empty(); }, kDeadline, 20ms));
  // Wait until every follower is caught up, so the transfer can go at once.
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        for (AgentProcess* a : all) {
          auto r = RaftStatus(*a);
          if (r.is_null() || r["commit_index"] != RaftStatus(*all[IndexOf(leader)])["commit_index"])
            return false;
        }
        return true;
      },
      kDeadline, 20ms));
  AgentProcess& old = *all[IndexOf(leader)];
  ASSERT_TRUE(old.process().Signal(SIGTERM));
  EXPECT_EQ(old.process().Wait(kDeadline), 0);
  EXPECT_NE(old.process().Stderr().find("leadership transferred"), std::string::npos)
      << old.process().Stderr();
  std::vector<AgentProcess*> rest;
  for (AgentProcess* a : all)
    if (a != &old) rest.push_back(a);
  std::string next;
  ASSERT_TRUE(testing::PollUntil(
      [&] { return !(next = AgreedLeader(rest)).empty() && next != leader; }, kDeadline, 20ms));
}

TEST(RaftProcess, DamagedWalStopsTheAgentNamingFileAndOffset) {
  AgentProcess agent("node-1");
  std::string error;
  ASSERT_TRUE(agent.Start(&error)) << error;  // a one-voter cluster of itself
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        auto r = RaftStatus(agent);
        return !r.is_null() && r["role"] == "leader";
      },
      kDeadline, 20ms));
  ASSERT_TRUE(agent.process().Signal(SIGTERM));
  ASSERT_EQ(agent.process().Wait(kDeadline), 0);
  const std::string wal = agent.dir().File("data/raft/wal");
  ASSERT_TRUE(std::filesystem::exists(wal)) << wal;
  std::string bytes;
  {
    std::ifstream in(wal, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 40u);
  bytes[24] ^= 0x10;  // inside the first record, which is not the last
  std::ofstream(wal, std::ios::binary | std::ios::trunc) << bytes;
  EXPECT_FALSE(agent.Start(&error, 10s));
  EXPECT_EQ(agent.process().Wait(kDeadline), 1);
  const std::string err = agent.process().Stderr();
  EXPECT_NE(err.find(wal), std::string::npos) << err;
  EXPECT_NE(err.find("offset 8"), std::string::npos) << err;
}

}  // namespace
}  // namespace ringwatch::agent
