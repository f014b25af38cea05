// Lifecycle with five real agents on loopback (node-1..3 bootstrap voters):
// a rolling restart — SIGTERM, start again a second later, one agent after
// the other, as a package upgrade does — leaves the ring untouched and
// commits no death, leave or join; an agent stopped for longer than
// cluster.restart_grace is dead with class `stopped` and the ring moves
// once; `leave_on_terminate: true` and `POST /v1/leave` still leave; a wal
// cut at random offsets either catches up or stops the agent naming the file
// and offset; an agent whose peers keep refusing stays idle.

#include <gtest/gtest.h>

#include <unistd.h>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <sstream>
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

// CPU seconds (user + system) the process has used, from /proc/PID/stat.
double CpuSeconds(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat((std::istreambuf_iterator<char>(in)), {});
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return -1;
  std::istringstream fields(stat.substr(paren + 2));
  std::string f;
  double utime = 0, stime = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stod(f);
    if (i == 15) stime = std::stod(f);
  }
  return (utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

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

  std::vector<AgentProcess*> Except(AgentProcess* gone) { return testing::AllBut(all_, gone); }

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

// A wal that lost its tail (a disk that cut it at some offset) at 20 random
// offsets, on learners and voters that are not the leader: every restart
// either catches up with the cluster — commit index and committed history
// equal to the leader's — or exits with code 1 naming the file and the
// offset. (Before: a follower behind the leader's match for it was never
// repaired, and the leader and it spun at ~80 % CPU.)
TEST_F(LifecycleProcess, AWalCutAtTwentyOffsetsCatchesUpOrNamesTheFileAndOffset) {
  // Each SIGKILL is a death (the fast path sees it before the restart), and
  // each death of a member soon after its return doubles its rejoin
  // probation: five deaths per member here. A short probation keeps the
  // test about the WAL.
  Start("detector:\n  rejoin_probation: 100ms\n");
  std::mt19937 rng(20261202);
  int caught_up = 0, refused = 0;
  for (int run = 0; run < 20; ++run) {
    std::string leader;
    ASSERT_TRUE(testing::PollUntil([&] { return !(leader = testing::AgreedLeader(all_)).empty(); },
                                   kDeadline, 20ms));
    std::vector<std::string> followers;
    for (const std::string& id : kAll)
      if (id != leader) followers.push_back(id);
    const std::string id = followers[static_cast<std::size_t>(run) % followers.size()];
    AgentProcess& a = Node(id);
    ASSERT_TRUE(a.process().Signal(SIGKILL));
    a.process().Wait(kDeadline);
    const std::string wal = a.dir().File("data/raft/wal");
    const std::string backup = a.dir().File("wal.backup");
    std::filesystem::copy_file(wal, backup, std::filesystem::copy_options::overwrite_existing);
    const auto size = std::filesystem::file_size(wal);
    // One run cuts into the header; the others anywhere in the records.
    const uint64_t offset =
        run == 7 ? 3 : std::uniform_int_distribution<uint64_t>(8, size - 1)(rng);
    std::filesystem::resize_file(wal, offset);
    std::string error;
    const bool up = a.Start(&error, 10s);
    if (!up || !a.process().Running()) {
      EXPECT_EQ(a.process().Wait(kDeadline), 1) << id << " cut at " << offset;
      const std::string err = a.process().Stderr();
      EXPECT_NE(err.find(wal), std::string::npos) << err;
      EXPECT_NE(err.find("offset"), std::string::npos) << err;
      ++refused;
      // The operator restores the file (here: the copy) and starts it again.
      std::filesystem::copy_file(backup, wal, std::filesystem::copy_options::overwrite_existing);
      ASSERT_TRUE(a.Start(&error)) << error;
    } else {
      ++caught_up;
    }
    nlohmann::json mine, theirs;
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          const std::string now_leader = testing::AgreedLeader(all_);
          if (now_leader.empty()) return false;
          AgentProcess& l = Node(now_leader);
          auto r = testing::RaftStatus(a);
          auto lr = testing::RaftStatus(l);
          if (r.is_null() || lr.is_null() || r["commit_index"] != lr["commit_index"]) return false;
          mine = GetJson(a, "/v1/events");
          theirs = GetJson(l, "/v1/events");
          return !mine.is_null() && mine == theirs;
        },
        kDeadline, 20ms))
        << id << " (wal cut at " << offset << " of " << size << ") did not catch up\n"
        << a.process().Stderr().substr(0, 4000);
    ASSERT_TRUE(AllSee(all_, {id}, "alive")) << id;
  }
  std::cout << "wal cut at 20 offsets: " << caught_up << " caught up, " << refused
            << " refused naming the file and offset\n";
  EXPECT_GE(refused, 1);
  EXPECT_GE(caught_up, 15);
}

// Two voters of three are SIGKILLed: the last one cannot elect anybody and
// its peers' ports refuse every connection. It, and the learners, keep
// trying — with backoff: their CPU stays near idle (a retry loop without
// backoff burns a core).
TEST_F(LifecycleProcess, CpuStaysIdleWhilePeersKeepRefusing) {
  Start();
  for (const char* id : {"node-2", "node-3"}) {
    ASSERT_TRUE(Node(id).process().Signal(SIGKILL));
    Node(id).process().Wait(kDeadline);
  }
  std::this_thread::sleep_for(2s);  // the election timeouts run out first
  std::map<std::string, double> before;
  for (const char* id : {"node-1", "node-4", "node-5"})
    before[id] = CpuSeconds(Node(id).process().pid());
  const auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(5s);  // the measurement window
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  for (const auto& [id, cpu] : before) {
    const double share = (CpuSeconds(Node(id).process().pid()) - cpu) / wall;
    std::cout << id << " CPU while its peers refuse: " << 100 * share << " %\n";
    EXPECT_LT(share, 0.25) << id << " is spinning";
  }
}

// A replaced disk: a learner's and then a voter's Raft directory is wiped
// (the agent stopped, data_dir/raft removed, started again). Each comes back
// as a member; the voter starts quarantined — it does not vote under its
// old identity — the leader takes that identity out of the configuration,
// and the member is back as a learner (and promoted in time). No committed
// entry is lost: every agent ends with the same history of events, a
// superset of the one before the wipes, and the same view.
TEST_F(LifecycleProcess, WipedRaftDirectoriesOfALearnerAndAVoterComeBackWithNothingLost) {
  Start();
  const auto before = GetJson(*all_[0], "/v1/events");
  ASSERT_FALSE(before.is_null());
  for (const std::string id : {"node-5", "node-2"}) {
    AgentProcess& a = Node(id);
    ASSERT_TRUE(a.process().Signal(SIGKILL));
    a.process().Wait(kDeadline);
    std::filesystem::remove_all(a.dir().File("data/raft"));
    std::string error;
    ASSERT_TRUE(a.Start(&error)) << error;
    nlohmann::json status;
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          status = testing::RaftStatus(a);
          return !status.is_null() && status["quarantined"] == false &&
                 testing::MemberState(a, id) == "alive";
        },
        kDeadline, 20ms))
        << id << " did not come back: " << status.dump() << "\n"
        << a.process().Stderr().substr(0, 6000);
    ASSERT_TRUE(AllSee(all_, {id}, "alive")) << id;
    if (id == "node-2") {
      EXPECT_NE(a.process().Stderr().find("quarantine over"), std::string::npos)
          << a.process().Stderr();
    }
  }
  // One history everywhere, holding everything committed before.
  nlohmann::json agreed;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        agreed = nullptr;
        for (AgentProcess* a : all_) {
          auto e = GetJson(*a, "/v1/events");
          if (e.is_null() || (!agreed.is_null() && e != agreed)) return false;
          agreed = e;
        }
        return true;
      },
      kDeadline, 50ms));
  ASSERT_GE(agreed["events"].size(), before["events"].size());
  for (std::size_t i = 0; i < before["events"].size(); ++i)
    EXPECT_EQ(agreed["events"][i], before["events"][i]) << i;
  for (AgentProcess* a : all_)
    EXPECT_EQ(GetJson(*a, "/v1/members")["members"].size(), 5u);
  bool removed = false;  // the voter's old identity left the configuration
  for (std::size_t i = before["events"].size(); i < agreed["events"].size(); ++i)
    removed = removed || (agreed["events"][i]["kind"] == "voter_removed" &&
                          agreed["events"][i]["member"] == "node-2");
  EXPECT_TRUE(removed) << agreed.dump();
  // Three voters again (autopilot), in time.
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        auto r = testing::RaftStatus(*all_[0]);
        return !r.is_null() && r["voters"].size() == 3;
      },
      kDeadline, 100ms));
}

// A slow disk: every Raft save of node-2 (a voter) takes 500 ms longer
// (fault injection, RINGWATCH_FAULT_PERSIST_DELAY_MS). Saves run on their own
// thread, so node-2's heartbeats keep their pace while members restart and
// return (work for the log): nobody suspects node-2, nothing is declared
// dead, and node-2 keeps up with the commits. (With saves on the core
// thread, each one stalled its heartbeats for half a second.)
TEST_F(LifecycleProcess, ASlowDiskDoesNotGetItsMemberSuspected) {
  Start();
  AgentProcess& slow = Node("node-2");
  ASSERT_TRUE(slow.process().Signal(SIGTERM));
  ASSERT_EQ(slow.process().Wait(kDeadline), 0);
  slow.set_extra_env({"RINGWATCH_FAULT_PERSIST_DELAY_MS=500"});
  std::string error;
  ASSERT_TRUE(slow.Start(&error)) << error;
  ASSERT_TRUE(AllSee(all_, {"node-2"}, "alive"));
  ASSERT_TRUE(
      testing::PollUntil([&] { return testing::EveryWatchedMemberHeard(all_); }, kDeadline, 20ms));
  const uint64_t seq = LastSeq(*all_[0]);
  for (const std::string id : {"node-4", "node-5", "node-4"}) {
    AgentProcess& a = Node(id);
    ASSERT_TRUE(a.process().Signal(SIGTERM));
    ASSERT_EQ(a.process().Wait(kDeadline), 0);
    ASSERT_TRUE(a.Start(&error)) << error;
    ASSERT_TRUE(AllSee(all_, {id}, "alive")) << id;
  }
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        auto s = testing::RaftStatus(slow);
        auto o = testing::RaftStatus(*all_[0]);
        return !s.is_null() && !o.is_null() && s["commit_index"] == o["commit_index"];
      },
      kDeadline, 20ms))
      << "node-2 keeps up with the commits";
  const double saves = testing::MetricSample(slow, "ringwatch_raft_persist_seconds_count");
  const double seconds = testing::MetricSample(slow, "ringwatch_raft_persist_seconds_sum");
  ASSERT_GT(saves, 0);
  EXPECT_GE(seconds / saves, 0.5) << "the fault was injected";
  for (AgentProcess* a : all_) {
    EXPECT_LE(testing::MetricSample(*a, "ringwatch_peer_suspicions_total{peer=\"node-2\"}"), 0)
        << "node-2 was suspected";
  }
  for (const auto& e : EventsAfter(*all_[0], seq))
    EXPECT_NE(e["kind"], "dead")
        << e.dump() << "\n"
        << GetJson(*all_[0], "/v1/diagnosis/" + e["member"].get<std::string>()).dump();
}

}  // namespace
}  // namespace ringwatch::agent
