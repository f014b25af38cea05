#pragma once
// The chaos suite (docs/benchmarks.md "Diagnosis under chaos"): real agents,
// each in its own network namespace, and a series of injected faults — a
// SIGKILL, a SIGSTOP, an interface down, partitions (2|3, 1|4, one-way),
// packet loss on one host, CPU starvation of one agent (a cgroup quota), a
// planned restart, a stop longer than restart_grace, a leave, and an
// overloaded host (the load average past 2 per CPU, then its agent starved
// to a millisecond of CPU a second). After each: the fault is healed, the cluster
// must converge again, and
//   - invariants: every agent holds the same committed view and the same
//     event history; nobody was declared dead that the fault did not hit;
//   - the diagnosis: the verdict committed for each member the fault hit,
//     and the revision its own account brought, against the injected truth.
// Two confusion matrices (fault × verdict, fault × final class) sum it up. Every wait has a
// deadline and every loop a bound. Needs root, iproute2 and iptables (and a
// writable cgroup cpu controller for the starvation fault, else it is left
// out with a note).

#include <chrono>
#include <iosfwd>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace ringwatch::testing {

struct ChaosOptions {
  int agents = 5;  // node-1..node-3 are the bootstrap voters
  int rounds = 4;  // each round injects every fault of `faults` once
  // Fault kinds, in order (empty: all of ChaosFaultKinds()).
  std::vector<std::string> faults;
  std::chrono::milliseconds pause{3000};  // SIGSTOP length
  std::chrono::milliseconds hold{8000};   // how long loss and starvation last
  // A fault that kills lasts at least this long from its injection (the
  // member's own detectors need their time too, for its account).
  std::chrono::milliseconds outage{4000};
  double loss = 0.2;  // packet loss on the lossy host
  uint64_t seed = 1;  // picks the victims
};

struct ChaosFault {
  std::string kind;
  std::vector<std::string> victims;  // the members the fault hit
  // Per victim: the committed verdict ("none": not declared dead or left)
  // and the revision ("" when none).
  std::map<std::string, std::string> verdict;
  std::map<std::string, std::string> revision;
  // Per victim with a revision: whom its account says it kept hearing.
  std::map<std::string, std::vector<std::string>> heard;
  // Per victim declared dead: the detector path that decided (fast, phi,
  // timeout), and the time from injection until every survivor saw it dead
  // (polled every 50 ms; 0 when it was not declared dead).
  std::map<std::string, std::string> path;
  double detect_seconds = 0;
  std::string label;     // the final class: a revision, else the verdict, else "none"
  std::string expected;  // what was accepted, for the report
  bool correct = false;
  std::vector<std::string> violations;  // invariants broken
  double seconds = 0;                   // from injection to converged again
};

struct ChaosReport {
  std::vector<ChaosFault> faults;
  std::vector<std::string> notes;  // faults left out, and why
  int correct = 0;
  int violations = 0;
  // fault kind -> final class -> count
  std::map<std::string, std::map<std::string, int>> matrix;
  // fault kind -> verdict class ("none": not declared dead) -> count
  std::map<std::string, std::map<std::string, int>> verdicts;
  nlohmann::json ToJson() const;
  std::string Table() const;
};

// Every fault kind the suite knows.
std::vector<std::string> ChaosFaultKinds();

// Runs the suite; progress lines go to `log`. Throws when the cluster cannot
// be set up (no root, no namespaces).
ChaosReport RunChaos(const ChaosOptions& options, std::ostream& log);

}  // namespace ringwatch::testing
