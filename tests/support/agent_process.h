#pragma once
// A real `ringwatch agent` process for multi-process tests: a config in a
// temp dir (loopback only, ports chosen by the kernel), started, and ready
// once its HTTP port answers /livez. Every wait has a generous deadline.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/raw_http.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls.h"

namespace ringwatch::testing {

// Where an agent runs: by default on loopback in the test's own network
// namespace; or in `netns` (tests/support/netns.h) with its peer port on
// `address` and its HTTP port on that namespace's loopback.
struct AgentNetwork {
  std::string netns;
  std::string address = "127.0.0.1";
};

class AgentProcess {
 public:
  // `extra_yaml` is appended to a minimal config (node.id, listen addresses,
  // data_dir in the temp dir). `peer_port` 0 lets the kernel choose (fine
  // when no other agent needs to know it).
  explicit AgentProcess(const std::string& node_id, const std::string& extra_yaml = "",
                        uint16_t peer_port = 0, AgentNetwork network = {});

  // Starts the agent; false (with the reason in `error`) if it did not come up.
  bool Start(std::string* error, std::chrono::milliseconds deadline = std::chrono::seconds(30));

  // Extra command-line arguments for the next Start.
  void set_extra_args(std::vector<std::string> args) { extra_args_ = std::move(args); }
  // Extra environment ("NAME=value") for the next Start.
  void set_extra_env(std::vector<std::string> env) { extra_env_ = std::move(env); }
  // The agent serves HTTPS (http.tls in its config): Start and Get speak TLS
  // with these client settings.
  void set_https(TlsClientOptions client) { https_ = std::move(client); }

  // GET `path` from this agent's HTTP port (over TLS when set_https), from
  // its network namespace; nullopt when it does not answer. Never throws.
  std::optional<RawResponse> Get(const std::string& path);
  // `method` (POST, DELETE, ...) `path` with no body, from its network
  // namespace, plain HTTP; nullopt when it does not answer within
  // `deadline`. Never throws.
  std::optional<RawResponse> Request(const std::string& method, const std::string& path,
                                     std::chrono::milliseconds deadline = std::chrono::seconds(15));

  uint16_t http_port() const { return http_port_; }
  // The namespace HTTP requests to this agent must be made from ("": here).
  const std::string& netns() const { return network_.netns; }
  uint16_t peer_port() const { return peer_port_; }
  ChildProcess& process() { return *process_; }
  const TempDir& dir() const { return dir_; }
  std::string config_path() const { return dir_.File("ringwatch.yaml"); }

 private:
  TempDir dir_;
  AgentNetwork network_;
  std::unique_ptr<ChildProcess> process_;
  uint16_t http_port_ = 0;
  uint16_t peer_port_ = 0;
  std::vector<std::string> extra_args_;
  std::vector<std::string> extra_env_;
  std::optional<TlsClientOptions> https_;
};

// A loopback port free for both UDP and TCP at the time of the call, picked
// at random below the kernel's ephemeral range (so no outbound connection
// takes it before the agent binds it); for agents whose peer address others
// must know in advance.
uint16_t FreeLoopbackPort();

// `count` distinct such ports.
std::vector<uint16_t> FreeLoopbackPorts(std::size_t count);

// The YAML list of seeds 127.0.0.1:PORT for `ports`: ["127.0.0.1:1", ...].
std::string SeedList(const std::vector<uint16_t>& ports);

// Starts agents node-1..node-`count` on fresh peer ports, each seeded with all
// of them; false (with the reason in `error`) if one does not come up.
// `cluster_yaml` continues the `cluster:` map (e.g. "  bootstrap_voters: [...]\n").
// `prepare`, if set, adjusts agent i (0-based) before it starts: HTTPS client
// settings (set_https, when cluster_yaml carries http.tls), fault injection
// (set_extra_env).
bool StartSeededCluster(std::size_t count, std::vector<std::unique_ptr<AgentProcess>>* agents,
                        std::string* error, const std::string& cluster_yaml = "",
                        const std::function<void(std::size_t, AgentProcess&)>& prepare = {});

}  // namespace ringwatch::testing
