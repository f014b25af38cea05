// Detector hot paths: what an observer pays per heartbeat and per query.
//   build/release/bench/detectors_bench --benchmark_repetitions=5
//   --benchmark_report_aggregates_only=true

#include <benchmark/benchmark.h>

#include "detectors/evaluate.h"
#include "detectors/policy.h"

namespace ringwatch::detectors {
namespace {

using namespace std::chrono_literals;

// One arrival (window update) plus one phi query, as the agent does for each
// received heartbeat.
void BM_PhiHeartbeatAndQuery(benchmark::State& state) {
  PhiAccrualConfig c;
  c.window = static_cast<uint32_t>(state.range(0));
  PhiAccrual d(c);
  Instant t{};
  int64_t jitter = 0;
  for (auto _ : state) {
    jitter = (jitter * 1103515245 + 12345) & 0xFFFFF;  // 0..1 ms of jitter
    t += 100ms + Duration(jitter);
    d.Heartbeat(t);
    benchmark::DoNotOptimize(d.PhiAt(t + 50ms));
  }
}
BENCHMARK(BM_PhiHeartbeatAndQuery)->Arg(1000)->Arg(100000);

// The full per-peer policy: heartbeat (with the suspicion guard) + Observe.
void BM_PolicyHeartbeatAndObserve(benchmark::State& state) {
  Policy p(detectors::PolicyOptions{}, Instant{});
  Instant t{};
  for (auto _ : state) {
    t += 100ms;
    p.Heartbeat(t);
    benchmark::DoNotOptimize(p.Observe(t + 50ms));
  }
}
BENCHMARK(BM_PolicyHeartbeatAndObserve);

// The phi function alone.
void BM_Phi(benchmark::State& state) {
  double t = 0;
  for (auto _ : state) {
    t = t > 2000 ? 0 : t + 0.37;
    benchmark::DoNotOptimize(Phi(t, 1000, 100));
  }
}
BENCHMARK(BM_Phi);

// Replaying a one-hour trace (36,000 arrivals at 100 ms) for `tune`.
void BM_EvaluateOneHourTrace(benchmark::State& state) {
  std::vector<core::Duration> trace;
  int64_t jitter = 0;
  core::Duration t{};
  for (int i = 0; i < 36000; ++i) {
    jitter = (jitter * 1103515245 + 12345) & 0x3FFFFFF;  // 0..67 ms
    t += 100ms + core::Duration(jitter) / 2;
    trace.push_back(t);
  }
  for (auto _ : state)
    benchmark::DoNotOptimize(Evaluate(trace, detectors::PolicyOptions{}));
}
BENCHMARK(BM_EvaluateOneHourTrace)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace ringwatch::detectors
