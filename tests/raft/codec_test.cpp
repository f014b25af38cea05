#include "raft/codec.h"

#include <gtest/gtest.h>

#include <random>

#include "raft/node.h"

namespace ringwatch::raft {
namespace {

Message Full() {
  Message m;
  m.type = MessageType::kSnapshot;
  m.from = NodeId{"node-1"};
  m.to = NodeId{"node-2"};
  m.term = Term{7};
  m.log_term = Term{6};
  m.index = LogIndex{41};
  m.commit = LogIndex{40};
  m.reject = true;
  m.reject_hint = LogIndex{39};
  m.transfer = true;
  m.entries = {Entry{Term{6}, LogIndex{42}, EntryType::kNormal, std::string("a\0b", 3)},
               Entry{Term{7}, LogIndex{43}, EntryType::kConfChange,
                     EncodeConfChange({ConfChangeType::kPromote, NodeId{"l"}, "10.0.0.9:7420"})}};
  m.snapshot = Snapshot{LogIndex{40}, Term{6},
                        ConfState{{NodeId{"node-1"}, NodeId{"node-2"}}, {NodeId{"l"}}}, "image"};
  return m;
}

TEST(RaftCodec, EveryTypeRoundTrips) {
  Message m = Full();
  for (uint8_t t = 1; t <= static_cast<uint8_t>(MessageType::kPropose); ++t) {
    m.type = static_cast<MessageType>(t);
    auto back = DecodeMessage(EncodeMessage(m));
    ASSERT_TRUE(back) << ToString(m.type);
    EXPECT_EQ(*back, m) << ToString(m.type);
  }
  Message bare;
  bare.from = NodeId{"a"};
  bare.to = NodeId{"b"};
  EXPECT_EQ(DecodeMessage(EncodeMessage(bare)), bare);
  HardState hs{Term{3}, NodeId{"x"}, LogIndex{9}};
  EXPECT_EQ(DecodeHardState(EncodeHardState(hs)), hs);
  EXPECT_EQ(DecodeSnapshot(EncodeSnapshot(*Full().snapshot)), Full().snapshot);
  EXPECT_EQ(DecodeEntry(EncodeEntry(Full().entries[1])), Full().entries[1]);
}

TEST(RaftCodec, EveryTruncationAndTrailingGarbageIsRejected) {
  std::string bytes = EncodeMessage(Full());
  for (std::size_t cut = 0; cut < bytes.size(); ++cut)
    EXPECT_FALSE(DecodeMessage(bytes.substr(0, cut))) << cut;
  EXPECT_FALSE(DecodeMessage(bytes + "x"));
}

TEST(RaftCodec, ImpossibleValuesAreRejected) {
  std::string bytes = EncodeMessage(Full());
  std::string bad_type = bytes;
  bad_type[0] = 99;
  EXPECT_FALSE(DecodeMessage(bad_type));
  // A voter listed as a learner too.
  ConfState both{{NodeId{"a"}}, {NodeId{"a"}}};
  EXPECT_FALSE(DecodeConfState(EncodeConfState(both)));
  // An empty node id in a change.
  EXPECT_FALSE(DecodeConfChange(EncodeConfChange({ConfChangeType::kRemove, NodeId{}, ""})));
}

// Random bytes, and random mutations of valid messages, never crash the
// decoder; whatever decodes is stepped into a live node, which must keep its
// invariants (etcd raft is fuzzed the same way). Bounded: 20,000 inputs.
TEST(RaftCodec, RandomInputNeverCrashesTheDecoderOrTheNode) {
  std::mt19937_64 rng(7);
  ConfState conf{{NodeId{"node-1"}, NodeId{"node-2"}, NodeId{"node-3"}}, {}};
  Options o;
  o.id = NodeId{"node-2"};
  Node node(o, Bootstrap(conf));
  std::string valid = EncodeMessage(Full());
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input;
    if (i % 2 == 0) {
      input.resize(rng() % 200);
      for (char& c : input)
        c = static_cast<char>(rng());
    } else {
      input = valid;
      for (int flips = 0; flips < 3; ++flips)
        input[rng() % input.size()] = static_cast<char>(rng());
    }
    if (auto m = DecodeMessage(input)) {
      ++decoded;
      m->to = NodeId{"node-2"};
      node.Step(*m);
      node.CheckInvariants();
      while (node.HasReady())
        node.Advance(node.GetReady());
    }
  }
  EXPECT_GT(decoded, 100) << "the mutations must reach the node";
}

}  // namespace
}  // namespace ringwatch::raft
