// In-process tests of the heartbeat service: two services on loopback in one
// io_context. Waiting is event-driven (the loop runs until a condition holds
// or a deadline passes), never a sleep.

#include "agent/heartbeat_service.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "tests/support/run_loop.h"

namespace ringwatch::agent {
namespace {

using namespace std::chrono_literals;
namespace net = boost::asio;
using udp = net::ip::udp;

class HeartbeatServiceTest : public ::testing::Test {
 protected:
  static config::DetectorConfig Fast() {
    config::DetectorConfig c;
    c.heartbeat_interval = 10ms;
    c.min_std_dev = 5ms;
    c.timeout = 1s;
    return c;
  }

  void SetUp() override {
    a_ = std::make_unique<HeartbeatService>(
        ioc_, HeartbeatService::Options{"node-a", "test", "k", 1, Fast()}, metrics_a_);
    b_ = std::make_unique<HeartbeatService>(
        ioc_, HeartbeatService::Options{"node-b", "test", "k", 1, Fast()}, metrics_b_);
    ASSERT_FALSE(a_->Start({net::ip::make_address("127.0.0.1"), 0}));
    ASSERT_FALSE(b_->Start({net::ip::make_address("127.0.0.1"), 0}));
  }

  void TearDown() override {
    a_->Stop();
    b_->Stop();
  }

  // Runs the loop until `done` holds; false after 10 s.
  template <typename Done>
  bool RunUntil(Done done) {
    return testing::RunUntil(ioc_, done);
  }

  static std::optional<PeerView> Find(const HeartbeatService& s, const std::string& id) {
    for (const auto& p : s.Status()) {
      if (p.id == id) return p;
    }
    return std::nullopt;
  }

  std::string MetricsOf(prometheus::Registry& r) {
    return prometheus::TextSerializer().Serialize(r.Collect());
  }

  net::io_context ioc_;
  prometheus::Registry registry_a_, registry_b_;
  PeerMetrics metrics_a_{registry_a_}, metrics_b_{registry_b_};
  std::unique_ptr<HeartbeatService> a_, b_;
};

// An observer that does not heartbeat its subject (watching is one-way)
// still gets the round trip: the subject carries what it measured from the
// observer's acks in its next heartbeats.
TEST_F(HeartbeatServiceTest, AnObserverLearnsTheRttItsSubjectMeasured) {
  a_->SetTargets({b_->local_endpoint()});                // a heartbeats b
  b_->SetWatchList({{"node-a", a_->local_endpoint()}});  // b watches a, sends it nothing
  ASSERT_TRUE(RunUntil([&] {
    auto p = Find(*b_, "node-a");
    return p && p->heard && p->rtt_seconds;
  }));
  EXPECT_GT(*Find(*b_, "node-a")->rtt_seconds, 0);
  EXPECT_LT(*Find(*b_, "node-a")->rtt_seconds, 1.0);
  const std::string m = MetricsOf(registry_b_);
  EXPECT_NE(m.find("ringwatch_peer_rtt_seconds_count{peer=\"node-a\"}"), std::string::npos) << m;
}

TEST_F(HeartbeatServiceTest, LearnsASeedsIdAndMeasuresRtt) {
  a_->SetTargets({b_->local_endpoint()});
  a_->SetWatchList({{"", b_->local_endpoint()}});
  b_->SetTargets({a_->local_endpoint()});
  ASSERT_TRUE(RunUntil([&] {
    auto p = Find(*a_, "node-b");
    return p && p->heard && p->rtt_seconds;
  }));
  const auto p = *Find(*a_, "node-b");
  EXPECT_FALSE(p.suspected);
  EXPECT_GT(*p.rtt_seconds, 0);
  EXPECT_EQ(p.incarnation, 1u);
  const std::string m = MetricsOf(registry_a_);
  EXPECT_NE(m.find("ringwatch_peer_phi{peer=\"node-b\"}"), std::string::npos) << m;
  EXPECT_NE(m.find("ringwatch_peer_rtt_seconds_count{peer=\"node-b\"}"), std::string::npos);
}

TEST_F(HeartbeatServiceTest, TheWatchListIsReplaceableAtRunTime) {
  a_->SetTargets({b_->local_endpoint()});
  b_->SetTargets({a_->local_endpoint()});
  b_->SetWatchList({{"node-a", a_->local_endpoint()}});
  ASSERT_TRUE(RunUntil([&] {
    auto p = Find(*b_, "node-a");
    return p && p->heard;
  }));
  // Replaced by an empty list: no observation and no series remain but the
  // suspicion counter (a suspicion just before the unwatch must be scraped).
  b_->SetWatchList({});
  EXPECT_TRUE(b_->Status().empty());
  const std::string metrics = MetricsOf(registry_b_);
  EXPECT_EQ(metrics.find("ringwatch_peer_phi{peer=\"node-a\""), std::string::npos);
  EXPECT_EQ(metrics.find("ringwatch_peer_rtt_seconds_count{peer=\"node-a\""), std::string::npos);
  EXPECT_NE(metrics.find("ringwatch_peer_suspicions_total{peer=\"node-a\"}"), std::string::npos);
  // Watched again: a fresh detector, heard again.
  b_->SetWatchList({{"node-a", a_->local_endpoint()}});
  ASSERT_EQ(b_->Status().size(), 1u);
  EXPECT_FALSE(b_->Status()[0].heard);
  ASSERT_TRUE(RunUntil([&] {
    auto p = Find(*b_, "node-a");
    return p && p->heard;
  }));
}

TEST_F(HeartbeatServiceTest, StoppedSenderIsSuspectedAndItsArrivalsKept) {
  b_->SetTargets({a_->local_endpoint()});
  a_->SetWatchList({{"node-b", b_->local_endpoint()}});
  ASSERT_TRUE(RunUntil([&] {
    auto arrivals = a_->Arrivals("node-b");
    return arrivals && arrivals->size() >= 20;
  }));
  b_->Stop();
  ASSERT_TRUE(RunUntil([&] {
    auto p = Find(*a_, "node-b");
    return p && p->suspected;
  }));
  EXPECT_EQ(Find(*a_, "node-b")->suspected_by, "phi");
  const auto arrivals = *a_->Arrivals("node-b");
  for (std::size_t i = 1; i < arrivals.size(); ++i)
    EXPECT_GE(arrivals[i], arrivals[i - 1]);
  EXPECT_FALSE(a_->Arrivals("node-z"));
}

TEST_F(HeartbeatServiceTest, ASeedThatIsThisAgentIsDropped) {
  a_->SetTargets({a_->local_endpoint(), b_->local_endpoint()});
  a_->SetWatchList({{"", a_->local_endpoint()}, {"", b_->local_endpoint()}});
  ASSERT_TRUE(RunUntil([&] { return a_->Status().size() == 1; }));
  EXPECT_EQ(a_->Status()[0].address, "127.0.0.1:" + std::to_string(b_->local_endpoint().port()));
}

}  // namespace
}  // namespace ringwatch::agent
