// Multi-process tests of agreed membership with five real agents on loopback
// (node-1..3 bootstrap voters, node-4 and node-5 learners): a SIGKILLed
// member is dead in every view with diagnosis process_down and comes back
// after its probation when restarted; a SIGKILLed leader is replaced and
// declared dead; a SIGSTOPped member is declared dead and rejoins on
// SIGCONT; a graceful leave (POST /v1/leave) is committed at once; a restarted agent keeps its
// committed history. Every wait polls with a generous deadline.

#include <gtest/gtest.h>

#include <thread>

#include <csignal>
#include <future>
#include <map>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;

constexpr auto kDeadline = 30s;

using testing::AllSee;
using testing::GetJson;
using testing::MetricSample;

class MembershipProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    // Every agent writes its ring file next to its config, and its hook
    // copies the ring JSON into hooks_ (one file per node).
    ASSERT_TRUE(testing::StartSeededCluster(5, &agents_, &error,
                                            "  bootstrap_voters: [node-1, node-2, node-3]\n"
                                            "ring:\n  file: ring.json\n  on_change: cat > " +
                                                hooks_.path() + "/$RINGWATCH_NODE_ID.json\n"))
        << error;
    for (auto& a : agents_)
      all_.push_back(a.get());
    ASSERT_TRUE(AllSee(all_, {"node-1", "node-2", "node-3", "node-4", "node-5"}, "alive"))
        << agents_[0]->process().Stderr();
    // And every observer has heard the members it watches: a member killed
    // before its observers ever heard it is only caught by the hard timeout
    // (phi needs heartbeats), which is not what these tests measure.
    ASSERT_TRUE(testing::PollUntil([&] { return testing::EveryWatchedMemberHeard(all_); },
                                   kDeadline, 20ms));
  }

  std::vector<AgentProcess*> Except(AgentProcess* gone) { return testing::AllBut(all_, gone); }

  AgentProcess& Node(const std::string& id) { return *all_[std::stoi(id.substr(5)) - 1]; }

  testing::TempDir hooks_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
  std::vector<AgentProcess*> all_;
};

// The /v1/ring answers of `agents` once they are all the same ring with
// `members` members (null if that did not happen in time).
nlohmann::json AgreedRing(const std::vector<AgentProcess*>& agents, std::size_t members) {
  nlohmann::json agreed;
  const bool ok = testing::PollUntil(
      [&] {
        agreed = nullptr;
        for (AgentProcess* a : agents) {
          auto ring = GetJson(*a, "/v1/ring");
          if (ring.is_null() || ring["members"].size() != members) return false;
          if (!agreed.is_null() && ring != agreed) return false;
          agreed = ring;
        }
        return true;
      },
      kDeadline);
  return ok ? agreed : nlohmann::json();
}

TEST_F(MembershipProcess, SigkilledMemberIsDeadEverywhereWithProcessDownAndRejoinsOnRestart) {
  std::string leader = testing::AgreedLeader(all_);
  std::string victim = leader == "node-5" ? "node-4" : "node-5";
  AgentProcess& v = Node(victim);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(v.process().Signal(SIGKILL));
  ASSERT_EQ(v.process().Wait(kDeadline), 128 + SIGKILL);
  ASSERT_TRUE(AllSee(Except(&v), {victim}, "dead"));
  std::cout << victim << " dead in every survivor's view "
            << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()
            << " s after SIGKILL\n";
  auto d = GetJson(*Except(&v)[0], "/v1/diagnosis/" + victim);
  ASSERT_FALSE(d.is_null());
  EXPECT_EQ(d["class"], "process_down") << d.dump();
  EXPECT_EQ(d["probe"], "refused");
  // Its connections closed and its port refused: the fast path decided.
  EXPECT_EQ(d["path"], "fast") << d.dump();
  EXPECT_GE(d["observers"].size(), 2u) << "a majority of its observers agreed";
  auto events = GetJson(*Except(&v)[0], "/v1/events");
  EXPECT_EQ(events["events"].back()["kind"], "dead");
  EXPECT_EQ(events["events"].back()["member"], victim);
  AgentProcess& witness = *Except(&v)[0];
  EXPECT_EQ(MetricSample(witness, "ringwatch_members{state=\"alive\"}"), 4);
  EXPECT_EQ(MetricSample(witness, "ringwatch_members{state=\"dead\"}"), 1);
  EXPECT_EQ(MetricSample(witness, "ringwatch_member_up{member=\"" + victim + "\"}"), 0);
  EXPECT_GE(MetricSample(witness, "ringwatch_membership_changes_total{kind=\"dead\"}"), 1);
  EXPECT_EQ(MetricSample(witness, "ringwatch_detection_seconds_count{path=\"fast\"}"), 1);
  const double detection = MetricSample(witness, "ringwatch_detection_seconds_sum{path=\"fast\"}");
  std::cout << "ringwatch_detection_seconds on "
            << "a survivor: " << detection << " s\n";
  EXPECT_GT(detection, 0.0);
  EXPECT_LT(detection, 3.0);

  std::string error;
  ASSERT_TRUE(v.Start(&error)) << error;
  ASSERT_TRUE(AllSee(all_, {victim}, "alive"));
  auto again = GetJson(v, "/v1/events");
  bool alive_event = false;
  for (const auto& e : again["events"])
    alive_event = alive_event || (e["kind"] == "alive" && e["member"] == victim);
  EXPECT_TRUE(alive_event) << "came back through a rejoin, after its probation";
  // Its own account revised the verdict: a new process — it crashed.
  auto revised = GetJson(witness, "/v1/diagnosis/" + victim);
  EXPECT_EQ(revised["class"], "process_down") << revised.dump();
  EXPECT_EQ(revised["revision"]["class"], "crashed") << revised.dump();
  EXPECT_EQ(revised["revision"]["restarted"], true) << revised.dump();
  EXPECT_EQ(MetricSample(witness, "ringwatch_diagnoses_total{class=\"process_down\"}"), 1);
  EXPECT_EQ(MetricSample(witness,
                         "ringwatch_diagnosis_revisions_total{from=\"process_down\",to="
                         "\"crashed\"}"),
            1);
}

TEST_F(MembershipProcess, SigkilledLeaderIsReplacedAndDeclaredDead) {
  std::string leader;
  ASSERT_TRUE(testing::PollUntil([&] { return !(leader = testing::AgreedLeader(all_)).empty(); },
                                 kDeadline));
  AgentProcess& old = Node(leader);
  ASSERT_TRUE(old.process().Signal(SIGKILL));
  ASSERT_EQ(old.process().Wait(kDeadline), 128 + SIGKILL);
  auto rest = Except(&old);
  std::string next;
  ASSERT_TRUE(testing::PollUntil(
      [&] { return !(next = testing::AgreedLeader(rest)).empty() && next != leader; }, kDeadline));
  ASSERT_TRUE(AllSee(rest, {leader}, "dead"));
  auto d = GetJson(*rest[0], "/v1/diagnosis/" + leader);
  EXPECT_EQ(d["class"], "process_down") << d.dump();
}

TEST_F(MembershipProcess, StoppedMemberIsDeadAndRejoinsWhenContinued) {
  std::string leader = testing::AgreedLeader(all_);
  std::string victim = leader == "node-4" ? "node-5" : "node-4";
  AgentProcess& v = Node(victim);
  ASSERT_TRUE(v.process().Signal(SIGSTOP));
  ASSERT_TRUE(AllSee(Except(&v), {victim}, "dead"));
  auto d = GetJson(*Except(&v)[0], "/v1/diagnosis/" + victim);
  // The host answers TCP (the kernel accepts for a stopped process) but the
  // agent is silent: unresponsive (overloaded if its last health showed
  // pressure, as on a busy test machine).
  EXPECT_TRUE(d["class"] == "unresponsive" || d["class"] == "overloaded") << d.dump();
  // A stopped process keeps its connections open: phi decided, not the fast path.
  EXPECT_EQ(d["path"], "phi") << d.dump();
  ASSERT_TRUE(v.process().Signal(SIGCONT));
  ASSERT_TRUE(AllSee(all_, {victim}, "alive"));
  // Back, its stall detector measured the pause: the revision says paused.
  auto revised = GetJson(*Except(&v)[0], "/v1/diagnosis/" + victim);
  EXPECT_EQ(revised["revision"]["class"], "paused") << revised.dump();
  EXPECT_GT(revised["revision"]["longest_pause_seconds"].get<double>(), 0.2) << revised.dump();
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        auto x = testing::Get(v.http_port(), "/readyz");
        return x && x->status == 200;
      },
      kDeadline));
  // It stays alive: back as a higher incarnation, its frames say so (frames
  // of its earlier life would be refused as replays).
  std::this_thread::sleep_for(2s);
  for (auto* a : all_) {
    EXPECT_EQ(testing::MemberState(*a, victim), "alive");
    EXPECT_EQ(testing::MetricSample(*a, "ringwatch_messages_dropped_total{reason=\"replay\"}"), 0);
  }
}

TEST_F(MembershipProcess, GracefulLeaveIsCommittedAtOnce) {
  std::string leader = testing::AgreedLeader(all_);
  std::string victim = leader == "node-4" ? "node-5" : "node-4";
  AgentProcess& v = Node(victim);
  const auto t0 = std::chrono::steady_clock::now();
  // `ringwatch leave` (SIGTERM is a planned restart unless leave_on_terminate:
  // tests/agent/lifecycle_process_test.cpp).
  auto r = testing::Exchange(v.http_port(),
                             "POST /v1/leave HTTP/1.1\r\nHost: x\r\nContent-Length: "
                             "0\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(v.process().Wait(kDeadline), 0);
  EXPECT_NE(v.process().Stderr().find("left the cluster"), std::string::npos);
  ASSERT_TRUE(AllSee(Except(&v), {victim}, "left"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << victim << " left in every view " << seconds << " s after POST /v1/leave\n";
  EXPECT_LT(seconds, 5.0) << "no detection wait (the detector would need ~0.5 s + confirmation)";
  auto d = GetJson(*Except(&v)[0], "/v1/diagnosis/" + victim);
  EXPECT_EQ(d["class"], "left");
  EXPECT_EQ(MetricSample(*Except(&v)[0], "ringwatch_member_up{member=\"" + victim + "\"}"), -1)
      << "a member that left is not down: no member_up series";
}

// Consul-style blocking query: with the current index it waits (here for
// its whole 300 ms), and a membership change releases a waiting query.
TEST_F(MembershipProcess, BlockingQueriesReturnOnTheNextViewChange) {
  auto& a = *all_[0];
  auto first = testing::Get(a.http_port(), "/v1/members");
  ASSERT_TRUE(first);
  const std::string index = first->headers["x-ringwatch-index"];
  ASSERT_FALSE(index.empty());
  const auto t0 = std::chrono::steady_clock::now();
  auto idle = testing::Get(a.http_port(), "/v1/members?index=" + index + "&wait=300ms");
  ASSERT_TRUE(idle);
  EXPECT_EQ(idle->status, 200);
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 300ms) << "nothing changed: it waited";

  auto waiting = std::async(std::launch::async, [&] {
    return testing::Get(a.http_port(), "/v1/members?index=" + index + "&wait=60s");
  });
  std::string leader = testing::AgreedLeader(all_);
  AgentProcess& v = Node(leader == "node-5" ? "node-4" : "node-5");
  ASSERT_TRUE(v.process().Signal(SIGKILL));
  ASSERT_EQ(waiting.wait_for(kDeadline), std::future_status::ready);
  auto changed = waiting.get();
  ASSERT_TRUE(changed);
  auto body = nlohmann::json::parse(changed->body);
  EXPECT_GT(body["version"].get<uint64_t>(), std::stoull(index));
}

// The ring follows the committed view: every agent serves the same ring,
// writes it to ring.file and hands it to ring.on_change; a death moves only
// the dead member's keys, and every agent reports the same move plan.
TEST_F(MembershipProcess, RingFollowsTheCommittedViewOnEveryAgent) {
  auto before = AgreedRing(all_, 5);
  ASSERT_FALSE(before.is_null());
  for (std::size_t i = 0; i < all_.size(); ++i) {
    AgentProcess* a = all_[i];
    const std::string id = "node-" + std::to_string(i + 1);
    ASSERT_TRUE(testing::PollUntil(
        [&] {
          return core::ReadFile(a->dir().File("ring.json")).value_or("") == before.dump() + "\n" &&
                 core::ReadFile(hooks_.File(id + ".json")).value_or("") ==
                     core::ReadFile(a->dir().File("ring.json")).value_or("");
        },
        kDeadline))
        << id << ": ring file and hook input are the served ring";
    EXPECT_EQ(MetricSample(*a, "ringwatch_ring_version"), before["version"].get<double>());
  }
  std::vector<std::string> keys;
  std::map<std::string, std::string> owner;
  for (int i = 0; i < 50; ++i) {
    keys.push_back("user:" + std::to_string(i));
    auto l = GetJson(*all_[0], "/v1/ring/lookup?key=" + keys.back());
    ASSERT_FALSE(l.is_null());
    owner[keys.back()] = l["owner"]["id"];
    EXPECT_EQ(GetJson(*all_[4], "/v1/ring/lookup?key=" + keys.back()), l) << "same answer on all";
    EXPECT_EQ(l["replicas"].size(), 3u);
  }

  std::string leader = testing::AgreedLeader(all_);
  std::string victim = leader == "node-4" ? "node-5" : "node-4";
  AgentProcess& v = Node(victim);
  double victim_share = 0;
  for (const auto& m : before["members"])
    if (m["id"] == victim) victim_share = m["ownership"];
  ASSERT_GT(victim_share, 0);
  ASSERT_TRUE(v.process().Signal(SIGKILL));
  v.process().Wait(kDeadline);
  auto after = AgreedRing(Except(&v), 4);
  ASSERT_FALSE(after.is_null());
  EXPECT_GT(after["version"].get<uint64_t>(), before["version"].get<uint64_t>());
  for (const auto& m : after["members"])
    EXPECT_NE(m["id"], victim);
  for (AgentProcess* a : Except(&v)) {
    auto moves = GetJson(*a, "/v1/ring/moves");
    EXPECT_EQ(moves["from_version"], before["version"]);
    EXPECT_EQ(moves["to_version"], after["version"]);
    EXPECT_NEAR(moves["moved_ratio"].get<double>(), victim_share, 1e-9)
        << "exactly the dead member's share moved";
    for (const auto& m : moves["moves"])
      EXPECT_EQ(m["from"], victim);
    EXPECT_NEAR(MetricSample(*a, "ringwatch_ring_moved_ratio"), victim_share, 1e-6);
  }
  for (const std::string& key : keys) {
    auto l = GetJson(*Except(&v)[0], "/v1/ring/lookup?key=" + key);
    if (owner[key] != victim) {
      EXPECT_EQ(l["owner"]["id"], owner[key]) << key << " stayed";
    }
    EXPECT_NE(l["owner"]["id"], victim);
  }
}

TEST_F(MembershipProcess, ARestartedAgentKeepsItsCommittedHistory) {
  std::string leader = testing::AgreedLeader(all_);
  std::string who = leader == "node-2" ? "node-3" : "node-2";
  AgentProcess& a = Node(who);
  auto before = GetJson(a, "/v1/events");
  ASSERT_FALSE(before.is_null());
  ASSERT_TRUE(a.process().Signal(SIGKILL));
  a.process().Wait(kDeadline);
  std::string error;
  ASSERT_TRUE(a.Start(&error)) << error;
  nlohmann::json after;
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        after = GetJson(a, "/v1/events");
        return !after.is_null() && after["events"].size() >= before["events"].size();
      },
      kDeadline));
  for (std::size_t i = 0; i < before["events"].size(); ++i)
    EXPECT_EQ(after["events"][i], before["events"][i]) << i;
}

}  // namespace
}  // namespace ringwatch::agent
