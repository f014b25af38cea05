#include "membership/observers.h"

#include <gtest/gtest.h>

#include <set>

namespace ringwatch::membership {
namespace {

std::vector<std::string> Ids(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("node-" + std::to_string(i));
  return out;
}

TEST(Observers, AllToAllBelowKPlusOneMembers) {
  auto o = Observers::Compute(Ids(4), 5);
  for (const auto& id : Ids(4)) {
    EXPECT_EQ(o.Of(id).size(), 3u) << id;
    EXPECT_EQ(std::count(o.Of(id).begin(), o.Of(id).end(), id), 0);
    EXPECT_EQ(o.SubjectsOf(id).size(), 3u);
  }
  EXPECT_TRUE(Observers::Compute({"solo"}, 5).Of("solo").empty());
}

// K distinct observers per member, never itself; the load per observer stays
// near K; and the assignment is a pure function of the member set.
TEST(Observers, KDistinctObserversWithBalancedLoadAtScale) {
  const uint32_t k = 5;
  auto ids = Ids(1000);
  auto o = Observers::Compute(ids, k);
  std::size_t max_load = 0;
  for (const auto& id : ids) {
    const auto& w = o.Of(id);
    ASSERT_EQ(w.size(), k) << id;
    EXPECT_EQ(std::set<std::string>(w.begin(), w.end()).size(), k);
    EXPECT_EQ(std::count(w.begin(), w.end(), id), 0);
    max_load = std::max(max_load, o.SubjectsOf(id).size());
  }
  EXPECT_LE(max_load, 3 * k) << "no observer watches far more than K members";
  auto shuffled = ids;
  std::reverse(shuffled.begin(), shuffled.end());
  auto again = Observers::Compute(shuffled, k);
  for (const auto& id : ids)
    EXPECT_EQ(again.Of(id), o.Of(id));
}

// Removing one member changes the observers of few others (stable rings).
TEST(Observers, OneDeathMovesFewAssignments) {
  auto ids = Ids(200);
  auto before = Observers::Compute(ids, 5);
  ids.erase(ids.begin() + 17);
  auto after = Observers::Compute(ids, 5);
  int changed = 0;
  for (const auto& id : ids)
    changed += before.Of(id) != after.Of(id) ? 1 : 0;
  EXPECT_LE(changed, 10) << "only the dead member's subjects get a new observer";
  EXPECT_GE(changed, 1);
}

}  // namespace
}  // namespace ringwatch::membership
