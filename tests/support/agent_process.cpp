#include "tests/support/agent_process.h"

#include <cstdlib>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <stdexcept>

#include "tests/support/netns.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"

namespace ringwatch::testing {

AgentProcess::AgentProcess(const std::string& node_id, const std::string& extra_yaml,
                           uint16_t peer_port, AgentNetwork network)
    : network_(std::move(network)), peer_port_(peer_port) {
  const std::string address = network_.netns.empty() ? "" : "\n  address: " + network_.address;
  std::string extra = extra_yaml;
  if (!network_.netns.empty() && extra.find("secret_file:") == std::string::npos) {
    // Off loopback a keyring is required (secure by default): every agent
    // of a namespace test shares this one.
    const std::string line =
        "  secret_file: " +
        dir_.Write("keyring", "bmV0bnMtdGVzdC1rZXlyaW5nLTMyLWJ5dGVzLWxvbmc=\n") + "\n";
    const std::size_t at = extra.find("cluster:\n");
    if (at == std::string::npos) {
      extra += "cluster:\n" + line;
    } else {
      extra.insert(at + 9, line);
    }
  }
  dir_.Write("ringwatch.yaml", "node:\n  id: " + node_id + address + "\nlisten:\n  peer: " +
                                   network_.address + ":" + std::to_string(peer_port) +
                                   "\n  http: 127.0.0.1:0\n"
                                   "data_dir: data\n" +
                                   extra);
}

uint16_t FreeLoopbackPort() {
  // Below the kernel's ephemeral range: a port picked there could be taken,
  // before the agent binds it, by any outbound connection (agents connect to
  // each other all the time), which a port below the range never is.
  static std::mt19937 random(
      static_cast<uint32_t>(::getpid()) ^
      static_cast<uint32_t>(std::chrono::steady_clock::now().time_since_epoch().count()));
  int low = 32768;
  if (std::FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d", &low) != 1) low = 32768;
    std::fclose(f);
  }
  const int first = 10000, last = std::max(first + 1000, low) - 1;
  for (int attempt = 0; attempt < 1000; ++attempt) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port =
        htons(static_cast<uint16_t>(std::uniform_int_distribution<int>(first, last)(random)));
    const int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    const int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
    const bool free = ::bind(tcp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
                      ::bind(udp, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(udp);
    ::close(tcp);
    if (free) return ntohs(addr.sin_port);
  }
  throw std::runtime_error("no free loopback port");
}

std::vector<uint16_t> FreeLoopbackPorts(std::size_t count) {
  std::vector<uint16_t> ports;
  while (ports.size() < count) {
    const uint16_t p = FreeLoopbackPort();
    if (std::find(ports.begin(), ports.end(), p) == ports.end()) ports.push_back(p);
  }
  return ports;
}

std::string SeedList(const std::vector<uint16_t>& ports) {
  std::string out = "[";
  for (auto p : ports)
    out += (out.size() > 1 ? ", " : "") + std::string("\"127.0.0.1:") + std::to_string(p) + "\"";
  return out + "]";
}

bool StartSeededCluster(std::size_t count, std::vector<std::unique_ptr<AgentProcess>>* agents,
                        std::string* error, const std::string& cluster_yaml,
                        const std::function<void(std::size_t, AgentProcess&)>& prepare) {
  const auto ports = FreeLoopbackPorts(count);
  const std::string extra = "cluster:\n  seeds: " + SeedList(ports) + "\n" + cluster_yaml;
  for (std::size_t i = 0; i < count; ++i) {
    agents->push_back(
        std::make_unique<AgentProcess>("node-" + std::to_string(i + 1), extra, ports[i]));
    if (prepare) prepare(i, *agents->back());
    if (!agents->back()->Start(error)) return false;
  }
  return true;
}

bool AgentProcess::Start(std::string* error, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  if (http_port_ != 0) {
    // A restart keeps its HTTP port, as a real agent's listen.http does (so
    // a Prometheus scraping it keeps finding it).
    std::string config = dir_.Read("ringwatch.yaml");
    const std::string from = "\n  http: 127.0.0.1:0\n";
    if (auto at = config.find(from); at != std::string::npos) {
      config.replace(at, from.size(), "\n  http: 127.0.0.1:" + std::to_string(http_port_) + "\n");
      dir_.Write("ringwatch.yaml", config);
    }
  }
  std::vector<std::string> argv;
  if (!network_.netns.empty()) argv = {"ip", "netns", "exec", network_.netns};
  // RINGWATCH_BIN runs another build (the benches compare two side by side).
  const char* bin = std::getenv("RINGWATCH_BIN");
  for (std::string arg : {bin && *bin ? bin : RINGWATCH_BINARY, "agent", "-c"})
    argv.push_back(arg);
  argv.push_back(config_path());
  argv.insert(argv.end(), extra_args_.begin(), extra_args_.end());
  process_ = std::make_unique<ChildProcess>(std::move(argv), dir_.File("agent"), extra_env_);
  // The agent logs the bound addresses, in text ("[http] listening
  // address=127.0.0.1:PORT") or JSON ("component":"http","message":"listening",
  // ..."address":"127.0.0.1:PORT"); the peer port follows as "detector".
  for (const char* component : {"http", "detector"}) {
    const std::string text = std::string("[") + component + "] listening";
    const std::string json =
        std::string("\"component\":\"") + component + "\",\"message\":\"listening\"";
    std::optional<std::string> line;
    const auto until_line = std::chrono::steady_clock::now() + deadline;
    while (!line && std::chrono::steady_clock::now() < until_line && process_->Running()) {
      line = process_->WaitForStderrLine(text, std::chrono::milliseconds(200));
      if (!line) line = process_->WaitForStderrLine(json, std::chrono::milliseconds(200));
    }
    const std::string host =
        std::string(component) == "http" ? std::string("127.0.0.1:") : network_.address + ":";
    const auto at = line ? line->find(host) : std::string::npos;
    if (at == std::string::npos) {
      *error = std::string("agent did not log its ") + component + " address; stderr:\n" +
               process_->Stderr();
      return false;
    }
    (std::string(component) == "http" ? http_port_ : peer_port_) =
        static_cast<uint16_t>(std::stoi(line->substr(at + host.size())));
  }
  const bool up = PollUntil(
      [&] {
        try {
          if (auto r = Get("/livez"); r && r->status == 200) return true;
        } catch (const std::exception&) {
          // not accepting yet
        }
        return !process_->Running();
      },
      std::chrono::duration_cast<std::chrono::milliseconds>(until -
                                                            std::chrono::steady_clock::now()),
      std::chrono::milliseconds(10));
  if (up && process_->Running()) return true;
  *error = "agent did not answer /livez; stderr:\n" + process_->Stderr();
  return false;
}

std::optional<RawResponse> AgentProcess::Get(const std::string& path) {
  NetnsScope in(network_.netns);
  if (!https_) {
    try {
      return testing::Get(http_port_, path);
    } catch (const std::exception&) {
      return std::nullopt;  // not accepting
    }
  }
  auto r = TlsExchange(http_port_,
                       "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
                       *https_);
  return r.response;
}

std::optional<RawResponse> AgentProcess::Request(const std::string& method, const std::string& path,
                                                 std::chrono::milliseconds deadline) {
  NetnsScope in(network_.netns);
  try {
    return Exchange(http_port_,
                    method + " " + path +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: "
                        "close\r\n\r\n",
                    deadline);
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace ringwatch::testing
