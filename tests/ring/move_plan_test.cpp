#include "ring/move_plan.h"

#include <gtest/gtest.h>

#include <map>
#include <random>

namespace ringwatch::ring {
namespace {

std::vector<RingMember> Members(int n) {
  std::vector<RingMember> out;
  for (int i = 0; i < n; ++i)
    out.push_back({"node-" + std::to_string(100 + i), "10.0.0." + std::to_string(i), "", 1});
  return out;
}

ring::Options Xxh3() {
  ring::Options c;
  c.hash = ring::HashKind::kXxh3;
  return c;
}

TEST(MovePlan, IdenticalRingsMoveNothing) {
  const Ring a = Ring::Build(Members(10), Xxh3());
  const MovePlan p = ComputeMovePlan(a, a);
  EXPECT_EQ(p.moved_ratio, 0.0);
  EXPECT_TRUE(p.moves.empty());
}

TEST(MovePlan, RemovingAMemberMovesItsShareAwayFromIt) {
  auto members = Members(10);
  const Ring before = Ring::Build(members, Xxh3());
  const std::string gone = members[4].id;
  members.erase(members.begin() + 4);
  const Ring after = Ring::Build(members, Xxh3());
  const MovePlan p = ComputeMovePlan(before, after);
  const double share = before.Ownership()[4];
  // xxh3 plans are measured on 65,536 key hashes: ~5 standard deviations.
  EXPECT_NEAR(p.moved_ratio, share, 0.006);
  double sum = 0;
  for (const Move& m : p.moves) {
    EXPECT_EQ(m.from, gone);
    EXPECT_NE(m.to, gone);
    EXPECT_GT(m.ratio, 0);
    sum += m.ratio;
  }
  EXPECT_NEAR(sum, p.moved_ratio, 1e-12);
  EXPECT_GE(p.moves.size(), 5u);  // spread over many survivors
}

// The plan agrees with moving 200,000 random keys through both rings, in
// both modes (xxh3: two-probe owners).
class MovePlanModes : public ::testing::TestWithParam<ring::HashKind> {};

TEST_P(MovePlanModes, MatchesSampling) {
  ring::Options config;
  config.hash = GetParam();
  auto members = Members(8);
  const Ring before = Ring::Build(members, config);
  members.erase(members.begin() + 2);
  members.push_back({"node-999", "10.0.9.9", "", 3});
  const Ring after = Ring::Build(members, config);
  const MovePlan p = ComputeMovePlan(before, after);
  std::mt19937_64 rng(9);
  std::map<std::pair<std::string, std::string>, double> sampled;
  double moved = 0;
  const uint64_t mask = GetParam() == ring::HashKind::kKetama ? 0xFFFFFFFFull : ~0ull;
  for (int i = 0; i < 200000; ++i) {
    const uint64_t h = rng() & mask;
    const std::string& a = before.members()[before.OwnerOfHash(h)].id;
    const std::string& b = after.members()[after.OwnerOfHash(h)].id;
    if (a != b) {
      sampled[{a, b}] += 1.0 / 200000;
      moved += 1.0 / 200000;
    }
  }
  EXPECT_NEAR(p.moved_ratio, moved, 0.01);
  for (const Move& m : p.moves) {
    const double expected = sampled[{m.from, m.to}];
    EXPECT_NEAR(m.ratio, expected, 0.005) << m.from << "->" << m.to;
  }
}

INSTANTIATE_TEST_SUITE_P(BothModes, MovePlanModes,
                         ::testing::Values(ring::HashKind::kKetama, ring::HashKind::kXxh3));

TEST(MovePlan, FromOrToAnEmptyRing) {
  const Ring empty;
  const Ring ring = Ring::Build(Members(3), Xxh3());
  const MovePlan in = ComputeMovePlan(empty, ring);
  EXPECT_NEAR(in.moved_ratio, 1.0, 1e-12);
  ASSERT_EQ(in.moves.size(), 3u);
  EXPECT_EQ(in.moves[0].from, "");
  const MovePlan out = ComputeMovePlan(ring, empty);
  EXPECT_NEAR(out.moved_ratio, 1.0, 1e-12);
  EXPECT_EQ(out.moves[0].to, "");
}

}  // namespace
}  // namespace ringwatch::ring
