// In-process tests of the UDP half of the peer port: transports on loopback
// in one io_context; waiting is event-driven (run the loop until a condition
// holds or a deadline passes), never a sleep.

#include "agent/peer/heartbeat_transport.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include "tests/support/run_loop.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
using udp = net::ip::udp;

class HeartbeatTransportTest : public ::testing::Test {
 protected:
  // A transport for member `id` (incarnation 3) with a one-key keyring.
  std::unique_ptr<HeartbeatTransport> Make(const std::string& cluster, const std::string& key,
                                           exporters::PeerMetrics& metrics,
                                           const std::string& id = "a") {
    auto& c = *credentials_.emplace_back(std::make_unique<PeerCredentials>());
    c.sender = FrameSender{id, 3, core::SigningKey::Generate()};
    if (!key.empty()) c.keyring = {key};
    auto t = std::make_unique<HeartbeatTransport>(ioc_, HeartbeatTransport::Options{cluster, &c},
                                                  metrics);
    EXPECT_FALSE(t->Start({net::ip::make_address("127.0.0.1"), 0}));
    return t;
  }

  // The public key of the transport made for member `id`.
  std::string Key(const std::string& id) const {
    for (const auto& c : credentials_)
      if (c->sender.id == id) return c->sender.key.public_key;
    return "";
  }

  std::vector<std::unique_ptr<PeerCredentials>> credentials_;
  net::io_context ioc_;
  prometheus::Registry registry_a_, registry_b_;
  exporters::PeerMetrics metrics_a_{registry_a_}, metrics_b_{registry_b_};
};

TEST_F(HeartbeatTransportTest, DeliversHeartbeatsAndAcksToEveryTarget) {
  auto a = Make("c", "k", metrics_a_);
  auto b = Make("c", "k", metrics_b_, "b");
  std::vector<Heartbeat> at_b;
  std::vector<PeerOrigin> origins;
  udp::endpoint from;
  b->OnHeartbeat([&](const PeerOrigin& o, const Heartbeat& h, const udp::endpoint& f) {
    at_b.push_back(h);
    origins.push_back(o);
    from = f;
  });
  std::vector<HeartbeatAck> at_a;
  a->OnAck([&](const HeartbeatAck& ack) { at_a.push_back(ack); });
  Heartbeat h;
  h.sender = "a";
  h.incarnation = 3;
  h.sequence = 8;
  h.send_time_ns = 12345;
  h.rtt_us = {{"b", 250}};
  auto c = Make("c", "k", metrics_b_, "c");
  c->OnHeartbeat(
      [&](const PeerOrigin&, const Heartbeat& h, const udp::endpoint&) { at_b.push_back(h); });
  // To b with its key known (a pair MAC), to c without (a signature).
  a->SendHeartbeat(h, {{b->local_endpoint(), Key("b")}, {c->local_endpoint(), ""}});
  ASSERT_TRUE(testing::RunUntil(ioc_, [&] { return at_b.size() == 2; }));
  EXPECT_EQ(at_b[0].sender, "a");
  EXPECT_EQ(origins[0].id, "a");
  EXPECT_EQ(origins[0].incarnation, 3u);
  EXPECT_EQ(origins[0].public_key, credentials_[0]->sender.key.public_key);
  EXPECT_EQ(at_b[0].rtt_us, h.rtt_us);
  EXPECT_EQ(from, a->local_endpoint());
  // One datagram, sealed once, to every target: each receiver takes it once.
  EXPECT_EQ(metrics_a_.sent().Value(), 2);
  EXPECT_EQ(metrics_b_.received().Value(), 2);
  b->SendAck({"b", 8, 12345}, from, Key("a"));
  ASSERT_TRUE(testing::RunUntil(ioc_, [&] { return !at_a.empty(); }));
  EXPECT_EQ(at_a[0].sender, "b");
  EXPECT_EQ(at_a[0].echoed_send_time_ns, 12345);
}

// Another key, another cluster, garbage: dropped, counted by reason, never
// handed on.
TEST_F(HeartbeatTransportTest, ForeignFramesAreDroppedAndCounted) {
  auto b = Make("c", "k", metrics_b_, "b");
  int delivered = 0;
  b->OnHeartbeat([&](const PeerOrigin&, const Heartbeat&, const udp::endpoint&) { ++delivered; });
  auto other_key = Make("c", "other", metrics_a_, "x");
  auto other_cluster = Make("d", "k", metrics_a_, "x");
  Heartbeat h;
  h.sender = "x";
  h.incarnation = 3;
  other_key->SendHeartbeat(h, {{b->local_endpoint(), Key("b")}});
  other_cluster->SendHeartbeat(h, {{b->local_endpoint(), Key("b")}});
  udp::socket raw(ioc_, udp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  raw.send_to(net::buffer(std::string("garbage")), b->local_endpoint());
  ASSERT_TRUE(testing::RunUntil(ioc_, [&] {
    return metrics_b_.dropped("bad_hmac").Value() == 1 &&
           metrics_b_.dropped("wrong_cluster").Value() == 1 &&
           metrics_b_.dropped("malformed").Value() == 1;
  }));
  EXPECT_EQ(delivered, 0);
  EXPECT_EQ(metrics_b_.received().Value(), 0);
}

// A heartbeat that claims another sender than its frame's: bad_identity.
// The same datagram twice (captured and sent again): the second is a replay.
// A heartbeat is handed on with its frame's authenticated sender, whatever
// it claims (the core refuses a sender that is not it: OnHeartbeat); a
// datagram delivered twice is a replay the second time.
TEST_F(HeartbeatTransportTest, OriginsAreTheFramesSendersAndReplaysAreDropped) {
  auto b = Make("c", "k", metrics_b_, "b");
  int delivered = 0;
  std::string origin;
  b->OnHeartbeat([&](const PeerOrigin& o, const Heartbeat&, const udp::endpoint&) {
    ++delivered;
    origin = o.id;
  });
  auto mallory = Make("c", "k", metrics_a_, "mallory");
  Heartbeat h;
  h.sender = "a";  // not mallory
  h.incarnation = 3;
  mallory->SendHeartbeat(h, {{b->local_endpoint(), Key("b")}});
  ASSERT_TRUE(testing::RunUntil(ioc_, [&] { return delivered == 1; }));
  EXPECT_EQ(origin, "mallory");
  // Capture one of a's datagrams on the way and deliver it twice.
  auto a = Make("c", "k", metrics_a_, "a");
  udp::socket tap(ioc_, udp::endpoint(net::ip::make_address("127.0.0.1"), 0));
  h.sender = "a";
  a->SendHeartbeat(h, {{tap.local_endpoint(), Key("b")}});
  std::string captured(2048, '\0');
  udp::endpoint ignored;
  captured.resize(tap.receive_from(net::buffer(captured), ignored));
  tap.send_to(net::buffer(captured), b->local_endpoint());
  tap.send_to(net::buffer(captured), b->local_endpoint());
  ASSERT_TRUE(testing::RunUntil(ioc_, [&] { return metrics_b_.dropped("replay").Value() == 1; }));
  EXPECT_EQ(delivered, 2);
  EXPECT_EQ(origin, "a");
  // MACed for b, it means nothing to another receiver: bad_identity there.
  prometheus::Registry registry_c;
  exporters::PeerMetrics metrics_c{registry_c};
  auto c = Make("c", "k", metrics_c, "c");
  tap.send_to(net::buffer(captured), c->local_endpoint());
  ASSERT_TRUE(
      testing::RunUntil(ioc_, [&] { return metrics_c.dropped("bad_identity").Value() == 1; }));
}

}  // namespace
}  // namespace ringwatch::agent
