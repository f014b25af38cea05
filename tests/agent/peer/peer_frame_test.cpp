#include "agent/peer/peer_frame.h"

#include <gtest/gtest.h>

#include "agent/peer/replay_guard.h"

namespace ringwatch::agent {
namespace {

constexpr std::size_t kMax = kMaxDatagram;
using Keys = std::vector<std::string>;

const FrameSender& Sender() {
  static const FrameSender s{"node-a", 7, core::SigningKey::Generate()};
  return s;
}

std::string Enc(FrameType type, std::string_view cluster, std::string_view payload,
                std::string_view key, uint64_t sequence = 1, int64_t sent_ms = 1000) {
  return EncodeFrame(type, cluster, Sender(), sequence, sent_ms, payload, key);
}

Keys KeysOf(std::string_view key) {
  return key.empty() ? Keys{} : Keys{std::string(key)};
}

TEST(PeerFrame, RoundTripsWithoutAndWithAKeyAndNamesItsSender) {
  for (const std::string key : {"", "s3cret"}) {
    const std::string bytes = Enc(FrameType::kHeartbeatAck, "prod", "payload", key, 42, 1234);
    auto f = DecodeFrame(bytes, "prod", KeysOf(key), kMax);
    ASSERT_TRUE(f.ok()) << key;
    EXPECT_EQ(f.value().type, FrameType::kHeartbeatAck);
    EXPECT_EQ(f.value().payload, "payload");
    EXPECT_EQ(f.value().origin.sender, "node-a");
    EXPECT_EQ(f.value().origin.incarnation, 7u);
    EXPECT_EQ(f.value().origin.sequence, 42u);
    EXPECT_EQ(f.value().origin.sent_ms, 1234);
    EXPECT_EQ(f.value().origin.public_key, Sender().key.public_key);
    EXPECT_EQ(bytes.size(), FrameOverhead(FrameType::kHeartbeatAck, 4, 6, !key.empty()) + 7);
  }
}

// A frame for a receiver whose key the sender knows carries a pair MAC: the
// receiver checks it with the pair key; any other receiver cannot.
TEST(PeerFrame, PairMacsBindSenderAndReceiver) {
  const core::SigningKey bob = core::SigningKey::Generate(), eve = core::SigningKey::Generate();
  PairKeys mine, bobs, eves;
  const std::string* key = mine.For(Sender().key, bob.public_key);
  ASSERT_NE(key, nullptr);
  const std::string bytes =
      EncodeFrame(FrameType::kHeartbeat, "prod", Sender(), 3, 1000, "p", "k", key);
  EXPECT_EQ(bytes.size(), FrameOverhead(FrameType::kHeartbeat, 4, 6, true, true) + 1);
  auto f = DecodeFrame(bytes, "prod", Keys{"k"}, kMax, &bob, &bobs);
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f.value().origin.public_key, Sender().key.public_key);
  auto at_eve = DecodeFrame(bytes, "prod", Keys{"k"}, kMax, &eve, &eves);
  ASSERT_FALSE(at_eve.ok());
  EXPECT_EQ(at_eve.error(), DropReason::kBadIdentity);
  auto no_keys = DecodeFrame(bytes, "prod", Keys{"k"}, kMax);
  ASSERT_FALSE(no_keys.ok());
  EXPECT_EQ(no_keys.error(), DropReason::kBadIdentity);
  // Another public key in the frame (claiming another sender's key): the MAC fails.
  std::string swapped = EncodeFrame(FrameType::kHeartbeat, "prod", FrameSender{"node-a", 7, eve}, 3,
                                    1000, "p", "", key);
  auto s2 = DecodeFrame(swapped, "prod", {}, kMax, &bob, &bobs);
  ASSERT_FALSE(s2.ok());
  EXPECT_EQ(s2.error(), DropReason::kBadIdentity);
}

// Serf's rotation: the first key tags, every key of the receiver's keyring verifies.
TEST(PeerFrame, AnyKeyOfTheKeyringVerifies) {
  const std::string bytes = Enc(FrameType::kHeartbeat, "prod", "p", "old");
  EXPECT_TRUE(DecodeFrame(bytes, "prod", Keys{"new", "old"}, kMax).ok());
  EXPECT_TRUE(DecodeFrame(bytes, "prod", Keys{"old", "new"}, kMax).ok());
  auto f = DecodeFrame(bytes, "prod", Keys{"new"}, kMax);
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error(), DropReason::kBadHmac);
}

DropReason Reason(std::string_view bytes, std::string_view cluster = "prod",
                  std::string_view key = "k") {
  auto f = DecodeFrame(bytes, cluster, KeysOf(key), kMax);
  EXPECT_FALSE(f.ok());
  return f.ok() ? DropReason::kMalformed : f.error();
}

TEST(PeerFrame, WrongKeyOrTamperedBytesAreRefused) {
  const std::string bytes = Enc(FrameType::kHeartbeat, "prod", "payload", "k");
  EXPECT_EQ(Reason(bytes, "prod", "other"), DropReason::kBadHmac);
  for (std::size_t i = 5; i < bytes.size(); ++i) {  // every byte after the header
    std::string tampered = bytes;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    ASSERT_FALSE(DecodeFrame(tampered, "prod", Keys{"k"}, kMax).ok()) << i;
  }
  std::string tampered = bytes;
  tampered[tampered.size() - 100] ^= 0x40;  // inside the payload's signature
  EXPECT_EQ(Reason(tampered), DropReason::kBadHmac);
}

// Without the keyring's tag to stop it, the member's signature still does:
// bytes changed under an unchanged signature are refused, as `bad_identity`.
TEST(PeerFrame, TamperedBytesOfAnUntaggedFrameAreBadIdentity) {
  const std::string bytes = Enc(FrameType::kHeartbeat, "prod", "payload", "");
  std::string tampered = bytes;
  tampered[tampered.size() - 64 - 3] ^= 0x01;  // a payload byte
  EXPECT_EQ(Reason(tampered, "prod", ""), DropReason::kBadIdentity);
  std::string signature = bytes;
  signature[signature.size() - 1] ^= 0x01;
  EXPECT_EQ(Reason(signature, "prod", ""), DropReason::kBadIdentity);
}

TEST(PeerFrame, KeyMismatchBetweenPeersIsBadHmac) {
  EXPECT_EQ(Reason(Enc(FrameType::kHeartbeat, "prod", "p", ""), "prod", "k"), DropReason::kBadHmac);
  EXPECT_EQ(Reason(Enc(FrameType::kHeartbeat, "prod", "p", "k"), "prod", ""), DropReason::kBadHmac);
}

TEST(PeerFrame, OtherClusterIsWrongCluster) {
  EXPECT_EQ(Reason(Enc(FrameType::kHeartbeat, "staging", "p", "k")), DropReason::kWrongCluster);
}

TEST(PeerFrame, OtherVersionIsBadVersion) {
  std::string bytes = Enc(FrameType::kHeartbeat, "prod", "p", "");
  bytes[2] = 1;  // protocol 1 (before sender, sequence and signatures)
  EXPECT_EQ(Reason(bytes, "prod", ""), DropReason::kBadVersion);
}

TEST(PeerFrame, TooLargeIsOversize) {
  EXPECT_EQ(Reason(std::string(kMax + 1, 'x')), DropReason::kOversize);
}

TEST(PeerFrame, GarbageIsMalformed) {
  EXPECT_EQ(Reason(""), DropReason::kMalformed);
  EXPECT_EQ(Reason("RW"), DropReason::kMalformed);
  EXPECT_EQ(Reason("XX\x01\x01\x00"), DropReason::kMalformed);
  std::string bytes = Enc(FrameType::kHeartbeat, "prod", "payload", "");
  EXPECT_EQ(Reason(bytes.substr(0, bytes.size() - 1), "prod", ""),
            DropReason::kMalformed);                                   // truncated
  EXPECT_EQ(Reason(bytes + "x", "prod", ""), DropReason::kMalformed);  // trailing byte
  std::string flags = bytes;
  flags[4] = 0x02;  // unknown flag
  EXPECT_EQ(Reason(flags, "prod", ""), DropReason::kMalformed);
  std::string type = bytes;
  type[3] = 99;  // unknown frame type
  EXPECT_EQ(Reason(type, "prod", ""), DropReason::kMalformed);
  // A sender that is not a member id.
  FrameSender bad = Sender();
  bad.id = "not an id!";
  EXPECT_EQ(Reason(EncodeFrame(FrameType::kHeartbeat, "prod", bad, 1, 1, "p", ""), "prod", ""),
            DropReason::kMalformed);
}

TEST(PeerFrame, EveryTruncationIsRejected) {
  const std::string bytes = Enc(FrameType::kHeartbeat, "prod", "payload", "k");
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeFrame(bytes.substr(0, n), "prod", Keys{"k"}, kMax).ok()) << n;
  }
}

// Raft frames travel on TCP and may exceed a datagram: their payload length
// is 32 bits, and they get the same checks.
TEST(PeerFrame, RaftFramesCarryLargePayloadsWithTheSameChecks) {
  std::string big(200000, 'r');
  for (const std::string key : {"", "k3y"}) {
    std::string frame = Enc(FrameType::kRaft, "prod", big, key);
    auto decoded = DecodeFrame(frame, "prod", KeysOf(key), kMaxStreamFrame);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded.value().type, FrameType::kRaft);
    EXPECT_EQ(decoded.value().payload, big);
    auto other = DecodeFrame(frame, "staging", KeysOf(key), kMaxStreamFrame);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error(), DropReason::kWrongCluster);
    std::string tampered = frame;
    tampered[tampered.size() / 2] ^= 1;
    auto t = DecodeFrame(tampered, "prod", KeysOf(key), kMaxStreamFrame);
    ASSERT_FALSE(t.ok());
    EXPECT_EQ(t.error(), key.empty() ? DropReason::kBadIdentity : DropReason::kBadHmac);
    for (std::size_t cut = 0; cut < 40; ++cut)
      EXPECT_FALSE(DecodeFrame(frame.substr(0, cut), "prod", KeysOf(key), kMaxStreamFrame).ok())
          << cut;
  }
  EXPECT_EQ(DecodeFrame(Enc(FrameType::kRaft, "prod", big, ""), "prod", {}, 1000).error(),
            DropReason::kOversize);
}

FrameOrigin Origin(uint64_t incarnation, uint64_t sequence, int64_t sent_ms = 100'000,
                   std::string_view key = "key-1") {
  return FrameOrigin{"node-a", incarnation, sequence, sent_ms, key};
}

TEST(ReplayGuard, AFrameIsAcceptedOnce) {
  ReplayGuard g;
  EXPECT_TRUE(g.Accept(Origin(1, 5), 100'000));
  EXPECT_FALSE(g.Accept(Origin(1, 5), 100'000));
  EXPECT_TRUE(g.Accept(Origin(1, 6), 100'000));
  EXPECT_FALSE(g.Accept(Origin(1, 6), 100'000));
}

TEST(ReplayGuard, ReorderedFramesWithinTheWindowAreAcceptedOnce) {
  ReplayGuard g;
  EXPECT_TRUE(g.Accept(Origin(1, 10), 100'000));
  EXPECT_TRUE(g.Accept(Origin(1, 8), 100'000));  // late, not seen
  EXPECT_FALSE(g.Accept(Origin(1, 8), 100'000));
  EXPECT_TRUE(g.Accept(Origin(1, 10 + ReplayGuard::kWindow), 100'000));
  EXPECT_FALSE(g.Accept(Origin(1, 10), 100'000));  // slid out of the window: too old
  EXPECT_TRUE(g.Accept(Origin(1, 11), 100'000));   // still inside, never seen
}

TEST(ReplayGuard, AnEarlierIncarnationIsAReplay) {
  ReplayGuard g;
  EXPECT_TRUE(g.Accept(Origin(1, 100), 100'000));
  EXPECT_TRUE(g.Accept(Origin(2, 1), 100'000));  // restarted: numbering starts again
  EXPECT_FALSE(g.Accept(Origin(1, 101), 100'000));
  EXPECT_TRUE(g.Accept(Origin(2, 2), 100'000));
}

TEST(ReplayGuard, FramesOutsideTheAgeBoundAreReplays) {
  ReplayGuard g;
  EXPECT_FALSE(g.Accept(Origin(1, 1, 100'000 - ReplayGuard::kMaxAgeMs - 1), 100'000));
  EXPECT_FALSE(g.Accept(Origin(1, 1, 100'000 + ReplayGuard::kMaxAgeMs + 1), 100'000));
  EXPECT_TRUE(g.Accept(Origin(1, 1, 100'000 - ReplayGuard::kMaxAgeMs), 100'000));
}

// A made-up key for a member's id gets a window of its own: its frames
// cannot push the member's window forward (and its real frames out).
TEST(ReplayGuard, AnotherKeyForTheSameIdDoesNotMoveTheMembersWindow) {
  ReplayGuard g;
  EXPECT_TRUE(g.Accept(Origin(1, 5), 100'000));
  EXPECT_TRUE(g.Accept(Origin(9, 1'000'000, 100'000, "mallory"), 100'000));
  EXPECT_TRUE(g.Accept(Origin(1, 6), 100'000));
}

TEST(ReplayGuard, KeepsABoundedNumberOfSenders) {
  ReplayGuard g;
  for (std::size_t i = 0; i < ReplayGuard::kMaxSenders + 100; ++i) {
    const std::string key = "k" + std::to_string(i);
    EXPECT_TRUE(g.Accept(FrameOrigin{"node-a", 1, 1, 100'000, key}, 100'000));
  }
  EXPECT_EQ(g.senders(), ReplayGuard::kMaxSenders);
}

}  // namespace
}  // namespace ringwatch::agent
