#pragma once
// A real `ringwatch agent` process for multi-process tests: a config in a
// temp dir (loopback only, ports chosen by the kernel), started, and ready
// once its HTTP port answers /livez. Every wait has a generous deadline.

#include <chrono>
#include <memory>
#include <string>

#include "tests/support/child_process.h"
#include "tests/support/temp_dir.h"

namespace ringwatch::testing {

class AgentProcess {
 public:
  // `extra_yaml` is appended to a minimal config (node.id, loopback listen
  // addresses on port 0, data_dir in the temp dir).
  explicit AgentProcess(const std::string& node_id, const std::string& extra_yaml = "");

  // Starts the agent; false (with the reason in `error`) if it did not come up.
  bool Start(std::string* error, std::chrono::milliseconds deadline = std::chrono::seconds(30));

  uint16_t http_port() const { return http_port_; }
  ChildProcess& process() { return *process_; }
  const TempDir& dir() const { return dir_; }
  std::string config_path() const { return dir_.File("ringwatch.yaml"); }

 private:
  TempDir dir_;
  std::unique_ptr<ChildProcess> process_;
  uint16_t http_port_ = 0;
};

}  // namespace ringwatch::testing
