// Multi-process tests of agreed membership with five real agents on loopback
// (node-1..3 bootstrap voters, node-4 and node-5 learners): a SIGKILLed
// member is dead in every view with diagnosis process_down and comes back
// after its probation when restarted; a SIGKILLed leader is replaced and
// declared dead; a SIGSTOPped member is declared dead and rejoins on
// SIGCONT; a graceful leave is committed at once; a restarted agent keeps its
// committed history. Every wait polls with a generous deadline.

#include <gtest/gtest.h>

#include <csignal>
#include <future>
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

using testing::AllSee;
using testing::GetJson;
using testing::MetricSample;

class MembershipProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(testing::StartSeededCluster(5, &agents_, &error,
                                            "  bootstrap_voters: [node-1, node-2, node-3]\n"))
        << error;
    for (auto& a : agents_)
      all_.push_back(a.get());
    ASSERT_TRUE(AllSee(all_, {"node-1", "node-2", "node-3", "node-4", "node-5"}, "alive"))
        << agents_[0]->process().Stderr();
  }

  std::vector<AgentProcess*> Except(AgentProcess* gone) {
    std::vector<AgentProcess*> out;
    for (AgentProcess* a : all_)
      if (a != gone) out.push_back(a);
    return out;
  }

  AgentProcess& Node(const std::string& id) { return *all_[std::stoi(id.substr(5)) - 1]; }

  std::vector<std::unique_ptr<AgentProcess>> agents_;
  std::vector<AgentProcess*> all_;
};

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
  EXPECT_GE(d["observers"].size(), 2u) << "a majority of its observers agreed";
  auto events = GetJson(*Except(&v)[0], "/v1/events");
  EXPECT_EQ(events["events"].back()["kind"], "dead");
  EXPECT_EQ(events["events"].back()["member"], victim);
  AgentProcess& witness = *Except(&v)[0];
  EXPECT_EQ(MetricSample(witness, "ringwatch_members{state=\"alive\"}"), 4);
  EXPECT_EQ(MetricSample(witness, "ringwatch_members{state=\"dead\"}"), 1);
  EXPECT_EQ(MetricSample(witness, "ringwatch_member_up{member=\"" + victim + "\"}"), 0);
  EXPECT_GE(MetricSample(witness, "ringwatch_membership_changes_total{kind=\"dead\"}"), 1);
  EXPECT_EQ(MetricSample(witness, "ringwatch_detection_seconds_count"), 1);
  const double detection = MetricSample(witness, "ringwatch_detection_seconds_sum");
  std::cout << "ringwatch_detection_seconds on "
            << "a survivor: " << detection << " s\n";
  EXPECT_GT(detection, 0.1);
  EXPECT_LT(detection, 3.0);

  std::string error;
  ASSERT_TRUE(v.Start(&error)) << error;
  ASSERT_TRUE(AllSee(all_, {victim}, "alive"));
  auto again = GetJson(v, "/v1/events");
  bool alive_event = false;
  for (const auto& e : again["events"])
    alive_event = alive_event || (e["kind"] == "alive" && e["member"] == victim);
  EXPECT_TRUE(alive_event) << "came back through a rejoin, after its probation";
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
  // agent is silent; without a refusal this is host_down or overloaded.
  EXPECT_TRUE(d["class"] == "host_down" || d["class"] == "overloaded") << d.dump();
  ASSERT_TRUE(v.process().Signal(SIGCONT));
  ASSERT_TRUE(AllSee(all_, {victim}, "alive"));
  ASSERT_TRUE(testing::PollUntil(
      [&] {
        auto x = testing::Get(v.http_port(), "/readyz");
        return x && x->status == 200;
      },
      kDeadline));
}

TEST_F(MembershipProcess, GracefulLeaveIsCommittedAtOnce) {
  std::string leader = testing::AgreedLeader(all_);
  std::string victim = leader == "node-4" ? "node-5" : "node-4";
  AgentProcess& v = Node(victim);
  const auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(v.process().Signal(SIGTERM));
  EXPECT_EQ(v.process().Wait(kDeadline), 0);
  EXPECT_NE(v.process().Stderr().find("left the cluster"), std::string::npos);
  ASSERT_TRUE(AllSee(Except(&v), {victim}, "left"));
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << victim << " left in every view " << seconds << " s after SIGTERM\n";
  EXPECT_LT(seconds, 5.0) << "no detection wait (the detector would need ~0.5 s + confirmation)";
  auto d = GetJson(*Except(&v)[0], "/v1/diagnosis/" + victim);
  EXPECT_EQ(d["class"], "left");
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
