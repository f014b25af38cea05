#pragma once
// What running agents report over HTTP, for the multi-process tests and the
// benchmarks that drive real agents: JSON answers, metric samples, the Raft
// leader they agree on, and the state of members in their committed views.

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support/agent_process.h"

namespace ringwatch::testing {

// GET `path` as JSON; null when the agent does not answer 200 with JSON.
nlohmann::json GetJson(AgentProcess& agent, const std::string& path);

// The value of one series (name and labels as exposed) in /metrics, or -1.
double MetricSample(AgentProcess& agent, const std::string& series);

// The sum of every series of metric family `name` in /metrics, or -1.
double MetricSum(AgentProcess& agent, const std::string& name);

// `raft` of GET /v1/status, or null when the agent does not answer.
nlohmann::json RaftStatus(AgentProcess& agent);

// The leader every agent in `agents` names in the same term, or "" when they
// do not agree (yet). Sets `term` when given.
std::string AgreedLeader(const std::vector<AgentProcess*>& agents, uint64_t* term = nullptr);

// The state of member `id` in `agent`'s committed view ("" when absent or
// the agent does not answer).
std::string MemberState(AgentProcess& agent, const std::string& id);

// Polls until every agent in `who` sees every member of `ids` in `state`.
bool AllSee(const std::vector<AgentProcess*>& who, const std::vector<std::string>& ids,
            const std::string& state,
            std::chrono::milliseconds every = std::chrono::milliseconds(10),
            std::chrono::milliseconds deadline = std::chrono::seconds(30));

// `agents` without `gone` (the survivors of a kill, the others of a restart).
std::vector<AgentProcess*> AllBut(const std::vector<AgentProcess*>& agents, AgentProcess* gone);

// Every agent in `who` (the whole cluster) hears every member it watches and
// suspects none, and every alive member has its min(`observers`, alive - 1)
// observers watching it.
bool EveryWatchedMemberHeard(const std::vector<AgentProcess*>& who, std::size_t observers = 5);

}  // namespace ringwatch::testing
