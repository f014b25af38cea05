// Key rotation on a live cluster (docs/security.md, "Rotating the cluster
// key"), Serf's three steps on five real agents on loopback, each step
// rolled out one agent at a time with SIGHUP while heartbeats and Raft
// traffic flow: (1) add the new key to every keyring, (2) make it the first
// (signing) key everywhere, (3) remove the old key. No frame is refused at
// any point and no member is suspected; after the rotation a frame tagged
// with the old key is refused (`bad_hmac`), and a keyring that does not
// parse on SIGHUP leaves the one in use in place. Every wait polls.

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <thread>

#include "config/keyring.h"
#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;

constexpr auto kDeadline = 30s;
const std::vector<std::string> kAll{"node-1", "node-2", "node-3", "node-4", "node-5"};

std::size_t Count(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

class KeyringProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    old_key_ = config::GenerateKey();
    new_key_ = config::GenerateKey();
    keyring_ = dir_.Write("keyring", old_key_ + "\n");
    std::string error;
    ASSERT_TRUE(testing::StartSeededCluster(
        5, &agents_, &error,
        "  bootstrap_voters: [node-1, node-2, node-3]\n  secret_file: " + keyring_ + "\n"))
        << error;
    for (auto& a : agents_)
      all_.push_back(a.get());
    ASSERT_TRUE(testing::AllSee(all_, kAll, "alive")) << agents_[0]->process().Stderr();
    ASSERT_TRUE(testing::PollUntil([&] { return testing::EveryWatchedMemberHeard(all_); },
                                   kDeadline, 20ms));
  }

  // Writes the keyring, then reloads it on one agent after the other, each
  // confirmed in its log before the next (a rollout, host by host), with a
  // few heartbeat intervals of traffic between them.
  void RollOut(const std::string& keyring, std::size_t keys) {
    dir_.Write("keyring", keyring);
    ++reloads_;
    for (auto* a : all_) {
      ASSERT_TRUE(a->process().Signal(SIGHUP));
      ASSERT_TRUE(testing::PollUntil(
          [&] { return Count(a->process().Stderr(), "keyring reloaded") == reloads_; }, kDeadline,
          20ms))
          << a->process().Stderr();
      EXPECT_EQ(testing::MetricSample(*a, "ringwatch_keyring_keys"), static_cast<double>(keys));
      std::this_thread::sleep_for(300ms);  // traffic between two hosts' reloads
    }
  }

  double Sum(const std::string& family) {
    double sum = 0;
    for (auto* a : all_)
      sum += testing::MetricSum(*a, family);
    return sum;
  }

  testing::TempDir dir_;
  std::string old_key_, new_key_, keyring_;
  std::size_t reloads_ = 0;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
  std::vector<AgentProcess*> all_;
};

TEST_F(KeyringProcess, ThreeStepRotationUnderTrafficRefusesNothingAndSuspectsNobody) {
  const double suspicions = Sum("ringwatch_peer_suspicions_total");
  const double refused = Sum("ringwatch_messages_dropped_total");
  const double received = Sum("ringwatch_heartbeats_received_total");
  RollOut(old_key_ + "\n" + new_key_ + "\n", 2);                   // 1: add
  RollOut("# rotating\n" + new_key_ + "\n" + old_key_ + "\n", 2);  // 2: sign with the new
  RollOut(new_key_ + "\n", 1);                                     // 3: drop the old
  std::this_thread::sleep_for(1s);  // traffic after the rotation, all on the new key
  EXPECT_EQ(Sum("ringwatch_peer_suspicions_total"), suspicions) << "no false suspicion";
  EXPECT_EQ(Sum("ringwatch_messages_dropped_total"), refused) << "no frame refused";
  EXPECT_GT(Sum("ringwatch_heartbeats_received_total"), received + 100) << "under traffic";
  for (auto* a : all_)
    for (const auto& id : kAll)
      EXPECT_EQ(testing::MemberState(*a, id), "alive") << id;
  EXPECT_TRUE(testing::EveryWatchedMemberHeard(all_));

  // An agent still on the old key only is refused by all (and refuses them).
  testing::TempDir stale_dir;
  const std::string stale = stale_dir.Write("keyring", old_key_ + "\n");
  AgentProcess late("node-6",
                    "cluster:\n  seeds: [\"127.0.0.1:" + std::to_string(all_[0]->peer_port()) +
                        "\"]\n  secret_file: " + stale + "\n");
  std::string error;
  ASSERT_TRUE(late.Start(&error)) << error;
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        return testing::MetricSample(*all_[0],
                                     "ringwatch_messages_dropped_total{reason=\"bad_hmac\"}") >= 1;
      },
      kDeadline, 20ms));
  EXPECT_EQ(testing::MemberState(*all_[0], "node-6"), "");

  // A keyring that does not parse: the agent keeps the one it has.
  dir_.Write("keyring", "this is not a key\n");
  ASSERT_TRUE(all_[0]->process().Signal(SIGHUP));
  ASSERT_TRUE(testing::PollUntil(
      [&] { return all_[0]->process().Stderr().find("keyring not reloaded") != std::string::npos; },
      kDeadline, 20ms));
  EXPECT_EQ(testing::MetricSample(*all_[0], "ringwatch_keyring_keys"), 1);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(Sum("ringwatch_peer_suspicions_total"), suspicions);
  EXPECT_TRUE(all_[0]->process().Running());
}

}  // namespace
}  // namespace ringwatch::agent
