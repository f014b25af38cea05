#include "agent/peer_metrics.h"

namespace ringwatch::agent {
namespace {

// Heartbeat intervals: around 100 ms by default, tails up to seconds.
const prometheus::Histogram::BucketBoundaries kIntervalBuckets{
    0.01, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.3, 0.5, 1.0, 2.0, 5.0};
// Round trips: loopback tens of microseconds, LAN sub-millisecond, WAN tens of ms.
const prometheus::Histogram::BucketBoundaries kRttBuckets{
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};

}  // namespace

PeerMetrics::PeerMetrics(prometheus::Registry& registry)
    : phi_(prometheus::BuildGauge()
               .Name("ringwatch_peer_phi")
               .Help("Phi-accrual suspicion level of a watched peer, as seen by this agent.")
               .Register(registry)),
      silence_(prometheus::BuildGauge()
                   .Name("ringwatch_peer_silence_seconds")
                   .Help("Time since the last heartbeat from a watched peer.")
                   .Register(registry)),
      interval_(prometheus::BuildHistogram()
                    .Name("ringwatch_peer_heartbeat_interval_seconds")
                    .Help("Intervals between heartbeats received from a watched peer.")
                    .Register(registry)),
      rtt_(prometheus::BuildHistogram()
               .Name("ringwatch_peer_rtt_seconds")
               .Help("Round-trip time of heartbeats to a peer (heartbeat to ack).")
               .Register(registry)),
      suspicions_(prometheus::BuildCounter()
                      .Name("ringwatch_peer_suspicions_total")
                      .Help("Times this agent began to suspect a watched peer.")
                      .Register(registry)) {
  sent_ = &prometheus::BuildCounter()
               .Name("ringwatch_heartbeats_sent_total")
               .Help("Heartbeats sent to peers.")
               .Register(registry)
               .Add({});
  received_ = &prometheus::BuildCounter()
                   .Name("ringwatch_heartbeats_received_total")
                   .Help("Valid heartbeats received from peers.")
                   .Register(registry)
                   .Add({});
  auto& dropped = prometheus::BuildCounter()
                      .Name("ringwatch_messages_dropped_total")
                      .Help("Peer messages dropped unparsed, by reason.")
                      .Register(registry);
  for (DropReason r : kAllDropReasons)
    dropped_[r] = &dropped.Add({{"reason", ToString(r)}});
}

PeerMetrics::Series& PeerMetrics::For(const std::string& peer) {
  auto it = series_.find(peer);
  if (it != series_.end()) return it->second;
  const std::map<std::string, std::string> labels{{"peer", peer}};
  // Add returns the existing counter of a peer watched before: suspicions
  // keep counting across an unwatch and a re-watch.
  Series s{&phi_.Add(labels), &silence_.Add(labels), &interval_.Add(labels, kIntervalBuckets),
           &rtt_.Add(labels, kRttBuckets), &suspicions_.Add(labels)};
  return series_.emplace(peer, s).first->second;
}

void PeerMetrics::Remove(const std::string& peer) {
  auto it = series_.find(peer);
  if (it == series_.end()) return;
  phi_.Remove(it->second.phi);
  silence_.Remove(it->second.silence);
  interval_.Remove(it->second.interval);
  rtt_.Remove(it->second.rtt);
  // The suspicion counter stays: a peer is typically unwatched because it was
  // declared dead right after being suspected, and a scrape must still see
  // that suspicion (increase() over a series that vanished misses it).
  series_.erase(it);
}

}  // namespace ringwatch::agent
