#include "agent/peer/peer_frame.h"

#include <gtest/gtest.h>

namespace ringwatch::agent {
namespace {

constexpr std::size_t kMax = kMaxDatagram;

TEST(PeerFrame, RoundTripsWithoutAndWithAKey) {
  for (const std::string key : {"", "s3cret"}) {
    const std::string bytes = EncodeFrame(FrameType::kHeartbeatAck, "prod", "payload", key);
    auto f = DecodeFrame(bytes, "prod", key, kMax);
    ASSERT_TRUE(f.ok()) << key;
    EXPECT_EQ(f.value().type, FrameType::kHeartbeatAck);
    EXPECT_EQ(f.value().payload, "payload");
  }
}

TEST(PeerFrame, AuthenticatedFramesCarryA32ByteTag) {
  EXPECT_EQ(EncodeFrame(FrameType::kHeartbeat, "c", "p", "k").size(),
            EncodeFrame(FrameType::kHeartbeat, "c", "p", "").size() + 32);
}

DropReason Reason(std::string_view bytes, std::string_view cluster = "prod",
                  std::string_view key = "k") {
  auto f = DecodeFrame(bytes, cluster, key, kMax);
  EXPECT_FALSE(f.ok());
  return f.ok() ? DropReason::kMalformed : f.error();
}

TEST(PeerFrame, WrongKeyOrTamperedBytesAreBadHmac) {
  const std::string bytes = EncodeFrame(FrameType::kHeartbeat, "prod", "payload", "k");
  EXPECT_EQ(Reason(bytes, "prod", "other"), DropReason::kBadHmac);
  for (std::size_t i = 5; i < bytes.size(); ++i) {  // every byte after the header
    std::string tampered = bytes;
    tampered[i] = static_cast<char>(tampered[i] ^ 0x01);
    auto f = DecodeFrame(tampered, "prod", "k", kMax);
    ASSERT_FALSE(f.ok()) << i;
  }
  std::string tampered = bytes;
  tampered[tampered.size() - 10] ^= 0x40;  // inside the payload
  EXPECT_EQ(Reason(tampered), DropReason::kBadHmac);
}

TEST(PeerFrame, KeyMismatchBetweenPeersIsBadHmac) {
  EXPECT_EQ(Reason(EncodeFrame(FrameType::kHeartbeat, "prod", "p", ""), "prod", "k"),
            DropReason::kBadHmac);
  EXPECT_EQ(Reason(EncodeFrame(FrameType::kHeartbeat, "prod", "p", "k"), "prod", ""),
            DropReason::kBadHmac);
}

TEST(PeerFrame, OtherClusterIsWrongCluster) {
  EXPECT_EQ(Reason(EncodeFrame(FrameType::kHeartbeat, "staging", "p", "k")),
            DropReason::kWrongCluster);
}

TEST(PeerFrame, OtherVersionIsBadVersion) {
  std::string bytes = EncodeFrame(FrameType::kHeartbeat, "prod", "p", "");
  bytes[2] = 2;
  EXPECT_EQ(Reason(bytes, "prod", ""), DropReason::kBadVersion);
}

TEST(PeerFrame, TooLargeIsOversize) {
  EXPECT_EQ(Reason(std::string(kMax + 1, 'x')), DropReason::kOversize);
}

TEST(PeerFrame, GarbageIsMalformed) {
  EXPECT_EQ(Reason(""), DropReason::kMalformed);
  EXPECT_EQ(Reason("RW"), DropReason::kMalformed);
  EXPECT_EQ(Reason("XX\x01\x01\x00"), DropReason::kMalformed);
  std::string bytes = EncodeFrame(FrameType::kHeartbeat, "prod", "payload", "");
  EXPECT_EQ(Reason(bytes.substr(0, bytes.size() - 1), "prod", ""),
            DropReason::kMalformed);                                   // truncated
  EXPECT_EQ(Reason(bytes + "x", "prod", ""), DropReason::kMalformed);  // trailing byte
  std::string flags = bytes;
  flags[4] = 0x02;  // unknown flag
  EXPECT_EQ(Reason(flags, "prod", ""), DropReason::kMalformed);
  std::string type = bytes;
  type[3] = 99;  // unknown frame type
  EXPECT_EQ(Reason(type, "prod", ""), DropReason::kMalformed);
}

TEST(PeerFrame, EveryTruncationIsRejected) {
  const std::string bytes = EncodeFrame(FrameType::kHeartbeat, "prod", "payload", "k");
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeFrame(bytes.substr(0, n), "prod", "k", kMax).ok()) << n;
  }
}

}  // namespace
}  // namespace ringwatch::agent

namespace ringwatch::agent {
namespace {

// Raft frames travel on TCP and may exceed a datagram: their payload length
// is 32 bits, and they get the same cluster and HMAC checks.
TEST(PeerFrame, RaftFramesCarryLargePayloadsWithTheSameChecks) {
  std::string big(200000, 'r');
  for (const std::string key : {"", "k3y"}) {
    std::string frame = EncodeFrame(FrameType::kRaft, "prod", big, key);
    auto decoded = DecodeFrame(frame, "prod", key, kMaxStreamFrame);
    ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded.value().type, FrameType::kRaft);
    EXPECT_EQ(decoded.value().payload, big);
    auto other = DecodeFrame(frame, "staging", key, kMaxStreamFrame);
    ASSERT_FALSE(other.ok());
    EXPECT_EQ(other.error(), DropReason::kWrongCluster);
    std::string tampered = frame;
    tampered[tampered.size() / 2] ^= 1;
    auto t = DecodeFrame(tampered, "prod", key, kMaxStreamFrame);
    if (!key.empty()) {
      ASSERT_FALSE(t.ok());
      EXPECT_EQ(t.error(), DropReason::kBadHmac);
    }
    for (std::size_t cut = 0; cut < 40; ++cut)
      EXPECT_FALSE(DecodeFrame(frame.substr(0, cut), "prod", key, kMaxStreamFrame).ok()) << cut;
  }
  EXPECT_EQ(DecodeFrame(EncodeFrame(FrameType::kRaft, "prod", big, ""), "prod", "", 1000).error(),
            DropReason::kOversize);
}

}  // namespace
}  // namespace ringwatch::agent
