#pragma once
// The agent's ringwatch_* metric families (docs/contract.md "Metrics"), declared
// in one place. Each group is registered once, on the registry it is given,
// and updated by the part of agent/ that observes it:
//   PeerMetrics        ringwatch_peer_*{peer}, heartbeats sent/received,
//                      ringwatch_messages_dropped_total{reason};
//   MembershipMetrics  ringwatch_members{state}, ringwatch_member_up{member},
//                      ringwatch_membership_changes_total{kind},
//                      ringwatch_detection_seconds, ringwatch_view_version;
//   RaftMetrics        ringwatch_raft_*;
//   RingMetrics        ringwatch_ring_version, _moved_ratio, _ownership_ratio{member},
//                      _hook_runs_total{result}, _file_writes_total{result};
//   HttpMetrics        ringwatch_http_requests_total{route,code},
//                      ringwatch_http_connections, _connections_rejected_total.
// Series of a peer or member exist while it is watched or in the view, so
// the `peer` and `member` labels stay bounded by the cluster size.
// Thread-safety: prometheus-cpp metrics are thread-safe; the update methods
// are called from the agent's core thread only.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "membership/view.h"
#include "raft/node.h"

namespace ringwatch::exporters {

// The `reason` labels of ringwatch_messages_dropped_total, each with a series
// from the start. The last three are TCP connections closed unread: over
// the connection caps (conn_limit), silent or stalled past the read
// deadline (timeout), or asking for more buffer than the inbound budget
// has left (busy).
inline constexpr const char* kDropReasons[] = {
    "bad_hmac", "bad_version", "malformed", "oversize",     "wrong_cluster", "conn_limit",
    "timeout",  "busy",        "replay",    "bad_identity", "out_of_bounds"};

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
  // Drops a peer's series, except its suspicion counter: a peer is typically
  // unwatched because it was declared dead right after being suspected, and
  // a scrape must still see that suspicion.
  void Remove(const std::string& peer);

  prometheus::Counter& sent() { return *sent_; }
  // ringwatch_keyring_keys: keys in the keyring (0: peer traffic unauthenticated).
  prometheus::Gauge& keyring_keys() { return *keyring_keys_; }
  prometheus::Counter& received() { return *received_; }
  // One of kDropReasons.
  prometheus::Counter& dropped(std::string_view reason);

 private:
  prometheus::Gauge* keyring_keys_;
  prometheus::Family<prometheus::Gauge>& phi_;
  prometheus::Family<prometheus::Gauge>& silence_;
  prometheus::Family<prometheus::Histogram>& interval_;
  prometheus::Family<prometheus::Histogram>& rtt_;
  prometheus::Family<prometheus::Counter>& suspicions_;
  prometheus::Counter* sent_;
  prometheus::Counter* received_;
  std::map<std::string, prometheus::Counter*, std::less<>> dropped_;
  std::map<std::string, Series> series_;
};

class MembershipMetrics {
 public:
  explicit MembershipMetrics(prometheus::Registry& registry);
  // The committed view as this agent applied it. Counts the events not seen
  // before; a death decided within the last minute (wall clock `now_ms`) is
  // a detection time: from the last heartbeat its observers heard to now.
  void Update(const membership::View& view, int64_t now_ms);

 private:
  prometheus::Family<prometheus::Gauge>& members_;
  prometheus::Family<prometheus::Gauge>& member_up_;
  prometheus::Family<prometheus::Counter>& changes_;
  prometheus::Family<prometheus::Counter>& diagnoses_;
  prometheus::Family<prometheus::Counter>& revisions_;
  prometheus::Family<prometheus::Gauge>& verdict_;
  // member -> (class, its ringwatch_member_verdict series), dead members only
  std::map<std::string, std::pair<std::string, prometheus::Gauge*>> verdict_series_;
  prometheus::Family<prometheus::Histogram>& detection_seconds_;  // by path
  prometheus::Gauge& view_version_;
  std::map<std::string, prometheus::Gauge*> up_series_;
  uint64_t counted_seq_ = 0;  // events up to this seq are counted
};

// The lock table (membership/locks.h). Cluster-wide values, the same on
// every agent (each applies the same log): ringwatch_locks_held is the
// table's size, the counters count what this agent applied since it
// started (aggregate with max(), not sum()). ringwatch_lock_handover_seconds
// is observed where the lock went: on the agent whose waiter took a lock
// that was released while it waited (release to acquisition, view times).
class LockMetrics {
 public:
  explicit LockMetrics(prometheus::Registry& registry);
  void Applied(const std::vector<membership::LockChange>& changes, std::size_t held);
  void Held(std::size_t held) { held_.Set(static_cast<double>(held)); }
  void Handover(double seconds) { handover_.Observe(seconds); }

 private:
  prometheus::Gauge& held_;
  prometheus::Counter& acquisitions_;
  prometheus::Family<prometheus::Counter>& releases_;
  prometheus::Histogram& handover_;
};

class RaftMetrics {
 public:
  explicit RaftMetrics(prometheus::Registry& registry);
  void Update(const raft::Node& node);
  prometheus::Counter& leader_changes() { return leader_changes_; }
  prometheus::Histogram& commit_seconds() { return commit_seconds_; }
  prometheus::Histogram& persist_seconds() { return persist_seconds_; }

 private:
  prometheus::Gauge& term_;
  prometheus::Gauge& commit_index_;
  prometheus::Gauge& applied_index_;
  prometheus::Gauge& is_leader_;
  prometheus::Gauge& has_leader_;
  prometheus::Gauge& voters_;
  prometheus::Gauge& learners_;
  prometheus::Counter& leader_changes_;
  prometheus::Histogram& commit_seconds_;
  prometheus::Histogram& persist_seconds_;
};

class RingMetrics {
 public:
  explicit RingMetrics(prometheus::Registry& registry);
  // A new ring: its version, the share that moved, and each member's share
  // (series of members no longer in the ring are removed).
  void SetRing(core::ViewVersion version, double moved_ratio,
               const std::vector<std::pair<std::string, double>>& ownership);
  // result: ok, failed, timeout, error.
  void HookRun(const char* result);
  void FileWrite(bool ok);

 private:
  prometheus::Gauge& version_;
  prometheus::Gauge& moved_ratio_;
  prometheus::Family<prometheus::Gauge>& ownership_;
  std::map<std::string, prometheus::Gauge*> ownership_series_;
  prometheus::Family<prometheus::Counter>& hook_runs_;
  prometheus::Counter& file_writes_ok_;
  prometheus::Counter& file_writes_failed_;
};

// Thread-safe (HTTP sessions count from the HTTP thread).
class HttpMetrics {
 public:
  explicit HttpMetrics(prometheus::Registry& registry);
  void Count(const std::string& route, int status);
  // A request or connection refused for its credentials, origin or
  // protocol (reasons: missing_token, bad_token, not_loopback,
  // foreign_origin, plain_http, tls_handshake).
  void Refused(const std::string& reason);
  prometheus::Counter& rejected() { return rejected_; }
  prometheus::Gauge& open() { return open_; }
  prometheus::Gauge& waiters() { return waiters_; }
  prometheus::Counter& tls_reloads(bool ok) { return ok ? tls_reloaded_ : tls_reload_failed_; }

 private:
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Counter& rejected_;
  prometheus::Gauge& open_;
  prometheus::Gauge& waiters_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& tls_reloads_;
  prometheus::Counter& tls_reloaded_;
  prometheus::Counter& tls_reload_failed_;
};

}  // namespace ringwatch::exporters
