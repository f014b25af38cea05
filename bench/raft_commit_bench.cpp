// Proposal-to-commit latency and throughput of the embedded Raft group: three
// raft::Nodes in one process, each on its own thread and io_context, talking
// over loopback TCP (RaftTransport) and persisting with real fsync
// (FileStorage under DIR, default $TMPDIR or /tmp — use a disk, not tmpfs).
// Each node runs the Ready cycle of raft/node.h the way AgentCore does
// (persist, send, apply, advance; a burst of messages shares one Ready), so
// this measures Raft, storage and transport without membership on top.
//
//   build/release/bench/raft_commit_bench [DIR] [PROPOSALS=2000] [SECONDS=5]
//
// Latency: proposals one at a time on the leader, from Propose() to the
// leader applying the committed entry (leader fsync, follower append + fsync,
// the round trip). Throughput: up to 256 proposals in flight for SECONDS.
// Prints median, p90, p99 and proposals per second. Bounded in count and time.
#include <prometheus/registry.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include <boost/asio/steady_timer.hpp>
#include <map>
#include "exporters/agent_metrics.h"

#include "agent/peer/raft_transport.h"
#include "core/log.h"
#include "raft/file_storage.h"
#include "raft/node.h"

namespace net = boost::asio;
using namespace ringwatch;
using Clock = std::chrono::steady_clock;

namespace {

// One Raft member: a node, its file storage and its transport, ticked every
// 25 ms (a quarter of the default 100 ms heartbeat), proposals answered by
// callback once applied.
struct BenchRaft {
  BenchRaft(net::io_context& ioc, agent::RaftTransport& transport, std::string dir)
      : ioc(ioc), transport(transport), storage(std::move(dir)), timer(ioc) {}

  std::string Start(raft::Options o, const raft::ConfState& conf) {
    auto loaded = storage.Load();
    if (!loaded.ok()) return loaded.error().message;
    raft::Restored restored = std::move(loaded).value();
    if (storage.fresh()) {
      restored = raft::Bootstrap(conf);
      raft::Ready first;
      first.hard_state = restored.hard_state;
      first.entries = restored.entries;
      if (auto saved = storage.Save(first); !saved.ok()) return saved.error().message;
    }
    node = std::make_unique<raft::Node>(o, std::move(restored));
    transport.OnMessage([this](const agent::PeerOrigin&, raft::Message m) {
      node->Step(std::move(m));
      Schedule();
    });
    Tick();
    return "";
  }
  void Tick() {
    node->Tick();
    Process();
    timer.expires_after(std::chrono::milliseconds(25));
    timer.async_wait([this](boost::system::error_code ec) {
      if (!ec && !stopped) Tick();
    });
  }
  void Schedule() {
    if (scheduled) return;
    scheduled = true;
    net::post(ioc, [this] {
      scheduled = false;
      Process();
    });
  }
  void Process() {
    while (!stopped && node->HasReady()) {
      raft::Ready rd = node->GetReady();
      if (!storage.Save(rd).ok()) std::abort();
      for (const auto& m : rd.messages)
        transport.Send(m);
      for (const auto& e : rd.committed) {
        auto it = waiting.find(e.index);
        if (it == waiting.end()) continue;
        auto done = std::move(it->second);
        waiting.erase(it);
        net::post(ioc, [done = std::move(done)] { done(true); });
      }
      node->Advance(rd);
    }
  }
  core::Result<raft::Proposal, raft::Rejection> Propose(std::string data,
                                                        std::function<void(bool)> done) {
    auto p = node->Propose(std::move(data));
    if (p.ok()) waiting[p.value().index] = std::move(done);
    Schedule();
    return p;
  }

  net::io_context& ioc;
  agent::RaftTransport& transport;
  raft::FileStorage storage;
  net::steady_timer timer;
  std::unique_ptr<raft::Node> node;
  std::map<raft::LogIndex, std::function<void(bool)>> waiting;
  bool scheduled = false;
  bool stopped = false;
};

struct Member {
  std::string id;
  net::io_context ioc{1};
  prometheus::Registry registry;
  std::unique_ptr<exporters::PeerMetrics> peer_metrics;
  agent::PeerCredentials credentials;
  std::unique_ptr<agent::RaftTransport> transport;
  std::unique_ptr<BenchRaft> raft;
  std::thread thread;
  std::unique_ptr<net::executor_work_guard<net::io_context::executor_type>> guard;

  template <typename F>
  auto Run(F f) -> decltype(f()) {
    std::packaged_task<decltype(f())()> task(std::move(f));
    auto future = task.get_future();
    net::post(ioc, [&task] { task(); });
    return future.get();
  }
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  const char* tmp = std::getenv("TMPDIR");
  std::string base = argc > 1 ? argv[1] : std::string(tmp ? tmp : "/tmp");
  const int proposals = argc > 2 ? std::atoi(argv[2]) : 2000;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 5;
  std::string dir = base + "/ringwatch-raft-bench-" + std::to_string(::getpid());
  std::filesystem::create_directories(dir);

  std::vector<std::unique_ptr<Member>> members;
  std::vector<std::string> ids = {"n1", "n2", "n3"};
  for (const auto& id : ids) {
    auto m = std::make_unique<Member>();
    m->id = id;
    m->credentials.sender = agent::FrameSender{id, 1, core::SigningKey::Generate()};
    m->peer_metrics = std::make_unique<exporters::PeerMetrics>(m->registry);
    m->transport = std::make_unique<agent::RaftTransport>(
        m->ioc, agent::RaftTransport::Options{"bench", &m->credentials}, *m->peer_metrics);
    if (m->transport->Start({net::ip::make_address("127.0.0.1"), 0})) {
      std::fprintf(stderr, "cannot listen\n");
      return 1;
    }
    m->raft = std::make_unique<BenchRaft>(m->ioc, *m->transport, dir + "/" + id);
    members.push_back(std::move(m));
  }
  for (auto& m : members)
    for (auto& other : members)
      if (m != other) m->transport->SetAddress(other->id, other->transport->local_endpoint());
  raft::ConfState conf;
  for (const auto& id : ids)
    conf.voters.insert(raft::NodeId{id});
  for (auto& m : members) {
    raft::Options o;
    o.id = raft::NodeId{m->id};
    o.heartbeat_ticks = 4;
    o.election_ticks = 40;
    o.seed = std::hash<std::string>{}(m->id);
    if (std::string err = m->raft->Start(o, conf); !err.empty()) {
      std::fprintf(stderr, "raft: %s\n", err.c_str());
      return 1;
    }
    m->guard = std::make_unique<net::executor_work_guard<net::io_context::executor_type>>(
        m->ioc.get_executor());
    m->thread = std::thread([mp = m.get()] { mp->ioc.run(); });
  }

  Member* leader = nullptr;
  const auto give_up = Clock::now() + std::chrono::seconds(30);
  while (!leader && Clock::now() < give_up) {
    for (auto& m : members)
      if (m->Run([&] { return m->raft->node->role() == raft::Role::kLeader; })) leader = m.get();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!leader) {
    std::fprintf(stderr, "no leader\n");
    return 1;
  }

  // Latency: one proposal at a time, chained on the leader's thread.
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(proposals));
  std::promise<void> latency_done;
  std::function<void()> next;
  Clock::time_point sent;
  int failed = 0;
  next = [&] {
    if (static_cast<int>(latencies.size()) + failed >= proposals) return latency_done.set_value();
    sent = Clock::now();
    auto p = leader->raft->Propose("x", [&](bool ok) {
      if (ok) {
        latencies.push_back(std::chrono::duration<double>(Clock::now() - sent).count());
      } else {
        ++failed;
      }
      net::post(leader->ioc, next);
    });
    if (!p.ok()) {
      ++failed;
      net::post(leader->ioc, next);
    }
  };
  net::post(leader->ioc, next);
  latency_done.get_future().wait();

  // Throughput: keep up to 256 proposals in flight for `seconds`.
  std::promise<void> throughput_done;
  int inflight = 0;
  long committed = 0;
  const auto start = Clock::now();
  const auto end = start + std::chrono::seconds(seconds);
  std::function<void()> fill;
  bool finished = false;
  fill = [&] {
    if (finished) return;
    if (Clock::now() >= end) {
      if (inflight == 0) {
        finished = true;
        throughput_done.set_value();
      }
      return;
    }
    while (inflight < 256) {
      ++inflight;
      auto p = leader->raft->Propose(std::string(64, 'y'), [&](bool ok) {
        --inflight;
        if (ok) ++committed;
        fill();
      });
      if (!p.ok()) {
        --inflight;
        break;
      }
    }
  };
  net::post(leader->ioc, fill);
  throughput_done.get_future().wait();
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();

  for (auto& m : members) {
    m->Run([&] {
      m->raft->stopped = true;
      m->raft->timer.cancel();
      m->transport->Stop();
      return 0;
    });
    m->guard.reset();
    m->ioc.stop();
    m->thread.join();
  }
  std::filesystem::remove_all(dir);

  std::printf("raft commit latency, 3 voters, loopback TCP, fsync in %s\n", base.c_str());
  std::printf("  proposals %zu (failed %d)\n", latencies.size(), failed);
  std::printf("  median %.3f ms  p90 %.3f ms  p99 %.3f ms\n", 1e3 * Percentile(latencies, 0.5),
              1e3 * Percentile(latencies, 0.9), 1e3 * Percentile(latencies, 0.99));
  std::printf("raft throughput, 256 in flight, 64-byte entries, %d s\n", seconds);
  std::printf("  committed %ld  = %.0f proposals/s\n", committed,
              static_cast<double>(committed) / elapsed);
  return 0;
}
