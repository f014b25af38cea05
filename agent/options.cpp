#include "agent/options.h"

namespace ringwatch::agent {

detectors::PolicyOptions DetectorOptions(const config::DetectorConfig& d) {
  detectors::PolicyOptions o;
  o.heartbeat_interval = d.heartbeat_interval;
  o.phi_threshold = d.phi_threshold;
  o.window = d.window;
  o.min_std_dev = d.min_std_dev;
  o.acceptable_pause = d.acceptable_pause;
  o.timeout = d.timeout;
  return o;
}

ring::Options RingOptions(const config::RingConfig& r) {
  ring::Options o;
  o.hash = r.hash == config::RingHash::kXxh3 ? ring::HashKind::kXxh3 : ring::HashKind::kKetama;
  o.points = r.points;
  return o;
}

RingService::Options RingServiceOptions(const config::RingConfig& r, const std::string& node_id,
                                        std::chrono::milliseconds hook_timeout) {
  RingService::Options o;
  o.ring = RingOptions(r);
  o.replicas = r.replicas;
  o.file = r.file;
  o.on_change = r.on_change;
  o.node_id = node_id;
  o.hook_timeout = hook_timeout;
  return o;
}

CoreOptions MakeCoreOptions(const config::Config& config, membership::MemberInfo self) {
  CoreOptions o;
  o.self = std::move(self);
  for (const auto& s : config.cluster.seeds)
    o.seeds.push_back(s.ToString());
  o.bootstrap_voters = config.cluster.bootstrap_voters;
  o.target_voters = config.cluster.voters;
  o.observers = config.detector.observers;
  o.confirmations = config.detector.confirmations;
  o.rejoin_probation = config.detector.rejoin_probation;
  o.detector = DetectorOptions(config.detector);
  o.probe_phi = config.detector.phi_threshold / 2;
  o.raft_heartbeat_interval = config.raft.heartbeat_interval;
  o.election_timeout = config.raft.election_timeout;
  o.snapshot_entries = config.raft.snapshot_entries;
  o.failover_from_detector = config.raft.failover_from_detector;
  o.restart_grace = config.cluster.restart_grace;
  o.locks.max = config.locks.max;
  o.random_seed = o.self.incarnation;
  return o;
}

}  // namespace ringwatch::agent
