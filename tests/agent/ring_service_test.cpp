#include "agent/ring_service.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "agent/options.h"
#include "core/file.h"
#include "ring/move_plan.h"

namespace ringwatch::agent {
namespace {

using membership::AddMember;
using membership::Command;
using membership::MemberInfo;

MemberInfo Info(const std::string& id, uint64_t incarnation = 1) {
  return MemberInfo{id, id + ":7420", "", id + ":11211", 1, incarnation};
}

membership::MarkDead Dead(const std::string& id) {
  membership::Diagnosis d;
  d.cls = membership::DiagnosisClass::kProcessDown;
  return membership::MarkDead{id, 1, d};
}

double Sample(prometheus::Registry& registry, const std::string& name,
              const std::string& label_value = "") {
  for (const auto& family : registry.Collect()) {
    if (family.name != name) continue;
    for (const auto& m : family.metric) {
      if (!label_value.empty() && (m.label.empty() || m.label.front().value != label_value))
        continue;
      return family.type == prometheus::MetricType::Counter ? m.counter.value : m.gauge.value;
    }
  }
  return -1;
}

class RingServiceTest : public ::testing::Test {
 protected:
  RingServiceTest() {
    char tmpl[] = "/tmp/ringwatch-ring-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~RingServiceTest() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<RingService> Make(
      config::RingConfig config,
      std::chrono::milliseconds hook_timeout = std::chrono::seconds(10)) {
    auto s = std::make_unique<RingService>(ioc_, RingServiceOptions(config, "n1", hook_timeout),
                                           ring_metrics_);
    s->Attach([this]() -> const membership::View& { return view_; }, [this] { ++changes_; });
    return s;
  }

  void Apply(Command c) { view_.Apply(c); }

  std::string dir_;
  boost::asio::io_context ioc_;
  prometheus::Registry registry_;
  exporters::RingMetrics ring_metrics_{registry_};
  membership::View view_;
  int changes_ = 0;
};

TEST_F(RingServiceTest, FollowsTheRingVersionOfTheView) {
  auto service = Make({});
  service->Update();
  EXPECT_EQ(service->Current(), nullptr) << "no view applied yet: no ring, not an empty one";
  for (const char* id : {"a", "b", "c"})
    Apply({1, AddMember{Info(id)}});
  service->Update();
  auto first = service->Current();
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(first->version.value, 3u);
  ASSERT_EQ(first->ring.members().size(), 3u);
  EXPECT_EQ(first->ring.members()[0].service, "a:11211");
  EXPECT_EQ(first->from_version.value, 0u);
  EXPECT_DOUBLE_EQ(first->moves.moved_ratio, 1.0) << "everything moves from nobody";
  EXPECT_EQ(changes_, 1);
  EXPECT_EQ(Sample(registry_, "ringwatch_ring_version"), 3);

  const auto json = nlohmann::json::parse(first->json);
  EXPECT_EQ(json["version"], 3);
  EXPECT_EQ(json["hash"], "ketama");
  EXPECT_EQ(json["points"], 480);
  EXPECT_EQ(json["replicas"], 3);
  double total = 0;
  for (const auto& m : json["members"]) {
    EXPECT_EQ(m["points"], 160);
    total += m["ownership"].get<double>();
  }
  EXPECT_NEAR(total, 1.0, 1e-9);

  // A death: one rebuild however often it is notified, and only b's keys move.
  const double b_share = first->ownership[1];
  Apply({2, Dead("b")});
  service->Notify();
  service->Notify();
  EXPECT_EQ(service->Current(), first) << "the rebuild is posted, not done inline";
  ioc_.poll();
  auto second = service->Current();
  ASSERT_NE(second, first);
  EXPECT_EQ(changes_, 2);
  EXPECT_EQ(second->version.value, 4u);
  EXPECT_EQ(second->from_version.value, 3u);
  EXPECT_EQ(second->ring.members().size(), 2u);
  EXPECT_NEAR(second->moves.moved_ratio, b_share, 1e-12);
  for (const ring::Move& m : second->moves.moves)
    EXPECT_EQ(m.from, "b");
  EXPECT_NEAR(Sample(registry_, "ringwatch_ring_moved_ratio"), b_share, 1e-12);
  EXPECT_EQ(Sample(registry_, "ringwatch_ring_ownership_ratio", "b"), -1)
      << "the dead member's series is gone";
  EXPECT_NEAR(Sample(registry_, "ringwatch_ring_ownership_ratio", "a"), second->ownership[0],
              1e-12);

  // A change the ring does not see: no rebuild.
  MemberInfo moved = Info("a");
  moved.address = "a2:7420";
  Apply({3, membership::UpdateMember{moved}});
  service->Notify();
  ioc_.poll();
  EXPECT_EQ(service->Current(), second);
  EXPECT_EQ(changes_, 2);
}

TEST_F(RingServiceTest, WritesTheRingFileAndRunsTheHookWithTheRingOnStdin) {
  config::RingConfig config;
  config.hash = config::RingHash::kXxh3;
  config.file = dir_ + "/ring.json";
  config.on_change = "cat > '" + dir_ +
                     "/stdin.json' && echo \"$RINGWATCH_NODE_ID $RINGWATCH_RING_VERSION " +
                     "$RINGWATCH_RING_FROM_VERSION\" > '" + dir_ + "/env'";
  auto service = Make(config);
  for (const char* id : {"a", "b"})
    Apply({1, AddMember{Info(id)}});
  service->Update();
  service->Stop();  // the worker finishes the pending ring first
  const std::string expected = service->Current()->json + "\n";
  EXPECT_EQ(core::ReadFile(config.file).value_or(""), expected);
  EXPECT_FALSE(std::filesystem::exists(config.file + ".tmp"));
  EXPECT_EQ(core::ReadFile(dir_ + "/stdin.json").value_or(""), expected);
  EXPECT_EQ(core::ReadFile(dir_ + "/env").value_or(""), "n1 2 0\n");
  EXPECT_EQ(Sample(registry_, "ringwatch_ring_hook_runs_total", "ok"), 1);
  EXPECT_EQ(Sample(registry_, "ringwatch_ring_file_writes_total", "ok"), 1);
  EXPECT_EQ(nlohmann::json::parse(expected)["hash"], "xxh3");
}

TEST_F(RingServiceTest, FailingSlowAndDeafHooksAreCountedNotFatal) {
  struct Case {
    std::string command;
    const char* result;
    std::chrono::milliseconds timeout;
  };
  using std::chrono::milliseconds;
  const std::vector<Case> cases = {
      {"exit 3", "failed", milliseconds(10000)},
      {"sleep 30", "timeout", milliseconds(300)},
      // Never read stdin: the agent must not block on a full pipe (the ring
      // JSON of 1000 members is larger than a pipe buffer).
      {"sleep 0.2", "ok", milliseconds(10000)},
      {"exec 0<&-; sleep 0.2", "ok", milliseconds(10000)},
  };
  for (int i = 0; i < 1000; ++i)
    Apply({1, AddMember{Info("m" + std::to_string(i))}});
  for (const Case& c : cases) {
    SCOPED_TRACE(c.command);
    config::RingConfig config;
    config.on_change = c.command;
    prometheus::Registry registry;
    exporters::RingMetrics metrics(registry);
    RingService service(ioc_, RingServiceOptions(config, "n1", c.timeout), metrics);
    service.Attach([this]() -> const membership::View& { return view_; }, [] {});
    service.Update();
    ASSERT_GT(service.Current()->json.size(), 65536u);
    service.Stop();
    EXPECT_EQ(Sample(registry, "ringwatch_ring_hook_runs_total", c.result), 1);
  }
}

TEST_F(RingServiceTest, AnUnwritableRingFileIsCounted) {
  config::RingConfig config;
  config.file = dir_ + "/missing/dir/ring.json";
  auto service = Make(config);
  Apply({1, AddMember{Info("a")}});
  service->Update();
  service->Stop();
  EXPECT_EQ(Sample(registry_, "ringwatch_ring_file_writes_total", "failed"), 1);
  EXPECT_EQ(Sample(registry_, "ringwatch_ring_file_writes_total", "ok"), 0);
  ASSERT_NE(service->Current(), nullptr) << "the ring itself is still served";
}

}  // namespace
}  // namespace ringwatch::agent
