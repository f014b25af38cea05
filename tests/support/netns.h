#pragma once
// Network namespaces for tests that cut links: one namespace per node
// (10.77.0.N/24 on a veth into a bridge that lives in its own namespace), so
// partitions and packet loss are iptables rules inside the nodes'
// namespaces. Nothing touches the host's own network: the namespaces, the
// bridge and every rule go away with the object (and `ip netns del` of a
// namespace drops its rules). Needs root, `ip` and `iptables`; Unavailable()
// says why a test must skip.

#include <string>
#include <vector>

namespace ringwatch::testing {

class NetnsCluster {
 public:
  // Why namespaces cannot be used here ("" when they can), checked by
  // creating and deleting a probe namespace.
  static std::string Unavailable();

  // Namespaces for nodes 1..count; throws with the failing command's output.
  explicit NetnsCluster(int count);
  ~NetnsCluster();
  NetnsCluster(const NetnsCluster&) = delete;
  NetnsCluster& operator=(const NetnsCluster&) = delete;

  const std::string& Netns(int node) const { return names_.at(node - 1); }
  static std::string Address(int node) { return "10.77.0." + std::to_string(node); }

  // Drops every packet between `a` and `b` (both directions, rules in both
  // namespaces).
  void Cut(const std::vector<int>& a, const std::vector<int>& b);
  // Drops each incoming UDP packet with `probability` on every node.
  void DropUdp(double probability);
  // Drops every packet from `from` to each of `to` (one direction only:
  // what they send it still arrives).
  void CutOneWay(int from, const std::vector<int>& to);
  // Drops each packet `node` sends or receives with `probability`.
  void Lossy(int node, double probability);
  // Takes `node`'s interface down (its host is gone, as far as the others
  // can tell); Heal brings it up again.
  void LinkDown(int node);
  // Removes every rule on every node and brings every interface up.
  void Heal();
  // Packets the rules of `node` dropped so far.
  long Dropped(int node) const;

 private:
  void Cleanup();

  std::string prefix_;
  std::vector<std::string> names_;
  std::vector<int> down_;  // nodes whose interface LinkDown took down
};

// Runs a shell command; its exit status, with stdout+stderr in `output`.
int Shell(const std::string& command, std::string* output = nullptr);

// Moves the calling thread into a network namespace for its lifetime
// (sockets it creates belong there) and back after. Empty name: no-op.
class NetnsScope {
 public:
  explicit NetnsScope(const std::string& netns);
  ~NetnsScope();
  NetnsScope(const NetnsScope&) = delete;
  NetnsScope& operator=(const NetnsScope&) = delete;

 private:
  int home_ = -1;
};

}  // namespace ringwatch::testing
