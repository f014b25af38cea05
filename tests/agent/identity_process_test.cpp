// Hostile peers with the cluster key (issue "Hostile networks"), against
// three real agents on loopback that share a keyring: an impostor that
// holds the key still cannot speak for a member — forged joins (an address
// hijack, a lost-state join that would evict a live voter), leaves and
// removals proposed by a non-member or under a member's id, high-term Raft
// messages, suspicion reports and heartbeats under another member's id are
// dropped as `bad_identity`, and nothing changes in the view or the Raft
// group; frames without the key are `bad_hmac`. Captured frames replayed
// (a member's heartbeats after it was killed, its Leave after it came back)
// are dropped as `replay`. Frames are built with the project's own codecs;
// every wait polls with a deadline.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <csignal>
#include <nlohmann/json.hpp>
#include <thread>

#include "agent/core/heartbeat_codec.h"
#include "agent/peer/peer_frame.h"
#include "core/byte_codec.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/file.h"
#include "membership/command.h"
#include "membership/peer_message.h"
#include "raft/codec.h"
#include "tests/support/agent_process.h"
#include "tests/support/cluster_status.h"
#include "tests/support/poll.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
using testing::AgentProcess;

constexpr auto kDeadline = 30s;
const std::vector<std::string> kAll{"node-1", "node-2", "node-3"};
constexpr const char* kKey = "aWRlbnRpdHktdGVzdC1jbHVzdGVyLWtleS0zMmJ5dGU=";

int64_t WallMs() {
  return core::WallClockMs();
}

std::string ClusterKey() {
  return *core::Base64Decode(kKey);
}

// A frame as the peer port's TCP side reads it (u32 length first).
std::string Stream(const std::string& frame) {
  core::ByteWriter w;
  w.U32(static_cast<uint32_t>(frame.size()));
  w.Bytes(frame);
  return w.Take();
}

sockaddr_in Loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

void SendTcp(uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a = Loopback(port);
  ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  std::string_view rest = bytes;
  while (!rest.empty()) {
    const ssize_t n = ::send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
    ASSERT_GT(n, 0);
    rest.remove_prefix(static_cast<std::size_t>(n));
  }
  ::close(fd);
}

void SendUdp(uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  const sockaddr_in a = Loopback(port);
  ::sendto(fd, bytes.data(), bytes.size(), 0, reinterpret_cast<const sockaddr*>(&a), sizeof a);
  ::close(fd);
}

double Dropped(AgentProcess& a, const std::string& reason) {
  return testing::MetricSample(a, "ringwatch_messages_dropped_total{reason=\"" + reason + "\"}");
}

nlohmann::json MemberJson(AgentProcess& viewer, const std::string& id) {
  auto members = testing::GetJson(viewer, "/v1/members");
  if (members.is_null()) return nullptr;
  for (const auto& m : members["members"])
    if (m["id"] == id) return m;
  return nullptr;
}

// The member's signing key, as its agent keeps it in its data_dir — what a
// captured frame of it carries a signature by.
core::SigningKey KeyOf(AgentProcess& a) {
  auto text = core::ReadFile(a.dir().File("data/identity.key"));
  auto secret = text ? core::Base64Decode(*text) : std::nullopt;
  auto key = secret ? core::SigningKey::FromSecret(*secret) : std::nullopt;
  return key ? *key : core::SigningKey{};
}

raft::Message Proposal(const std::string& from, const std::string& to,
                       const std::vector<membership::Command>& commands) {
  raft::Message m;
  m.type = raft::MessageType::kPropose;
  m.from = raft::NodeId{from};
  m.to = raft::NodeId{to};
  for (const auto& c : commands)
    m.entries.push_back(raft::Entry{raft::Term{}, raft::LogIndex{}, raft::EntryType::kNormal,
                                    membership::EncodeCommand(c)});
  return m;
}

class IdentityProcess : public ::testing::Test {
 protected:
  void SetUp() override {
    keyring_ = dir_.Write("keyring", std::string(kKey) + "\n");
    std::string error;
    ASSERT_TRUE(testing::StartSeededCluster(
        3, &agents_, &error,
        "  bootstrap_voters: [node-1, node-2, node-3]\n  secret_file: " + keyring_ + "\n"))
        << error;
    for (auto& a : agents_)
      all_.push_back(a.get());
    ASSERT_TRUE(testing::AllSee(all_, kAll, "alive")) << agents_[0]->process().Stderr();
  }

  AgentProcess& Agent(const std::string& id) {
    for (auto* a : all_)
      if (testing::GetJson(*a, "/v1/status")["node"] == id) return *a;
    ADD_FAILURE() << "no agent " << id;
    return *all_.front();
  }

  std::string Frame(FrameType type, const std::string& payload, const FrameSender& sender,
                    uint64_t sequence, const std::string& key) {
    return EncodeFrame(type, "default", sender, sequence, WallMs(), payload, key);
  }

  testing::TempDir dir_;
  std::string keyring_;
  std::vector<std::unique_ptr<AgentProcess>> agents_;
  std::vector<AgentProcess*> all_;
};

TEST_F(IdentityProcess, WithTheClusterKeyAnImpostorCannotSpeakForAMember) {
  uint64_t term = 0;
  std::string leader;
  ASSERT_TRUE(testing::PollUntil(
      [&] { return !(leader = testing::AgreedLeader(all_, &term)).empty(); }, kDeadline, 20ms));
  AgentProcess& lead = Agent(leader);
  const std::string victim = leader == "node-2" ? "node-3" : "node-2";
  const std::string voter = leader == "node-1" ? "node-3" : "node-1";
  const auto before = MemberJson(lead, victim);
  ASSERT_TRUE(before.is_object());
  const uint64_t incarnation = before["incarnation"].get<uint64_t>();
  const std::string key = ClusterKey();

  const FrameSender mallory{"mallory", 1, core::SigningKey::Generate()};
  const FrameSender as_victim{victim, incarnation, mallory.key};
  uint64_t seq = 1;
  // Every forgery, its frames tagged with `key` (the cluster key, or another).
  auto forge = [&](const std::string& tag) {
    std::string tcp;
    // An address hijack: a join under the victim's id, a higher incarnation,
    // another address — signed by the impostor's key, which it registers.
    membership::MemberInfo hijack{victim,          "127.0.0.1:9",         "", victim, 1,
                                  incarnation + 1, mallory.key.public_key};
    membership::JoinRequest join{hijack, false};
    join.signature = mallory.key.Sign(membership::SignedBytes(join));
    tcp += Stream(
        Frame(FrameType::kMembership, membership::EncodePeerMessage(join), as_victim, seq++, tag));
    // A lost-state join for a live voter (the leader would evict its Raft identity).
    membership::MemberInfo lost{voter,           "127.0.0.1:9",         "", voter, 1,
                                incarnation + 1, mallory.key.public_key};
    membership::JoinRequest lost_join{lost, false, true};
    lost_join.signature = mallory.key.Sign(membership::SignedBytes(lost_join));
    tcp += Stream(Frame(FrameType::kMembership, membership::EncodePeerMessage(lost_join),
                        FrameSender{voter, incarnation + 1, mallory.key}, seq++, tag));
    // Leave + Remove of the victim proposed by a non-member, and under the
    // victim's own id with the impostor's key.
    const std::vector<membership::Command> evict{{WallMs(), membership::Leave{victim}},
                                                 {WallMs(), membership::Remove{victim}}};
    tcp += Stream(Frame(FrameType::kRaft, raft::EncodeMessage(Proposal("mallory", leader, evict)),
                        mallory, seq++, tag));
    tcp += Stream(Frame(
        FrameType::kRaft,
        raft::EncodeMessage(Proposal(victim, leader, {{WallMs(), membership::Leave{victim}}})),
        as_victim, seq++, tag));
    // A vote request from a far higher term, from a non-member.
    raft::Message vote;
    vote.type = raft::MessageType::kVote;
    vote.from = raft::NodeId{"mallory"};
    vote.to = raft::NodeId{leader};
    vote.term = raft::Term{term + 100};
    vote.index = raft::LogIndex{1'000'000};
    vote.log_term = raft::Term{term + 99};
    tcp += Stream(Frame(FrameType::kRaft, raft::EncodeMessage(vote), mallory, seq++, tag));
    // Suspicion reports: by a non-member, and forwarded under a member's name
    // but not signed by it.
    membership::Report report;
    report.observer = "mallory";
    report.subject = victim;
    report.incarnation = incarnation;
    report.suspected = true;
    report.phi = 50;
    tcp += Stream(
        Frame(FrameType::kMembership,
              membership::EncodePeerMessage(membership::ReportMessage{report, false, WallMs()}),
              mallory, seq++, tag));
    report.observer = voter;
    membership::ReportMessage forwarded{report, true, WallMs()};
    forwarded.signature = mallory.key.Sign(membership::SignedBytes(forwarded));
    tcp += Stream(Frame(FrameType::kMembership, membership::EncodePeerMessage(forwarded), mallory,
                        seq++, tag));
    return tcp;
  };
  // Without the cluster key (another key): every one of them is bad_hmac.
  SendTcp(lead.peer_port(), forge(ClusterKey().substr(1) + "x"));
  ASSERT_TRUE(testing::PollUntil([&] { return Dropped(lead, "bad_hmac") >= 7; }, kDeadline, 20ms))
      << "bad_hmac " << Dropped(lead, "bad_hmac");
  // With it, but not the identity of the member they speak for: bad_identity.
  SendTcp(lead.peer_port(), forge(key));
  // A heartbeat under the victim's id, by the impostor's key.
  Heartbeat h;
  h.sender = victim;
  h.incarnation = incarnation;
  h.sequence = 1;
  SendUdp(lead.peer_port(), Frame(FrameType::kHeartbeat, EncodeHeartbeat(h), as_victim, 1, key));
  // And all of them with no tag at all: bad_hmac too.
  SendTcp(lead.peer_port(), forge(""));

  ASSERT_TRUE(
      testing::PollUntil([&] { return Dropped(lead, "bad_identity") >= 8; }, kDeadline, 20ms))
      << "bad_identity " << Dropped(lead, "bad_identity") << "\n"
      << lead.process().Stderr();
  ASSERT_TRUE(testing::PollUntil([&] { return Dropped(lead, "bad_hmac") >= 14; }, kDeadline, 20ms));
  std::this_thread::sleep_for(1s);  // would anything commit? (a proposal takes ~1 ms)
  for (auto* a : all_) {
    for (const auto& id : kAll)
      EXPECT_EQ(testing::MemberState(*a, id), "alive") << id;
    EXPECT_EQ(MemberJson(*a, victim)["address"], before["address"]) << "no hijack";
  }
  uint64_t term_after = 0;
  EXPECT_EQ(testing::AgreedLeader(all_, &term_after), leader) << "no election";
  EXPECT_EQ(term_after, term) << "no term jump";
  auto raft = testing::RaftStatus(lead);
  EXPECT_EQ(raft["voters"].size(), 3u) << raft.dump();
  EXPECT_NE(lead.process().Stderr().find("peer frame refused"), std::string::npos);
}

TEST_F(IdentityProcess, CapturedFramesReplayedAreDroppedAsReplays) {
  std::string leader;
  ASSERT_TRUE(testing::PollUntil([&] { return !(leader = testing::AgreedLeader(all_)).empty(); },
                                 kDeadline, 20ms));
  AgentProcess& lead = Agent(leader);
  const std::string victim = leader == "node-3" ? "node-2" : "node-3";
  AgentProcess& v = Agent(victim);
  const uint64_t incarnation = MemberJson(lead, victim)["incarnation"].get<uint64_t>();
  const core::SigningKey victim_key = KeyOf(v);
  ASSERT_FALSE(victim_key.secret_key.empty());
  const FrameSender as_victim{victim, incarnation, victim_key};
  const std::string key = ClusterKey();

  // What a listener on the wire would have captured from the victim: one of
  // its heartbeats, and its Leave (frames far ahead in its numbering, so the
  // victim's own frames do not use the numbers first).
  Heartbeat h;
  h.sender = victim;
  h.incarnation = incarnation;
  h.sequence = 1;
  const std::string heartbeat =
      Frame(FrameType::kHeartbeat, EncodeHeartbeat(h), as_victim, 1ull << 40, key);
  const std::string leave = Stream(
      Frame(FrameType::kRaft,
            raft::EncodeMessage(Proposal(victim, leader, {{WallMs(), membership::Leave{victim}}})),
            as_victim, 1ull << 40, key));
  SendUdp(lead.peer_port(), heartbeat);
  SendUdp(lead.peer_port(), heartbeat);
  ASSERT_TRUE(testing::PollUntil([&] { return Dropped(lead, "replay") >= 1; }, kDeadline, 20ms));

  // The Leave, the first time, is the member's own: it leaves.
  SendTcp(lead.peer_port(), leave);
  ASSERT_TRUE(testing::AllSee(testing::AllBut(all_, &v), {victim}, "left"));
  // It comes back (a new incarnation, the same identity) ...
  ASSERT_TRUE(v.process().Signal(SIGKILL));
  ASSERT_EQ(v.process().Wait(kDeadline), 128 + SIGKILL);
  std::string error;
  ASSERT_TRUE(v.Start(&error)) << error;
  ASSERT_TRUE(testing::AllSee(all_, kAll, "alive"));
  // ... and its captured Leave, replayed, does not evict it again.
  const double replays = Dropped(lead, "replay");
  SendTcp(lead.peer_port(), leave);
  ASSERT_TRUE(
      testing::PollUntil([&] { return Dropped(lead, "replay") >= replays + 1; }, kDeadline, 20ms));
  std::this_thread::sleep_for(1s);
  for (auto* a : all_)
    EXPECT_EQ(testing::MemberState(*a, victim), "alive");

  // Killed, its captured heartbeats replayed all along do not keep it alive.
  const uint64_t now_incarnation = MemberJson(lead, victim)["incarnation"].get<uint64_t>();
  Heartbeat h2 = h;
  h2.incarnation = now_incarnation;
  const std::string captured =
      Frame(FrameType::kHeartbeat, EncodeHeartbeat(h2),
            FrameSender{victim, now_incarnation, victim_key}, 1ull << 41, key);
  ASSERT_TRUE(v.process().Signal(SIGKILL));
  ASSERT_EQ(v.process().Wait(kDeadline), 128 + SIGKILL);
  const double before = Dropped(lead, "replay");
  SendUdp(lead.peer_port(), captured);  // the capture, delivered once (the member's own)
  EXPECT_TRUE(testing::PollUntil(
      [&] {
        for (auto* a : all_)
          if (a != &v) SendUdp(a->peer_port(), captured);
        return testing::MemberState(lead, victim) == "dead";
      },
      kDeadline, 50ms));
  EXPECT_GT(Dropped(lead, "replay"), before);
}

}  // namespace
}  // namespace ringwatch::agent
