#pragma once
// `ringwatch lock NAME [--ttl D] [--wait D] [--holder H] -- COMMAND...`
// (docs/contract.md "CLI", docs/locks.md), as `consul lock`: takes lock NAME
// through the agent at --http-addr, runs COMMAND with RINGWATCH_LOCK_NAME and
// RINGWATCH_LOCK_TOKEN (the fencing token) in its environment, renews the
// lock while COMMAND runs, and releases it when COMMAND exits.
//
// Renewals are what tell the lock is still held: each is committed through
// Raft (a quorum confirms it), every third of the TTL (every second without
// one). The lock is lost when a renewal answers 409 (the table says another
// token holds it, or none) or when none has succeeded for the lease — the
// TTL, or without one `lease` (the holder's agent is cut off: its member is
// being declared dead and the lock will be released with it). Then COMMAND
// gets SIGTERM, and SIGKILL after `kill_after`; the exit code is 1.
// Otherwise it is COMMAND's (128 + the signal when a signal ended it).
// SIGINT, SIGTERM and SIGHUP to this process are passed on to COMMAND.
// Exit codes: COMMAND's; 1 the lock was lost, not acquired (409), or the
// agent could not be reached; 2 usage; 127 COMMAND could not be run.

#include <chrono>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "agent/cli/client_command.h"

namespace ringwatch::agent {

struct LockCommandOptions {
  std::string name;
  std::string holder;  // default: "<hostname>:<pid>"
  // Unset: the agent's locks.default_ttl; 0: none (as long as the member).
  std::optional<std::chrono::milliseconds> ttl;
  std::chrono::milliseconds wait{0};      // 0: fail at once when it is held
  std::chrono::milliseconds lease{5000};  // without a TTL: renewals must succeed this often
  std::chrono::milliseconds kill_after{10000};
  std::vector<std::string> command;
};

int RunLock(const ClientOptions& client, const LockCommandOptions& options, std::ostream& out,
            std::ostream& err);

}  // namespace ringwatch::agent
