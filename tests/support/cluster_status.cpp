#include "tests/support/cluster_status.h"

#include <map>
#include <sstream>

#include "tests/support/netns.h"
#include "tests/support/poll.h"
#include "tests/support/raw_http.h"

namespace ringwatch::testing {

nlohmann::json GetJson(AgentProcess& agent, const std::string& path) {
  try {
    auto r = agent.Get(path);
    if (!r || r->status != 200) return nullptr;
    return nlohmann::json::parse(r->body);
  } catch (const std::exception&) {
    return nullptr;
  }
}

double MetricSample(AgentProcess& agent, const std::string& series) {
  auto r = agent.Get("/metrics");
  if (!r) return -1;
  const auto at = r->body.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(r->body.substr(at + series.size() + 2));
}

double MetricSum(AgentProcess& agent, const std::string& name) {
  auto r = agent.Get("/metrics");
  if (!r) return -1;
  double sum = 0;
  std::istringstream lines(r->body);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    const char next = line[name.size()];
    if (next != '{' && next != ' ') continue;
    sum += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return sum;
}

nlohmann::json RaftStatus(AgentProcess& agent) {
  auto j = GetJson(agent, "/v1/status");
  return j.is_null() ? j : j["raft"];
}

std::string AgreedLeader(const std::vector<AgentProcess*>& agents, uint64_t* term) {
  std::string leader;
  uint64_t t = 0;
  for (AgentProcess* a : agents) {
    auto r = RaftStatus(*a);
    if (r.is_null() || r["leader"].is_null()) return "";
    if (leader.empty()) {
      leader = r["leader"];
      t = r["term"];
    } else if (r["leader"] != leader || r["term"] != t) {
      return "";
    }
  }
  if (term) *term = t;
  return leader;
}

std::string MemberState(AgentProcess& agent, const std::string& id) {
  const auto j = GetJson(agent, "/v1/members");  // outlives the loop (C++20 range-for)
  if (j.is_null()) return "";
  for (const auto& m : j["members"])
    if (m["id"] == id && m["state"].is_string()) return m["state"];
  return "";
}

bool AllSee(const std::vector<AgentProcess*>& who, const std::vector<std::string>& ids,
            const std::string& state, std::chrono::milliseconds every,
            std::chrono::milliseconds deadline) {
  return PollUntil(
      [&] {
        for (AgentProcess* a : who)
          for (const auto& id : ids)
            if (MemberState(*a, id) != state) return false;
        return true;
      },
      deadline, every);
}

std::vector<AgentProcess*> AllBut(const std::vector<AgentProcess*>& agents, AgentProcess* gone) {
  std::vector<AgentProcess*> out;
  for (AgentProcess* a : agents)
    if (a != gone) out.push_back(a);
  return out;
}

bool EveryWatchedMemberHeard(const std::vector<AgentProcess*>& who, std::size_t observers) {
  std::map<std::string, std::size_t> heard_by;  // alive member -> agents that hear it
  std::size_t alive = 0;
  for (AgentProcess* a : who) {
    const auto j = GetJson(*a, "/v1/members");
    if (j.is_null()) return false;
    alive = 0;
    for (const auto& m : j["members"]) {
      if (m["state"] != "alive") continue;
      ++alive;
      heard_by[m["id"].get<std::string>()];
      if (m["local"].is_null()) continue;
      if (m["local"]["heard"] != true || m["local"]["suspected"] == true) return false;
      ++heard_by[m["id"].get<std::string>()];
    }
  }
  // Each member is watched by min(K, alive - 1) observers, once they all
  // watch it (an observer starts when the member enters the Raft
  // configuration, a moment after its join commits).
  const std::size_t want = std::min(observers, alive > 0 ? alive - 1 : 0);
  for (const auto& [id, n] : heard_by)
    if (n < want) return false;
  return true;
}

}  // namespace ringwatch::testing
