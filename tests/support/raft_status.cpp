#include "tests/support/raft_status.h"

#include "tests/support/raw_http.h"

namespace ringwatch::testing {

nlohmann::json RaftStatus(AgentProcess& agent) {
  try {
    auto r = Get(agent.http_port(), "/v1/status");
    if (!r || r->status != 200) return nullptr;
    return nlohmann::json::parse(r->body)["raft"];
  } catch (const std::exception&) {
    return nullptr;
  }
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

}  // namespace ringwatch::testing
