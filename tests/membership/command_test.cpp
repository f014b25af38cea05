#include "membership/command.h"

#include <gtest/gtest.h>

namespace ringwatch::membership {
namespace {

Diagnosis SomeDiagnosis() {
  Diagnosis d;
  d.cls = DiagnosisClass::kPartition;
  d.observers = {{"a", 9.5, 0.8, true}, {"b", 0.2, 0.1, false}};
  d.probe = ProbeResult::kTimeout;
  d.health = Health{0.5f, 0.4f, 0.3f, 0.01f};
  d.decided_at_ms = 1234;
  return d;
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
          Command{8, Restarting{"node-1", 99}}};
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
  bytes[0] = 2;  // an unknown format version
  EXPECT_FALSE(DecodeCommand(bytes));
}

}  // namespace
}  // namespace ringwatch::membership
