#include "agent/core/heartbeat_codec.h"

#include <gtest/gtest.h>

#include <limits>

namespace ringwatch::agent {
namespace {

TEST(HeartbeatCodec, HeartbeatRoundTripsWithAndWithoutHealth) {
  Heartbeat h;
  h.sender = "node-2";
  h.incarnation = 1795693913465;
  h.sequence = 42;
  h.send_time_ns = -7;
  auto d = DecodeHeartbeat(EncodeHeartbeat(h));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sender, "node-2");
  EXPECT_EQ(d->incarnation, h.incarnation);
  EXPECT_EQ(d->sequence, 42u);
  EXPECT_EQ(d->send_time_ns, -7);
  EXPECT_FALSE(d->health);
  h.health = HealthSummary{0.5f, 0.25f, 0.9f, 0.01f};
  d = DecodeHeartbeat(EncodeHeartbeat(h));
  ASSERT_TRUE(d && d->health);
  EXPECT_EQ(d->health->load1_per_core, 0.5f);
  EXPECT_EQ(d->health->memory_available_ratio, 0.25f);
  EXPECT_EQ(d->health->fullest_filesystem_ratio, 0.9f);
  EXPECT_EQ(d->health->agent_cpu_ratio, 0.01f);
  EXPECT_TRUE(d->rtt_us.empty());
  h.rtt_us = {{"node-1", 150}, {"node-7", 4'000'000}};
  d = DecodeHeartbeat(EncodeHeartbeat(h));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->rtt_us, h.rtt_us);
}

TEST(HeartbeatCodec, AckRoundTrips) {
  auto d = DecodeAck(EncodeAck({"node-3", 9, 123456789}));
  ASSERT_TRUE(d);
  EXPECT_EQ(d->sender, "node-3");
  EXPECT_EQ(d->sequence, 9u);
  EXPECT_EQ(d->echoed_send_time_ns, 123456789);
}

TEST(HeartbeatCodec, LaterVersionsMayAppendFields) {
  Heartbeat h;
  h.sender = "a";
  EXPECT_TRUE(DecodeHeartbeat(EncodeHeartbeat(h) + "future fields"));
}

TEST(HeartbeatCodec, RejectsTruncationsBadIdsAndNonFiniteHealth) {
  Heartbeat h;
  h.sender = "node-2";
  h.rtt_us = {{"node-1", 150}};
  const std::string full = EncodeHeartbeat(h);
  // Without the round-trip block (the last 1 + 7 + 4 bytes) it is an earlier
  // version's heartbeat; any other truncation is malformed.
  const std::size_t without_rtts = full.size() - (1 + 7 + 4);
  for (std::size_t n = 0; n < full.size(); ++n) {
    if (n == without_rtts) {
      EXPECT_TRUE(DecodeHeartbeat(full.substr(0, n)));
    } else {
      EXPECT_FALSE(DecodeHeartbeat(full.substr(0, n))) << n;
    }
  }
  std::string too_many = full;
  too_many[without_rtts] = static_cast<char>(kMaxHeartbeatRtts + 1);
  EXPECT_FALSE(DecodeHeartbeat(too_many));
  h.rtt_us = {{"bad id", 1}};
  EXPECT_FALSE(DecodeHeartbeat(EncodeHeartbeat(h)));
  h.rtt_us.clear();
  h.sender = "bad id";
  EXPECT_FALSE(DecodeHeartbeat(EncodeHeartbeat(h)));
  h.sender = "";
  EXPECT_FALSE(DecodeHeartbeat(EncodeHeartbeat(h)));
  h.sender = "ok";
  h.health = HealthSummary{std::numeric_limits<float>::quiet_NaN(), 0, 0, 0};
  EXPECT_FALSE(DecodeHeartbeat(EncodeHeartbeat(h)));
  std::string flag = EncodeHeartbeat(Heartbeat{"ok", 0, 0, 0, std::nullopt, {}});
  flag[1 + 2 + 24] = 2;  // health-present byte must be 0 or 1
  EXPECT_FALSE(DecodeHeartbeat(flag));
  EXPECT_FALSE(DecodeAck("\x02ok"));
}

}  // namespace
}  // namespace ringwatch::agent
