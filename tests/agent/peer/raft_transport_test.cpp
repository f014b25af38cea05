// In-process tests of the Raft TCP transport: transports on loopback in one
// io_context; waiting is event-driven (run the loop until a condition holds
// or a deadline passes), never a sleep.

#include "agent/peer/raft_transport.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

#include <boost/asio/write.hpp>

#include "core/byte_codec.h"

#include "tests/support/run_loop.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;

raft::Message Msg(const std::string& from, const std::string& to, uint64_t term,
                  std::string data = "") {
  raft::Message m;
  m.type = raft::MessageType::kAppend;
  m.from = raft::NodeId{from};
  m.to = raft::NodeId{to};
  m.term = raft::Term{term};
  if (!data.empty())
    m.entries.push_back(
        raft::Entry{raft::Term{term}, raft::LogIndex{1}, raft::EntryType::kNormal, data});
  return m;
}

class RaftTransportTest : public ::testing::Test {
 protected:
  // A transport for member `id` with a one-key keyring (none: `key` empty).
  std::unique_ptr<RaftTransport> Make(const std::string& cluster, const std::string& key,
                                      exporters::PeerMetrics& metrics,
                                      const std::string& id = "a") {
    RaftTransport::Options o;
    o.cluster = cluster;
    o.credentials = Credentials(id, key);
    o.backoff_min = 20ms;
    o.backoff_max = 100ms;
    auto t = std::make_unique<RaftTransport>(ioc_, o, metrics);
    EXPECT_FALSE(t->Start({net::ip::make_address("127.0.0.1"), 0}));
    return t;
  }

  PeerCredentials* Credentials(const std::string& id, const std::string& key) {
    auto& c = *credentials_.emplace_back(std::make_unique<PeerCredentials>());
    c.sender = FrameSender{id, 1, core::SigningKey::Generate()};
    if (!key.empty()) c.keyring = {key};
    return &c;
  }

  template <typename Done>
  bool RunUntil(Done done) {
    return testing::RunUntil(ioc_, done);
  }

  std::vector<std::unique_ptr<PeerCredentials>> credentials_;
  net::io_context ioc_;
  prometheus::Registry registry_a_, registry_b_;
  exporters::PeerMetrics metrics_a_{registry_a_}, metrics_b_{registry_b_};
};

TEST_F(RaftTransportTest, DeliversMessagesInOrderIncludingLargeOnes) {
  auto a = Make("c", "k", metrics_a_, "a");
  auto b = Make("c", "k", metrics_b_, "b");
  a->SetAddress("b", b->local_endpoint());
  b->SetAddress("a", a->local_endpoint());
  // a knows b's key (pair MACs); b does not know a's (signatures).
  a->SetIdentity("b", credentials_[1]->sender.key.public_key);
  std::vector<raft::Message> at_b, at_a;
  std::vector<std::string> senders;
  b->OnMessage([&](const PeerOrigin& o, raft::Message m) {
    senders.push_back(o.id);
    at_b.push_back(std::move(m));
  });
  a->OnMessage([&](const PeerOrigin&, raft::Message m) { at_a.push_back(std::move(m)); });
  for (uint64_t t = 1; t <= 100; ++t)
    a->Send(Msg("a", "b", t));
  a->Send(Msg("a", "b", 101, std::string(5u << 20, 's')));  // a 5 MiB snapshot-sized message
  b->Send(Msg("b", "a", 7));
  ASSERT_TRUE(RunUntil([&] { return at_b.size() == 101 && at_a.size() == 1; }));
  for (uint64_t t = 1; t <= 100; ++t)
    EXPECT_EQ(at_b[t - 1].term, raft::Term{t});
  EXPECT_EQ(at_b[100].entries.at(0).data.size(), 5u << 20);
  EXPECT_EQ(at_a[0], Msg("b", "a", 7));
  EXPECT_EQ(a->counters().connects, 1u) << "one connection carries them all";
  EXPECT_EQ(senders.front(), "a");
}

// The origin handed on is the frame's authenticated sender, whatever the
// message claims (the core refuses a `from` that is not it: StepRaft).
TEST_F(RaftTransportTest, TheOriginIsTheFramesSenderNotTheMessagesClaim) {
  auto mallory = Make("c", "k", metrics_a_, "mallory");
  auto b = Make("c", "k", metrics_b_, "b");
  mallory->SetAddress("b", b->local_endpoint());
  std::vector<std::pair<std::string, std::string>> delivered;  // origin, from
  b->OnMessage(
      [&](const PeerOrigin& o, raft::Message m) { delivered.emplace_back(o.id, m.from.value); });
  mallory->Send(Msg("a", "b", 99));
  ASSERT_TRUE(RunUntil([&] { return !delivered.empty(); }));
  EXPECT_EQ(delivered[0], std::make_pair(std::string("mallory"), std::string("a")));
}

TEST_F(RaftTransportTest, OtherClusterOrKeyIsDroppedAndCounted) {
  auto a = Make("c", "k", metrics_a_);
  auto b = Make("c", "other-key", metrics_b_);
  auto z = Make("zz", "k", metrics_b_);
  a->SetAddress("b", b->local_endpoint());
  a->SetAddress("z", z->local_endpoint());
  int delivered = 0;
  b->OnMessage([&](const PeerOrigin&, raft::Message) { ++delivered; });
  z->OnMessage([&](const PeerOrigin&, raft::Message) { ++delivered; });
  a->Send(Msg("a", "b", 1));
  a->Send(Msg("a", "z", 1));
  auto& bad_hmac = metrics_b_.dropped(ToString(DropReason::kBadHmac));
  auto& wrong = metrics_b_.dropped(ToString(DropReason::kWrongCluster));
  ASSERT_TRUE(RunUntil([&] { return bad_hmac.Value() >= 1 && wrong.Value() >= 1; }));
  EXPECT_EQ(delivered, 0);
}

// A peer that is down is reported unreachable and its messages dropped; once
// it listens again the transport reconnects after its backoff.
TEST_F(RaftTransportTest, ReportsUnreachableAndReconnects) {
  auto a = Make("c", "", metrics_a_);
  tcp::endpoint where;
  {
    auto b = Make("c", "", metrics_b_);
    where = b->local_endpoint();
  }  // b is gone; its port is free
  a->SetAddress("b", where);
  std::vector<std::string> unreachable;
  a->OnUnreachable([&](const std::string& p, const std::string&) { unreachable.push_back(p); });
  a->Send(Msg("a", "b", 1));
  ASSERT_TRUE(RunUntil([&] { return !unreachable.empty(); }));
  EXPECT_EQ(unreachable[0], "b");
  EXPECT_GE(a->counters().connect_failures, 1u);

  RaftTransport::Options o;
  o.cluster = "c";
  o.credentials = Credentials("b", "");
  RaftTransport b(ioc_, o, metrics_b_);
  ASSERT_FALSE(b.Start(where));
  int got = 0;
  b.OnMessage([&](const PeerOrigin&, raft::Message) { ++got; });
  // Keep sending, as a Raft leader would with heartbeats, until one lands.
  ASSERT_TRUE(RunUntil([&] {
    a->Send(Msg("a", "b", 2));
    return got > 0;
  }));
  EXPECT_GE(a->counters().connects, 1u);
}

// A held connection (the fast path) is opened at once, with no message to
// send; its keepalive is neither delivered nor dropped; when the other end
// stops, the close is reported — a crash as such, a graceful stop (a
// goodbye first) as by plan — and the connection is opened again once the
// peer is back.
TEST_F(RaftTransportTest, AHeldConnectionReportsItsCloseAndWhetherItWasByPlan) {
  auto a = Make("c", "k", metrics_a_, "a");
  std::vector<std::pair<std::string, bool>> closes;
  a->OnClosed([&](const std::string& p, bool by_plan) { closes.emplace_back(p, by_plan); });
  tcp::endpoint where;
  {
    auto b = Make("c", "k", metrics_b_, "b");
    where = b->local_endpoint();
    int delivered = 0;
    b->OnMessage([&](const PeerOrigin&, raft::Message) { ++delivered; });
    b->OnMembership([&](const PeerOrigin&, std::string_view) { ++delivered; });
    a->SetAddress("b", where);
    a->Hold({"b"});
    // The connection's first frame (a keepalive) reaches b: accepted, not delivered.
    ASSERT_TRUE(RunUntil([&] { return b->counters().received >= 1; }));
    EXPECT_GE(a->counters().connects, 1u);
    EXPECT_EQ(delivered, 0);
    EXPECT_EQ(metrics_b_.dropped("malformed").Value(), 0);
    EXPECT_TRUE(closes.empty());
    // b crashes: its sockets close, no goodbye.
  }
  ASSERT_TRUE(RunUntil([&] { return !closes.empty(); }));
  EXPECT_EQ(closes[0], std::make_pair(std::string("b"), false));

  // b is back on the same port: a reopens the held connection by itself.
  RaftTransport::Options o;
  o.cluster = "c";
  o.credentials = Credentials("b", "k");
  auto b = std::make_unique<RaftTransport>(ioc_, o, metrics_b_);
  ASSERT_FALSE(b->Start(where));
  ASSERT_TRUE(RunUntil([&] { return b->counters().received >= 1; }));  // reopened, accepted
  // A graceful stop: goodbye, then the close.
  b->Goodbye();
  b.reset();
  ASSERT_TRUE(RunUntil([&] { return closes.size() >= 2; }));
  EXPECT_EQ(closes[1], std::make_pair(std::string("b"), true));
}

// A length prefix beyond the limit closes the connection and is counted;
// nothing of it is read or parsed.
TEST_F(RaftTransportTest, OversizeFrameClosesTheConnection) {
  auto b = Make("c", "", metrics_b_);
  tcp::socket raw(ioc_);
  raw.connect(b->local_endpoint());
  core::ByteWriter w;
  w.U32(static_cast<uint32_t>(kMaxStreamFrame + 1));
  net::write(raw, net::buffer(w.data()));
  auto& oversize = metrics_b_.dropped(ToString(DropReason::kOversize));
  ASSERT_TRUE(RunUntil([&] { return oversize.Value() >= 1; }));
  char byte;
  boost::system::error_code ec;
  raw.non_blocking(false);
  raw.read_some(net::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == net::error::eof || ec == net::error::connection_reset) << ec.message();
}

TEST_F(RaftTransportTest, GarbageInsideAValidFrameIsMalformed) {
  auto b = Make("c", "", metrics_b_);
  tcp::socket raw(ioc_);
  raw.connect(b->local_endpoint());
  const FrameSender sender{"a", 1, core::SigningKey::Generate()};
  std::string frame = EncodeFrame(FrameType::kRaft, "c", sender, 1,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(
                                      std::chrono::system_clock::now().time_since_epoch())
                                      .count(),
                                  "not a raft message", "");
  core::ByteWriter w;
  w.U32(static_cast<uint32_t>(frame.size()));
  w.Bytes(frame);
  net::write(raw, net::buffer(w.data()));
  auto& malformed = metrics_b_.dropped(ToString(DropReason::kMalformed));
  ASSERT_TRUE(RunUntil([&] { return malformed.Value() >= 1; }));
  EXPECT_EQ(b->counters().received, 0u);
}

}  // namespace
}  // namespace ringwatch::agent
