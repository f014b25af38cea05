// Lifecycle with five real agents on loopback (node-1..3 bootstrap voters):
// a rolling restart — SIGTERM, start again a second later, one agent after
// the other, as a package upgrade does — leaves the ring untouched and
// commits no death, leave or join; an agent stopped for longer than
// cluster.restart_grace is dead with class `stopped` and the ring moves
// once; `leave_on_terminate: true` and `POST /v1/leave` still leave.

#include <gtest/gtest.h>

#include <csignal>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;
using testing::AllSee;
using testing::GetJson;

constexpr auto kDeadline = 30s;
const std::vector<std::string> kAll{"node-1", "node-2", "node-3", "node-4", "node-5"};

uint64_t RingVersion(AgentProcess& a) {
  auto status = GetJson(a, "/v1/status");
  if (status.is_null() || !status["ring"].is_object()) return 0;
  return status["ring"]["version"].get<uint64_t>();
}

class LifecycleProcess : public ::testing::Test {
 protected:
  void Start(const std::string& cluster_yaml = "") {
    std::string error;
    ASSERT_TRUE(testing::StartSeededCluster(
        5, &agents_, &error, "  bootstrap_voters: [node-1, node-2, node-3]\n" + cluster_yaml))
        << error;
    for (auto& a : agents_)
      all_.push_back(a.get());
    ASSERT_TRUE(AllSee(all_, kAll, "alive")) << agents_[0]->process().Stderr();
    ASSERT_TRUE(testing::PollUntil([&] { return testing::EveryWatchedMemberHeard(all_); },
                                   kDeadline, 20ms));
  }

  std::vector<AgentProcess*> Except(AgentProcess* gone) {
    std::vector<AgentProcess*> out;
    for (AgentProcess* a : all_)
      if (a != gone) out.push_back(a);
    return out;
  }

  // The events after `seq` in `a`'s view.
  std::vector<nlohmann::json> EventsAfter(AgentProcess& a, uint64_t seq) {
    std::vector<nlohmann::json> out;
    auto events = GetJson(a, "/v1/events?since=" + std::to_string(seq));
    if (events.is_null()) return out;
    for (const auto& e : events["events"])
      if (e["seq"].get<uint64_t>() > seq) out.push_back(e);
    return out;
  }

  uint64_t LastSeq(AgentProcess& a) {
    auto events = GetJson(a, "/v1/events");
    uint64_t seq = 0;
    for (const auto& e : events["events"])
      seq = std::max(seq, e["seq"].get<uint64_t>());
    return seq;
  }

  AgentProcess& Node(const std::string& id) { return *all_[std::stoi(id.substr(5)) - 1]; }

  std::vector<std::unique_ptr<AgentProcess>> agents_;
  std::vector<AgentProcess*> all_;
};

TEST_F(LifecycleProcess, ARollingRestartLeavesTheRingUntouched) {
  Start();
  const uint64_t ring = RingVersion(*all_[0]);
  ASSERT_GT(ring, 0u);
  const uint64_t seq = LastSeq(*all_[0]);
  const auto t0 = std::chrono::steady_clock::now();
  for (const std::string& id : kAll) {
    AgentProcess& a = Node(id);
    ASSERT_TRUE(a.process().Signal(SIGTERM));
    ASSERT_EQ(a.process().Wait(kDeadline), 0) << a.process().Stderr();
    EXPECT_NE(a.process().Stderr().find("restart announced"), std::string::npos)
        << a.process().Stderr();
    ASSERT_TRUE(AllSee(Except(&a), {id}, "restarting")) << id;
    std::this_thread::sleep_for(1s);  // the restart itself, as postinst's try-restart does
    for (AgentProcess* other : Except(&a))
      EXPECT_EQ(RingVersion(*other), ring) << "the ring moved while " << id << " was away";
    std::string error;
    ASSERT_TRUE(a.Start(&error)) << error;
    ASSERT_TRUE(AllSee(all_, {id}, "alive")) << id << "\n" << a.process().Stderr();
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          auto ready = testing::Get(a.http_port(), "/readyz");
          return ready && ready->status == 200;
        },
        kDeadline));
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "rolling restart of 5 agents: " << seconds << " s, all alive\n";
  ASSERT_TRUE(AllSee(all_, kAll, "alive"));
  for (AgentProcess* a : all_)
    EXPECT_EQ(RingVersion(*a), ring) << "the ring moved";
  std::map<std::string, int> restarting, returned;
  for (const auto& e : EventsAfter(*all_[0], seq)) {
    const std::string kind = e["kind"];
    EXPECT_TRUE(kind == "restarting" || kind == "returned" || kind == "leader")
        << "unexpected event " << e.dump();
    if (kind == "restarting") ++restarting[e["member"]];
    if (kind == "returned") ++returned[e["member"]];
  }
  for (const std::string& id : kAll) {
    EXPECT_EQ(restarting[id], 1) << id;
    EXPECT_EQ(returned[id], 1) << id;
  }
}

TEST_F(LifecycleProcess,
       AnAgentStoppedLongerThanTheGraceIsDeadWithClassStoppedAndTheRingMovesOnce) {
  Start("  restart_grace: 3s\n");
  AgentProcess& v = Node("node-4");
  const std::vector<AgentProcess*> others = Except(&v);
  const uint64_t ring = RingVersion(*others[0]);
  ASSERT_TRUE(v.process().Signal(SIGTERM));
  ASSERT_EQ(v.process().Wait(kDeadline), 0);
  ASSERT_TRUE(AllSee(others, {"node-4"}, "restarting"));
  std::set<uint64_t> versions;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        for (AgentProcess* a : others)
          versions.insert(RingVersion(*a));
        return testing::MemberState(*others[0], "node-4") == "dead";
      },
      kDeadline, 20ms));
  ASSERT_TRUE(AllSee(others, {"node-4"}, "dead"));
  for (AgentProcess* a : others) {
    versions.insert(RingVersion(*a));
    auto d = GetJson(*a, "/v1/diagnosis/node-4");
    EXPECT_EQ(d["class"], "stopped") << d.dump();
  }
  versions.erase(ring);
  EXPECT_EQ(versions.size(), 1u) << "the ring moves once, when the grace ends";
  auto ring_json = GetJson(*others[0], "/v1/ring");
  for (const auto& m : ring_json["members"])
    EXPECT_NE(m["id"], "node-4");
}

// `leave_on_terminate: true`: SIGTERM leaves at once (no restart notice).
TEST_F(LifecycleProcess, LeaveOnTerminateLeavesAtOnce) {
  Start("  leave_on_terminate: true\n");
  AgentProcess& v = Node("node-5");
  ASSERT_TRUE(v.process().Signal(SIGTERM));
  EXPECT_EQ(v.process().Wait(kDeadline), 0);
  EXPECT_NE(v.process().Stderr().find("left the cluster"), std::string::npos);
  ASSERT_TRUE(AllSee(Except(&v), {"node-5"}, "left"));
}

}  // namespace
}  // namespace ringwatch::agent
