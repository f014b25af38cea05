#include "agent/heartbeat_codec.h"

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
  const std::string full = EncodeHeartbeat(h);
  for (std::size_t n = 0; n < full.size(); ++n)
    EXPECT_FALSE(DecodeHeartbeat(full.substr(0, n))) << n;
  h.sender = "bad id";
  EXPECT_FALSE(DecodeHeartbeat(EncodeHeartbeat(h)));
  h.sender = "";
  EXPECT_FALSE(DecodeHeartbeat(EncodeHeartbeat(h)));
  h.sender = "ok";
  h.health = HealthSummary{std::numeric_limits<float>::quiet_NaN(), 0, 0, 0};
  EXPECT_FALSE(DecodeHeartbeat(EncodeHeartbeat(h)));
  std::string flag = EncodeHeartbeat(Heartbeat{"ok", 0, 0, 0, std::nullopt});
  flag[1 + 2 + 24] = 2;  // health-present byte must be 0 or 1
  EXPECT_FALSE(DecodeHeartbeat(flag));
  EXPECT_FALSE(DecodeAck("\x02ok"));
}

}  // namespace
}  // namespace ringwatch::agent
