#pragma once
// The per-peer and heartbeat metrics of CONTRACT.md, registered once:
//   ringwatch_peer_phi{peer}, ringwatch_peer_silence_seconds{peer},
//   ringwatch_peer_heartbeat_interval_seconds{peer} (histogram),
//   ringwatch_peer_rtt_seconds{peer} (histogram),
//   ringwatch_peer_suspicions_total{peer},
//   ringwatch_heartbeats_sent_total, ringwatch_heartbeats_received_total,
//   ringwatch_messages_dropped_total{reason}.
// Series of a peer exist while it is watched (Remove drops them), so the
// `peer` label stays bounded by the cluster size.
// Thread-safety: prometheus-cpp metrics are thread-safe; For/Remove are
// called from the core thread only.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <map>
#include <string>

#include "agent/peer_frame.h"

namespace ringwatch::agent {

class PeerMetrics {
 public:
  struct Series {
    prometheus::Gauge* phi;
    prometheus::Gauge* silence;
    prometheus::Histogram* interval;
    prometheus::Histogram* rtt;
    prometheus::Counter* suspicions;
  };

  explicit PeerMetrics(prometheus::Registry& registry);

  Series& For(const std::string& peer);
  void Remove(const std::string& peer);

  prometheus::Counter& sent() { return *sent_; }
  prometheus::Counter& received() { return *received_; }
  prometheus::Counter& dropped(DropReason reason) { return *dropped_.at(reason); }

 private:
  prometheus::Family<prometheus::Gauge>& phi_;
  prometheus::Family<prometheus::Gauge>& silence_;
  prometheus::Family<prometheus::Histogram>& interval_;
  prometheus::Family<prometheus::Histogram>& rtt_;
  prometheus::Family<prometheus::Counter>& suspicions_;
  prometheus::Counter* sent_;
  prometheus::Counter* received_;
  std::map<DropReason, prometheus::Counter*> dropped_;
  std::map<std::string, Series> series_;
};

}  // namespace ringwatch::agent
