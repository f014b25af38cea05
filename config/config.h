#pragma once
// The agent's configuration as plain typed structs, one per YAML section of
// docs/contract.md, with the documented defaults as member initializers. Produced
// once by config/loader.h; cores receive the section they need (DetectorConfig,
// RaftConfig, RingConfig) and never a YAML node. Plain values; copyable.

#include <cstdint>
#include <string>
#include <vector>

#include "core/duration.h"

namespace ringwatch::config {

using core::Duration;
using namespace std::chrono_literals;

// "host:port" as written; host may be an IPv4 address, a bracketed IPv6
// address or a DNS name. Validated by the loader.
struct HostPort {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;
  friend bool operator==(const HostPort&, const HostPort&) = default;
};

struct NodeConfig {
  std::string id;       // required; [A-Za-z0-9._-]{1,64}
  std::string address;  // empty: first non-loopback IPv4 at start
  std::string zone;     // empty: no failure domain
  std::string service;  // empty in YAML: defaults to id (filled by the loader)
  uint32_t weight = 1;
};

struct ClusterConfig {
  std::string name = "default";
  std::vector<HostPort> seeds;
  std::vector<std::string> bootstrap_voters;
  uint32_t voters = 3;  // 1, 3, 5 or 7
  std::string secret_file;
  // SIGTERM is a planned restart: the member is `restarting` (the ring
  // unchanged) until it returns, or for restart_grace (then dead, `stopped`).
  Duration restart_grace = 30s;
  bool leave_on_terminate = false;  // true: SIGTERM leaves the cluster instead
  // A non-loopback listen.peer without a keyring is a config error unless this.
  bool allow_insecure = false;
};

// 127.0.0.0/8, ::1 or "localhost": peer traffic that never leaves the host.
bool IsLoopbackHost(const std::string& host);

struct ListenConfig {
  HostPort peer{"0.0.0.0", 7420};
  HostPort http{"0.0.0.0", 7421};
};

struct DetectorConfig {
  Duration heartbeat_interval = 100ms;
  double phi_threshold = 8.0;
  uint32_t window = 1000;
  Duration min_std_dev = 50ms;
  Duration acceptable_pause = 0s;
  Duration timeout = 3s;
  uint32_t observers = 5;
  uint32_t confirmations = 0;  // 0: majority of the member's live observers
  Duration rejoin_probation = 2s;
};

struct RaftConfig {
  Duration heartbeat_interval = 100ms;
  Duration election_timeout = 1s;
  uint64_t snapshot_entries = 1000;
  // A voter whose failure detector suspects the leader starts a pre-vote at
  // once instead of waiting for its election timeout (docs/raft.md).
  bool failover_from_detector = true;
};

enum class RingHash { kKetama, kXxh3 };

struct RingConfig {
  RingHash hash = RingHash::kKetama;
  uint32_t points = 160;
  uint32_t replicas = 3;
  std::string file;
  std::string on_change;
};

struct TlsConfig {
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
};

struct HttpConfig {
  std::string token_file;
  TlsConfig tls;
  // Limits of the HTTP server (ringwatch additions to docs/contract.md's keys).
  Duration read_timeout = 10s;             // a request must arrive whole within this
  Duration idle_timeout = 60s;             // keep-alive connections idle longer are closed
  uint32_t max_connections = 256;          // further connections get 503 and are closed
  uint32_t max_request_bytes = 64 * 1024;  // headers + body; larger requests get 413/431
};

struct LocksConfig {
  uint32_t max = 1024;     // locks held at once, cluster-wide
  Duration default_ttl{};  // 0: a lock lives as long as its member; else 1s-24h
};

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError };
enum class LogFormat { kText, kJson };

struct LogConfig {
  LogLevel level = LogLevel::kInfo;
  LogFormat format = LogFormat::kText;
};

// Names accepted in `collectors`, in their documented order.
inline const std::vector<std::string>& KnownCollectors() {
  static const std::vector<std::string> names{"cpu",        "memory",  "load",
                                              "filesystem", "network", "process"};
  return names;
}

struct Config {
  NodeConfig node;
  ClusterConfig cluster;
  ListenConfig listen;
  std::string data_dir = "/var/lib/ringwatch";
  DetectorConfig detector;
  RaftConfig raft;
  RingConfig ring;
  HttpConfig http;
  LocksConfig locks;
  LogConfig log;
  std::vector<std::string> collectors = KnownCollectors();
};

std::string_view ToString(RingHash h);
std::string_view ToString(LogLevel l);
std::string_view ToString(LogFormat f);

}  // namespace ringwatch::config
