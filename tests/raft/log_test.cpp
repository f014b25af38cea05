#include "raft/log.h"

#include <gtest/gtest.h>

namespace ringwatch::raft {
namespace {

std::vector<Entry> Terms(uint64_t first_index, const std::vector<uint64_t>& terms) {
  std::vector<Entry> out;
  for (std::size_t k = 0; k < terms.size(); ++k)
    out.push_back(Entry{Term{terms[k]}, LogIndex{first_index + k}, EntryType::kNormal, "e"});
  return out;
}

TEST(RaftLog, TermsAroundTheSnapshotPoint) {
  RaftLog log(LogIndex{5}, Term{2}, Terms(6, {2, 3, 3}), LogIndex{7});
  EXPECT_EQ(log.first_index(), LogIndex{6});
  EXPECT_EQ(log.last_index(), LogIndex{8});
  EXPECT_EQ(log.TermAt(LogIndex{5}), Term{2});
  EXPECT_FALSE(log.TermAt(LogIndex{4})) << "compacted";
  EXPECT_FALSE(log.TermAt(LogIndex{9})) << "not written";
  EXPECT_EQ(log.committed(), LogIndex{7});
  EXPECT_EQ(log.applied(), LogIndex{5}) << "a restart re-applies from the snapshot";
  EXPECT_EQ(log.stable(), LogIndex{8}) << "what storage loaded is durable";
}

// §5.3: entries already present are kept; the first conflict and all after it go.
TEST(RaftLog, MaybeAppendKeepsMatchingEntriesAndCutsAtTheFirstConflict) {
  RaftLog log(LogIndex{0}, Term{0}, Terms(1, {1, 1, 2, 2}), LogIndex{1});
  log.MaybeAppend(LogIndex{1}, Terms(2, {1, 2}));  // a duplicate of what is there
  EXPECT_EQ(log.last_index(), LogIndex{4}) << "a stale append must not truncate";
  log.MaybeAppend(LogIndex{2}, Terms(3, {3}));
  EXPECT_EQ(log.last_index(), LogIndex{3});
  EXPECT_EQ(log.TermAt(LogIndex{3}), Term{3});
  EXPECT_EQ(log.stable(), LogIndex{2}) << "the replaced entry is no longer durable";
  EXPECT_EQ(log.Unstable().size(), 1u);
}

TEST(RaftLog, FindConflictByTermSkipsAWholeTerm) {
  RaftLog log(LogIndex{0}, Term{0}, Terms(1, {1, 1, 1, 4, 4, 5, 5, 6, 6, 6}), LogIndex{0});
  EXPECT_EQ(log.FindConflictByTerm(LogIndex{10}, Term{5}), LogIndex{7});
  EXPECT_EQ(log.FindConflictByTerm(LogIndex{10}, Term{3}), LogIndex{3});
  EXPECT_EQ(log.FindConflictByTerm(LogIndex{10}, Term{0}), LogIndex{0});
  EXPECT_EQ(log.FindConflictByTerm(LogIndex{50}, Term{9}), LogIndex{10}) << "clamped to the log";
}

TEST(RaftLog, SlicesRespectTheByteBudgetButAlwaysReturnOne) {
  RaftLog log(LogIndex{0}, Term{0}, Terms(1, {1, 1, 1}), LogIndex{0});
  EXPECT_EQ(log.Slice(LogIndex{1}, LogIndex{3}, 0).size(), 1u);
  EXPECT_EQ(log.Slice(LogIndex{1}, LogIndex{3}, 2).size(), 2u);
  EXPECT_EQ(log.Slice(LogIndex{1}, LogIndex{3}, 100).size(), 3u);
}

TEST(RaftLog, CompactAndRestore) {
  RaftLog log(LogIndex{0}, Term{0}, Terms(1, {1, 2, 2, 3}), LogIndex{3});
  log.AppliedTo(LogIndex{3});
  log.CompactTo(LogIndex{2});
  EXPECT_EQ(log.snapshot_index(), LogIndex{2});
  EXPECT_EQ(log.snapshot_term(), Term{2});
  EXPECT_EQ(log.first_index(), LogIndex{3});
  EXPECT_EQ(log.last_index(), LogIndex{4});
  log.CheckInvariants();
  log.Restore(LogIndex{10}, Term{5});
  EXPECT_EQ(log.last_index(), LogIndex{10});
  EXPECT_EQ(log.last_term(), Term{5});
  EXPECT_EQ(log.committed(), LogIndex{10});
  log.CheckInvariants();
}

// §5.4.1: the later last term wins; with equal terms the longer log.
TEST(RaftLog, IsUpToDate) {
  RaftLog log(LogIndex{0}, Term{0}, Terms(1, {1, 2, 2}), LogIndex{0});
  EXPECT_TRUE(log.IsUpToDate(LogIndex{1}, Term{3}));
  EXPECT_TRUE(log.IsUpToDate(LogIndex{3}, Term{2}));
  EXPECT_FALSE(log.IsUpToDate(LogIndex{2}, Term{2}));
  EXPECT_FALSE(log.IsUpToDate(LogIndex{9}, Term{1}));
}

}  // namespace
}  // namespace ringwatch::raft
