#include "membership/command.h"
#include "membership/peer_message.h"
#include "membership/wire.h"

#include <gtest/gtest.h>

namespace ringwatch::membership {
namespace {

Diagnosis SomeDiagnosis() {
  Diagnosis d;
  d.cls = DiagnosisClass::kPartition;
  d.observers = {{"a", 9.5, 0.8, true, ProbeResult::kTimeout, DetectionPath::kPhi},
                 {"b", 0.2, 0.1, false, ProbeResult::kConnected}};
  d.probe = ProbeResult::kTimeout;
  d.health = Health{0.5f, 0.4f, 0.3f, 0.01f};
  d.decided_at_ms = 1234;
  d.group = {"node-3", "node-4"};
  d.path = DetectionPath::kFast;
  return d;
}

Revision SomeRevision() {
  Revision r;
  r.cls = DiagnosisClass::kPaused;
  r.account.restarted = false;
  r.account.episode = true;
  r.account.heard = {"node-2"};
  r.account.longest_pause_ms = 4200;
  return r;
}

std::vector<Command> All() {
  MemberInfo info{"node-1", "10.0.0.1:7420", "z1", "10.0.0.1:11211", 2, 99};
  return {Command{1, AddMember{info}},
          Command{2, MarkDead{"node-1", 99, SomeDiagnosis()}},
          Command{3, MarkAlive{"node-1", 100}},
          Command{4, Leave{"node-1"}},
          Command{5, Remove{"node-1"}},
          Command{6, UpdateMember{info}},
          Command{7, LeaderElected{"node-2", 8}},
          Command{8, Restarting{"node-1", 99}},
          Command{9, Revise{"node-1", 99, SomeRevision()}}};
}

TEST(MembershipCommand, EveryCommandRoundTrips) {
  for (const Command& c : All()) {
    auto back = DecodeCommand(EncodeCommand(c));
    ASSERT_TRUE(back) << c.body.index();
    EXPECT_EQ(*back, c);
  }
}

TEST(MembershipCommand, TruncationsTrailingBytesAndUnknownTagsAreRejected) {
  for (const Command& c : All()) {
    std::string bytes = EncodeCommand(c);
    for (std::size_t cut = 0; cut < bytes.size(); ++cut)
      EXPECT_FALSE(DecodeCommand(bytes.substr(0, cut))) << c.body.index() << " cut " << cut;
    EXPECT_FALSE(DecodeCommand(bytes + "!"));
  }
  std::string bytes = EncodeCommand(All()[0]);
  bytes[9] = 42;  // the tag
  EXPECT_FALSE(DecodeCommand(bytes));
  bytes = EncodeCommand(All()[0]);
  bytes[0] = 5;  // an unknown format version
  EXPECT_FALSE(DecodeCommand(bytes));
}

// Entries a log of an earlier version holds still decode: version 2 (no
// per-observer probes, no group, no revision, no Revise).
TEST(MembershipCommand, VersionTwoEntriesStillDecode) {
  core::ByteWriter w;
  w.U8(2);
  w.I64(5);
  w.U8(2);  // MarkDead
  wire::PutString(w, "node-1");
  w.U64(7);
  Diagnosis d = SomeDiagnosis();
  wire::PutDiagnosis(w, d, 1);
  auto back = DecodeCommand(w.Take());
  ASSERT_TRUE(back);
  const auto* dead = std::get_if<MarkDead>(&back->body);
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->diagnosis.cls, DiagnosisClass::kPartition);
  EXPECT_EQ(dead->diagnosis.observers.size(), 2u);
  EXPECT_EQ(dead->diagnosis.observers[1].probe, ProbeResult::kNone);
  EXPECT_TRUE(dead->diagnosis.group.empty());
  // A Revise cannot be a version-2 entry.
  std::string revise = EncodeCommand(Command{9, Revise{"node-1", 99, SomeRevision()}});
  revise[0] = 2;
  EXPECT_FALSE(DecodeCommand(revise));
}

// Version 3 (before the detection path): everything but the paths.
TEST(MembershipCommand, VersionThreeEntriesStillDecodeWithoutPaths) {
  core::ByteWriter w;
  w.U8(3);
  w.I64(5);
  w.U8(2);  // MarkDead
  wire::PutString(w, "node-1");
  w.U64(7);
  Diagnosis d = SomeDiagnosis();
  d.revision = SomeRevision();
  wire::PutDiagnosis(w, d, 2);
  auto back = DecodeCommand(w.Take());
  ASSERT_TRUE(back);
  const auto* dead = std::get_if<MarkDead>(&back->body);
  ASSERT_TRUE(dead);
  EXPECT_EQ(dead->diagnosis.path, DetectionPath::kNone);
  EXPECT_EQ(dead->diagnosis.observers[0].path, DetectionPath::kNone);
  EXPECT_EQ(dead->diagnosis.observers[0].probe, ProbeResult::kTimeout);
  EXPECT_EQ(dead->diagnosis.group, d.group);
  ASSERT_TRUE(dead->diagnosis.revision);
  EXPECT_EQ(dead->diagnosis.revision->cls, d.revision->cls);
  // Version 4 keeps them; an unknown path is refused.
  const std::string now = EncodeCommand(Command{5, MarkDead{"node-1", 7, SomeDiagnosis()}});
  auto again = DecodeCommand(now);
  ASSERT_TRUE(again);
  EXPECT_EQ(std::get<MarkDead>(again->body).diagnosis.path, DetectionPath::kFast);
  EXPECT_EQ(std::get<MarkDead>(again->body).diagnosis.observers[0].path, DetectionPath::kPhi);
  std::string bad = now;
  bad.back() = 9;  // the decision's path, last
  EXPECT_FALSE(DecodeCommand(bad));
}

}  // namespace
}  // namespace ringwatch::membership

namespace ringwatch::membership {
namespace {

// Bounds (types.h): a member id as the Raft configuration can hold it, a
// zone like an id, a weight of 1-1000, a bounded address and service. Out of
// bounds, a command does not decode — so a committed one is a no-op on
// every agent — and a join request is refused before anything is proposed,
// with the reason.
TEST(MembershipBounds, OutOfBoundsMembersAreRefusedAtDecodeWithAReason) {
  const MemberInfo good{"node-1", "10.0.0.1:7420", "z1", "10.0.0.1:11211", 1000, 7};
  ASSERT_EQ(InfoProblem(good), "");
  std::vector<std::pair<MemberInfo, std::string>> bad;
  MemberInfo i = good;
  i.id = std::string(300, 'a');
  bad.emplace_back(i, "member id");
  i = good;
  i.id = "no spaces";
  bad.emplace_back(i, "member id");
  i = good;
  i.weight = 0;
  bad.emplace_back(i, "weight");
  i = good;
  i.weight = 1001;
  bad.emplace_back(i, "weight");
  i = good;
  i.weight = 4294967295u;
  bad.emplace_back(i, "weight");
  i = good;
  i.zone = "rack a";
  bad.emplace_back(i, "zone");
  i = good;
  i.address = "";
  bad.emplace_back(i, "address");
  i = good;
  i.address = std::string(300, 'h') + ":1";
  bad.emplace_back(i, "address");
  i = good;
  i.service = std::string(256, 's');
  bad.emplace_back(i, "service");
  for (const auto& [info, what] : bad) {
    EXPECT_NE(InfoProblem(info).find(what), std::string::npos) << InfoProblem(info);
    EXPECT_FALSE(DecodeCommand(EncodeCommand({1, AddMember{info}}))) << what;
    EXPECT_FALSE(DecodeCommand(EncodeCommand({1, UpdateMember{info}}))) << what;
    std::string why;
    EXPECT_FALSE(DecodePeerMessage(EncodePeerMessage(JoinRequest{info, false}), &why)) << what;
    EXPECT_NE(why.find(what), std::string::npos) << why;
  }
  // Ids elsewhere: commands and reports about a 300-byte id do not decode.
  const std::string long_id(300, 'x');
  EXPECT_FALSE(DecodeCommand(EncodeCommand({1, Leave{long_id}})));
  EXPECT_FALSE(DecodeCommand(EncodeCommand({1, Remove{long_id}})));
  EXPECT_FALSE(DecodeCommand(EncodeCommand({1, MarkDead{long_id, 1, Diagnosis{}}})));
  EXPECT_FALSE(DecodePeerMessage(EncodePeerMessage(RejoinRequest{long_id, 2, false})));
  Report r;
  r.observer = "a";
  r.subject = long_id;
  EXPECT_FALSE(DecodePeerMessage(EncodePeerMessage(ReportMessage{r, false})));
  EXPECT_TRUE(DecodePeerMessage(EncodePeerMessage(JoinRequest{good, false})));
}

// A report carries the path that made its observer suspect; an unknown
// path does not decode.
TEST(MembershipPeerMessage, AReportCarriesItsDetectionPath) {
  Report r;
  r.observer = "a";
  r.subject = "b";
  r.incarnation = 3;
  r.suspected = true;
  r.probe = ProbeResult::kRefused;
  r.path = DetectionPath::kFast;
  const std::string bytes = EncodePeerMessage(ReportMessage{r, false, 77, {}});
  auto back = DecodePeerMessage(bytes);
  ASSERT_TRUE(back);
  const auto* m = std::get_if<ReportMessage>(&*back);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->report.path, DetectionPath::kFast);
  EXPECT_EQ(m->report.probe, ProbeResult::kRefused);
  // tag, observer (u32 length + 1), subject (likewise), incarnation,
  // suspected, phi, silence, probe: the path byte follows.
  std::string bad = bytes;
  ASSERT_EQ(bad[1 + 5 + 5 + 8 + 1 + 8 + 8 + 1], 3);
  bad[1 + 5 + 5 + 8 + 1 + 8 + 8 + 1] = 4;
  EXPECT_FALSE(DecodePeerMessage(bad));
}

}  // namespace
}  // namespace ringwatch::membership
