#include "tests/support/netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace ringwatch::testing {

int Shell(const std::string& command, std::string* output) {
  std::string out;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 4096> buf;
  std::size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    out.append(buf.data(), n);
  const int status = ::pclose(p);
  if (output != nullptr) *output = out;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

namespace {

void Must(const std::string& command) {
  std::string out;
  if (Shell(command, &out) != 0) throw std::runtime_error(command + ": " + out);
}

}  // namespace

std::string NetnsCluster::Unavailable() {
  if (::geteuid() != 0) return "needs root (network namespaces and iptables)";
  for (const char* tool : {"ip", "iptables"})
    if (Shell(std::string("command -v ") + tool) != 0)
      return std::string("needs `") + tool + "` (Debian: iproute2, iptables)";
  const std::string probe = "rwprobe" + std::to_string(::getpid());
  std::string out;
  if (Shell("ip netns add " + probe, &out) != 0) return "cannot create a network namespace: " + out;
  const int rc = Shell("ip netns exec " + probe +
                           " iptables -A INPUT -p udp -m statistic --mode "
                           "random --probability 0.5 -j DROP",
                       &out);
  Shell("ip netns del " + probe);
  if (rc != 0) return "iptables does not work in a network namespace: " + out;
  return "";
}

NetnsCluster::NetnsCluster(int count) : prefix_("rw" + std::to_string(::getpid()) + "-") {
  try {
    Must("ip netns add " + prefix_ + "br");
    Must("ip -n " + prefix_ + "br link add br0 type bridge");
    Must("ip -n " + prefix_ + "br link set br0 up");
    for (int i = 1; i <= count; ++i) {
      const std::string ns = prefix_ + std::to_string(i);
      Must("ip netns add " + ns);
      names_.push_back(ns);
      Must("ip -n " + ns + " link add eth0 type veth peer name v" + std::to_string(i) + " netns " +
           prefix_ + "br");
      Must("ip -n " + prefix_ + "br link set v" + std::to_string(i) + " master br0 up");
      Must("ip -n " + ns + " addr add " + Address(i) + "/24 dev eth0");
      Must("ip -n " + ns + " link set eth0 up");
      Must("ip -n " + ns + " link set lo up");
    }
  } catch (...) {
    Cleanup();
    throw;
  }
}

NetnsCluster::~NetnsCluster() {
  Cleanup();
}

void NetnsCluster::Cleanup() {
  for (const std::string& ns : names_)
    Shell("ip netns del " + ns);
  names_.clear();
  Shell("ip netns del " + prefix_ + "br");
}

void NetnsCluster::Cut(const std::vector<int>& a, const std::vector<int>& b) {
  for (int x : a)
    for (int y : b) {
      Must("ip netns exec " + Netns(x) + " iptables -A INPUT -s " + Address(y) + " -j DROP");
      Must("ip netns exec " + Netns(x) + " iptables -A OUTPUT -d " + Address(y) + " -j DROP");
      Must("ip netns exec " + Netns(y) + " iptables -A INPUT -s " + Address(x) + " -j DROP");
      Must("ip netns exec " + Netns(y) + " iptables -A OUTPUT -d " + Address(x) + " -j DROP");
    }
}

void NetnsCluster::DropUdp(double probability) {
  for (const std::string& ns : names_)
    Must("ip netns exec " + ns + " iptables -A INPUT -i eth0 -p udp -m statistic --mode random " +
         "--probability " + std::to_string(probability) + " -j DROP");
}

void NetnsCluster::CutOneWay(int from, const std::vector<int>& to) {
  for (int y : to)
    Must("ip netns exec " + Netns(from) + " iptables -A OUTPUT -d " + Address(y) + " -j DROP");
}

void NetnsCluster::Lossy(int node, double probability) {
  for (const char* chain : {"INPUT -i", "OUTPUT -o"})
    Must("ip netns exec " + Netns(node) + " iptables -A " + chain +
         " eth0 -m statistic --mode random --probability " + std::to_string(probability) +
         " -j DROP");
}

void NetnsCluster::LinkDown(int node) {
  Must("ip -n " + Netns(node) + " link set eth0 down");
  down_.push_back(node);
}

void NetnsCluster::Heal() {
  for (const std::string& ns : names_)
    Must("ip netns exec " + ns + " iptables -F");
  // The address stays on a downed interface; its connected route comes back
  // with the link.
  for (int node : down_)
    Must("ip -n " + Netns(node) + " link set eth0 up");
  down_.clear();
}

long NetnsCluster::Dropped(int node) const {
  std::string out;
  if (Shell("ip netns exec " + Netns(node) + " iptables -L -n -v -x", &out) != 0) return -1;
  // Each rule line starts with its packet count; every rule here drops.
  long total = 0;
  std::size_t at = 0;
  while ((at = out.find('\n', at)) != std::string::npos) {
    ++at;
    const auto end = out.find('\n', at);
    const std::string line = out.substr(at, end == std::string::npos ? end : end - at);
    if (line.find("DROP") != std::string::npos && line.find("Chain") == std::string::npos)
      total += std::strtol(line.c_str(), nullptr, 10);
  }
  return total;
}

NetnsScope::NetnsScope(const std::string& netns) {
  if (netns.empty()) return;
  home_ = ::open(("/proc/self/task/" + std::to_string(::syscall(SYS_gettid)) + "/ns/net").c_str(),
                 O_RDONLY | O_CLOEXEC);
  const int fd = ::open(("/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
  if (home_ < 0 || fd < 0 || ::setns(fd, CLONE_NEWNET) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot enter network namespace " + netns);
  }
  ::close(fd);
}

NetnsScope::~NetnsScope() {
  if (home_ < 0) return;
  ::setns(home_, CLONE_NEWNET);
  ::close(home_);
}

}  // namespace ringwatch::testing
