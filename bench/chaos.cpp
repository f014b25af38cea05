// The chaos suite (tests/support/chaos.h): real agents in network
// namespaces, faults injected one after the other, invariants checked and
// every verdict and revision scored against the injected truth.
//
//   sudo build/release/bench/chaos [--rounds N] [--agents N] [--faults a,b,...]
//                                  [--seed N] [--pause-ms N] [--hold-ms N]
//                                  [--loss P] [--json FILE]
//
// Prints one line per fault, the confusion matrices (fault × verdict, fault ×
// final class) and the score; writes it all as JSON with --json. Exit code 0 when at least
// 95 % of the faults were diagnosed right and no invariant broke, 1
// otherwise, 2 on bad arguments or when the cluster cannot be set up (needs
// root, iproute2, iptables). Loopback and the suite's own namespaces only;
// every wait is bounded.

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "tests/support/chaos.h"

int main(int argc, char** argv) {
  ringwatch::testing::ChaosOptions o;
  std::string json_file;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "chaos: " << arg << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (arg == "--rounds") {
        o.rounds = std::stoi(value());
      } else if (arg == "--agents") {
        o.agents = std::stoi(value());
      } else if (arg == "--seed") {
        o.seed = std::stoull(value());
      } else if (arg == "--pause-ms") {
        o.pause = std::chrono::milliseconds(std::stoi(value()));
      } else if (arg == "--hold-ms") {
        o.hold = std::chrono::milliseconds(std::stoi(value()));
      } else if (arg == "--loss") {
        o.loss = std::stod(value());
      } else if (arg == "--json") {
        json_file = value();
      } else if (arg == "--faults") {
        std::stringstream list(value());
        std::string kind;
        while (std::getline(list, kind, ','))
          o.faults.push_back(kind);
      } else {
        std::cerr << "chaos: unknown argument " << arg << "\n";
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "chaos: bad value for " << arg << "\n";
      return 2;
    }
  }
  if (o.rounds < 1 || o.rounds > 100 || o.agents < 5 || o.agents > 9 || o.loss <= 0 ||
      o.loss >= 1) {
    std::cerr << "chaos: --rounds 1-100, --agents 5-9, --loss in (0, 1)\n";
    return 2;
  }
  for (const auto& kind : o.faults) {
    const auto all = ringwatch::testing::ChaosFaultKinds();
    if (std::find(all.begin(), all.end(), kind) == all.end()) {
      std::cerr << "chaos: unknown fault " << kind << "\n";
      return 2;
    }
  }
  ringwatch::testing::ChaosReport report;
  try {
    report = ringwatch::testing::RunChaos(o, std::cout);
  } catch (const std::exception& e) {
    std::cerr << "chaos: " << e.what() << "\n";
    return 2;
  }
  std::cout << "\n" << report.Table();
  if (!json_file.empty()) std::ofstream(json_file) << report.ToJson().dump(2) << "\n";
  const bool good =
      report.violations == 0 && report.correct * 100 >= 95 * static_cast<int>(report.faults.size());
  return good ? 0 : 1;
}
