#include "tests/support/agent_process.h"

#include "tests/support/raw_http.h"

namespace ringwatch::testing {

AgentProcess::AgentProcess(const std::string& node_id, const std::string& extra_yaml) {
  dir_.Write("ringwatch.yaml", "node:\n  id: " + node_id +
                                   "\nlisten:\n  peer: 127.0.0.1:0\n  http: 127.0.0.1:0\n"
                                   "data_dir: data\n" +
                                   extra_yaml);
}

bool AgentProcess::Start(std::string* error, std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  process_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{RINGWATCH_BINARY, "agent", "-c", config_path()}, dir_.File("agent"));
  // The agent logs the bound address, in text ("[http] listening
  // address=127.0.0.1:PORT") or JSON ("message":"listening",...,"address":"127.0.0.1:PORT").
  const auto line = process_->WaitForStderrLine("listening", deadline);
  const auto at = line ? line->find("127.0.0.1:") : std::string::npos;
  if (at == std::string::npos) {
    *error = "agent did not log its HTTP address; stderr:\n" + process_->Stderr();
    return false;
  }
  http_port_ = static_cast<uint16_t>(std::stoi(line->substr(at + 10)));
  while (std::chrono::steady_clock::now() < until) {
    try {
      if (auto r = Get(http_port_, "/livez"); r && r->status == 200) return true;
    } catch (const std::exception&) {
      // not accepting yet
    }
    if (!process_->Running()) break;
  }
  *error = "agent did not answer /livez; stderr:\n" + process_->Stderr();
  return false;
}

}  // namespace ringwatch::testing
