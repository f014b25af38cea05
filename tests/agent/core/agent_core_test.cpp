// AgentCore, one agent at a time, fed by hand: what it asks its runtime to
// do for joins, replies, seeds, heartbeats, acks and operator requests.
// (Many agents together: agent_simulation_test.cpp.)
#include "agent/core/agent_core.h"

#include <gtest/gtest.h>

#include <map>

#include "core/log.h"
#include "membership/command.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;

// Where a membership request goes: a member id, or a seed address ("" if not).
std::string MemberOf(const MembershipSend& s) {
  const auto* m = std::get_if<core::MemberId>(&s.to);
  return m ? m->value : "";
}
std::string SeedOf(const MembershipSend& s) {
  const auto* a = std::get_if<SeedAddress>(&s.to);
  return a ? a->value : "";
}

class AgentCoreTest : public ::testing::Test {
 protected:
  AgentCoreTest() { log::SetLevel(log::Level::kError); }

  CoreOptions Options(const std::string& id, std::vector<std::string> seeds) {
    CoreOptions o;
    o.self = membership::MemberInfo{id, id + ":7420", "", id, 1, 1000};
    o.seeds = std::move(seeds);
    return o;
  }

  CoreTime T() const { return CoreTime{now_, 1'700'000'000'000 + (now_ - core::Instant{}) / 1ms}; }

  CoreEffects Start(AgentCore& core, raft::MemoryStorage* storage = nullptr) {
    storages_[&core] = storage ? storage : &storage_;
    auto fx = core.Start(T());
    EXPECT_TRUE(fx.ok());
    return Settle(core, std::move(fx).value());
  }

  // What the runtime's storage thread does, at once: saves what the core
  // asks to save and reports it; returns everything the core produced
  // meanwhile (the fields these tests read).
  CoreEffects Settle(AgentCore& core, CoreEffects fx) {
    while (fx.persist) {
      EXPECT_TRUE(storages_.at(&core)->Save(*fx.persist).ok());
      CoreEffects more = core.OnPersisted(std::nullopt, T());
      for (auto& m : more.membership)
        fx.membership.push_back(std::move(m));
      for (auto& c : more.completions)
        fx.completions.push_back(std::move(c));
      if (more.ready) fx.ready = more.ready;
      fx.stopped = fx.stopped || more.stopped;
      fx.persist = std::move(more.persist);
    }
    return fx;
  }

  // Advances time in 25 ms steps for `d`, collecting the membership sends.
  std::vector<std::pair<core::Instant, MembershipSend>> Run(AgentCore& core,
                                                            std::chrono::milliseconds d) {
    std::vector<std::pair<core::Instant, MembershipSend>> sent;
    for (auto until = now_ + d; now_ < until;) {
      now_ += 25ms;
      for (auto& s : Settle(core, core.Advance(T())).membership)
        sent.emplace_back(now_, std::move(s));
    }
    return sent;
  }

  core::Instant now_{};
  raft::MemoryStorage storage_;
  std::map<const AgentCore*, raft::MemoryStorage*> storages_;
};

// A new agent (no Raft state, not a bootstrap voter) asks its seeds in turn,
// skipping its own address, with a backoff that grows and is capped.
TEST_F(AgentCoreTest, AJoinerAsksItsSeedsInTurnWithACappedBackoff) {
  AgentCore core(Options("a", {"s1:7420", "a:7420", "s2:7420"}), storage_);
  Start(core);
  auto sent = Run(core, 30s);
  ASSERT_GE(sent.size(), 6u);
  std::vector<std::string> seeds;
  for (const auto& [at, s] : sent) {
    EXPECT_TRUE(MemberOf(s).empty());
    EXPECT_TRUE(std::holds_alternative<membership::JoinRequest>(s.message));
    seeds.push_back(SeedOf(s));
  }
  EXPECT_EQ(seeds[0], "s1:7420");
  EXPECT_EQ(seeds[1], "s2:7420") << "its own address is skipped";
  EXPECT_EQ(seeds[2], "s1:7420");
  EXPECT_EQ(seeds[3], "s2:7420");
  // Waits grow (up to jitter of half a wait) and never exceed 5 s.
  core::Duration longest{};
  for (std::size_t i = 1; i < sent.size(); ++i) {
    const core::Duration wait = sent[i].first - sent[i - 1].first;
    EXPECT_LE(wait, 5s + 100ms);
    longest = std::max(longest, wait);
  }
  EXPECT_GE(longest, 2500ms) << "the backoff grew";
  EXPECT_LE(sent.size(), 14u) << "30 s with a 5 s cap: a handful of attempts, not one per tick";
}

// A seed the runtime found to be this agent (by its resolved address) is
// never asked again.
TEST_F(AgentCoreTest, ASeedThatIsThisAgentIsSkipped) {
  AgentCore core(Options("a", {"localhost:7420", "s2:7420"}), storage_);
  Start(core);
  core.OnSeedFailed("localhost:7420", "this agent", /*is_self=*/true);
  for (const auto& [at, s] : Run(core, 10s))
    EXPECT_EQ(SeedOf(s), "s2:7420");
}

// Any agent answers a join request with who it is and the leader it knows,
// and learns where the joiner listens (its Raft messages must reach it).
TEST_F(AgentCoreTest, AJoinRequestIsAnsweredAndTheJoinersAddressLearned) {
  AgentCore core(Options("b", {"s1:7420"}), storage_);
  Start(core);
  const core::SigningKey key = core::SigningKey::Generate();
  membership::MemberInfo joiner{"j", "j:7420", "", "j", 1, 5, key.public_key};
  membership::JoinRequest join{joiner, false};
  join.signature = key.Sign(membership::SignedBytes(join));
  const PeerOrigin from{"j", 5, key.public_key};
  // Unsigned, or signed by another key than the one it registers: refused, unanswered.
  Refusal refused = Refusal::kNone;
  membership::JoinRequest unsigned_join{joiner, false};
  EXPECT_TRUE(core.OnPeerMessage(from, unsigned_join, T(), &refused).membership.empty());
  EXPECT_EQ(refused, Refusal::kBadIdentity);
  const core::SigningKey other = core::SigningKey::Generate();
  membership::JoinRequest forged{joiner, false};
  forged.signature = other.Sign(membership::SignedBytes(forged));
  refused = Refusal::kNone;
  EXPECT_TRUE(core.OnPeerMessage(from, forged, T(), &refused).membership.empty());
  EXPECT_EQ(refused, Refusal::kBadIdentity);
  // Sent by another sender than the joiner, and not forwarded: refused too.
  refused = Refusal::kNone;
  EXPECT_TRUE(core.OnPeerMessage(PeerOrigin{"mallory", 1, other.public_key}, join, T(), &refused)
                  .membership.empty());
  EXPECT_EQ(refused, Refusal::kBadIdentity);

  refused = Refusal::kNone;
  auto fx = core.OnPeerMessage(from, join, T(), &refused);
  EXPECT_EQ(refused, Refusal::kNone);
  ASSERT_EQ(fx.addresses.size(), 1u);
  EXPECT_EQ(fx.addresses[0], (std::pair<core::MemberId, std::string>{{"j"}, "j:7420"}));
  ASSERT_EQ(fx.membership.size(), 1u);
  EXPECT_EQ(MemberOf(fx.membership[0]), "j");
  const auto* reply = std::get_if<membership::JoinReply>(&fx.membership[0].message);
  ASSERT_NE(reply, nullptr);
  EXPECT_EQ(reply->id, "b");
  EXPECT_EQ(reply->address, "b:7420");
  EXPECT_EQ(reply->leader, "") << "b knows no leader";
  EXPECT_EQ(core.PeerAddresses().at(core::MemberId{"j"}), "j:7420");
}

// A heartbeat or a Raft message speaks for its frame's sender only, under the
// key the view registers for it; a Raft message from outside the
// configuration, or a proposal that is not its sender's to make, is refused.
TEST_F(AgentCoreTest, InputsSpeakOnlyForTheirAuthenticatedSender) {
  AgentCore core(Options("a", {}), storage_);  // a one-member cluster: leads itself
  Start(core);
  Run(core, 3s);
  ASSERT_EQ(core.view().Find("a")->info.identity, core.identity().public_key);
  const core::SigningKey mallory = core::SigningKey::Generate();
  const uint64_t incarnation = core.self().incarnation;
  Heartbeat h;
  h.sender = "b";
  h.incarnation = 1;
  EXPECT_EQ(core.OnHeartbeat(PeerOrigin{"mallory", 1, mallory.public_key}, h, T()).refused,
            Refusal::kBadIdentity)
      << "another sender than the frame's";
  h.sender = "a";
  h.incarnation = incarnation;
  EXPECT_EQ(core.OnHeartbeat(PeerOrigin{"a", incarnation, mallory.public_key}, h, T()).refused,
            Refusal::kBadIdentity)
      << "not the key the view registers for a";
  raft::Message vote;
  vote.type = raft::MessageType::kVote;
  vote.from = raft::NodeId{"a"};
  vote.to = raft::NodeId{"a"};
  vote.term = raft::Term{100};
  EXPECT_EQ(core.StepRaft(PeerOrigin{"mallory", 1, mallory.public_key}, vote),
            Refusal::kBadIdentity)
      << "another from than the frame's sender";
  vote.from = raft::NodeId{"mallory"};
  EXPECT_EQ(core.StepRaft(PeerOrigin{"mallory", 1, mallory.public_key}, vote),
            Refusal::kBadIdentity)
      << "not in the configuration";
  EXPECT_EQ(core.Raft().term, core.node()->term().value);
  EXPECT_LT(core.Raft().term, 100u);
}

// A reply that names the leader: the joiner learns both addresses and asks
// the leader directly, soon.
TEST_F(AgentCoreTest, AJoinReplyNamingTheLeaderSendsTheNextRequestToTheLeaderSoon) {
  AgentCore core(Options("a", {"s1:7420", "s2:7420"}), storage_);
  Start(core);
  Run(core, 8s);  // the backoff has grown to seconds
  const core::SigningKey s1 = core::SigningKey::Generate();
  auto fx =
      core.OnPeerMessage(PeerOrigin{"s1", 1, s1.public_key},
                         membership::JoinReply{"s1", "s1:7420", "lead", "lead:7420", false}, T());
  EXPECT_EQ(core.PeerAddresses().at(core::MemberId{"s1"}), "s1:7420");
  EXPECT_EQ(core.PeerAddresses().at(core::MemberId{"lead"}), "lead:7420");
  const auto sent = Run(core, 500ms);
  ASSERT_FALSE(sent.empty()) << "asked again within the base backoff";
  EXPECT_EQ(MemberOf(sent[0].second), "lead");
  EXPECT_TRUE(SeedOf(sent[0].second).empty());
}

// An agent that is not a member heartbeats and watches nobody; a lone agent
// (no seeds, no bootstrap voters) makes a cluster of itself, is ready and
// tells systemd once.
TEST_F(AgentCoreTest, ALoneAgentBootstrapsItselfAndIsReadyOnce) {
  AgentCore joiner(Options("a", {"s1:7420"}), storage_);
  Start(joiner);
  Run(joiner, 2s);
  EXPECT_TRUE(joiner.HeartbeatTargets().empty());
  EXPECT_TRUE(joiner.Peers(now_).empty());
  EXPECT_FALSE(joiner.Ready());
  EXPECT_EQ(joiner.NotReadyReason(), "not a member of the committed view yet (joining)");

  raft::MemoryStorage storage;
  AgentCore lone(Options("solo", {}), storage);
  int ready = 0;
  ready += Start(lone, &storage).ready ? 1 : 0;
  for (int i = 0; i < 40; ++i) {
    now_ += 25ms;
    auto f = Settle(lone, lone.Advance(T()));
    if (f.ready) {
      ++ready;
      EXPECT_EQ(*f.ready, ReadyNotice::kMember);
    }
  }
  EXPECT_TRUE(lone.Ready()) << lone.NotReadyReason();
  EXPECT_EQ(ready, 1);
}

// Operator requests are answered with completions: a removal of an alive or
// unknown member is refused; a leave by an agent that is not a member does
// not stop it.
TEST_F(AgentCoreTest, OperatorRequestsAreAnsweredWithCompletions) {
  AgentCore core(Options("solo", {}), storage_);
  Start(core);
  Run(core, 1s);
  ASSERT_TRUE(core.Ready());
  auto fx = Settle(core, core.Remove(core::MemberId{"solo"}, 7, T()));
  ASSERT_EQ(fx.completions.size(), 1u);
  EXPECT_EQ(fx.completions[0].token, 7u);
  EXPECT_EQ(fx.completions[0].status, 409);
  fx = Settle(core, core.Remove(core::MemberId{"ghost"}, 8, T()));
  ASSERT_EQ(fx.completions.size(), 1u);
  EXPECT_EQ(fx.completions[0].status, 404);

  raft::MemoryStorage storage;
  AgentCore joiner(Options("a", {"s1:7420"}), storage);
  Start(joiner, &storage);
  fx = Settle(joiner, joiner.Stop(StopMode::kLeave, 9, T()));
  ASSERT_EQ(fx.completions.size(), 1u);
  EXPECT_EQ(fx.completions[0].status, 409);
  EXPECT_FALSE(fx.stopped);
  EXPECT_FALSE(joiner.stopping());
}

// A lone member that stops with a leave commits it and reports success.
TEST_F(AgentCoreTest, AStopWithLeaveCommitsTheLeaveThenStops) {
  AgentCore core(Options("solo", {}), storage_);
  Start(core);
  Run(core, 1s);
  auto fx = Settle(core, core.Stop(StopMode::kLeave, 3, T()));
  for (int i = 0; i < 20 && !fx.stopped; ++i) {
    now_ += 25ms;
    fx = Settle(core, core.Advance(T()));
  }
  ASSERT_TRUE(fx.stopped);
  ASSERT_EQ(fx.completions.size(), 1u);
  EXPECT_EQ(fx.completions[0].status, 200) << fx.completions[0].message;
  EXPECT_EQ(core.view().Find("solo")->state, membership::MemberState::kLeft);
}

// An ack whose echoed time is not one of ours (in the future, or more than a
// minute old) is refused, not turned into a round trip.
TEST_F(AgentCoreTest, AnAckThatIsNotAnEchoOfOursIsRefused) {
  AgentCore core(Options("solo", {}), storage_);
  Start(core);
  now_ += 10s;
  const int64_t now_ns = (now_ - core::Instant{}).count();
  EXPECT_FALSE(core.OnAck({"x", 4, now_ns + 1'000'000}, T()).valid);
  EXPECT_FALSE(core.OnAck({"x", 4, now_ns - 61'000'000'000}, T()).valid);
  const auto ok = core.OnAck({"x", 4, now_ns - 2'000'000}, T());
  EXPECT_TRUE(ok.valid);
  EXPECT_NEAR(ok.rtt_seconds, 0.002, 1e-9);
  EXPECT_FALSE(ok.watched);
}

}  // namespace
}  // namespace ringwatch::agent
