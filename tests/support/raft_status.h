#pragma once
// The Raft section of a running agent's /v1/status, and the leader a set of
// agents agrees on — for the multi-process Raft tests and the failover bench.

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/agent_process.h"

namespace ringwatch::testing {

// `raft` of GET /v1/status, or null when the agent does not answer.
nlohmann::json RaftStatus(AgentProcess& agent);

// The leader every agent in `agents` names in the same term, or "" when they
// do not agree (yet). Sets `term` when given.
std::string AgreedLeader(const std::vector<AgentProcess*>& agents, uint64_t* term = nullptr);

}  // namespace ringwatch::testing
