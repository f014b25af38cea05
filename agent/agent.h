#pragma once
// The agent runtime: owns the event loops, the HTTP server, the metrics and
// the data directory lock, and runs until SIGINT or SIGTERM.
//
// Threads: the calling thread runs the core io_context (every core object and
// signal handling live there); one more thread runs the HTTP io_context, so a
// slow scrape or client never delays the cores. The core thread publishes
// StatusSnapshots that the HTTP side reads.

#include <string>

#include "config/config.h"

namespace ringwatch::agent {

class Agent {
 public:
  explicit Agent(config::Config config);

  // Runs until a termination signal; returns the process exit code (0 after a
  // clean shutdown, 1 when the agent could not start).
  int Run();

 private:
  config::Config config_;
};

}  // namespace ringwatch::agent
