#pragma once
// A child process for multi-process tests: started with posix_spawn, its
// stdout and stderr captured to files, waited for with a deadline (polling
// waitpid), and killed if still running when the object is destroyed.

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace ringwatch::testing {

class ChildProcess {
 public:
  // Starts `argv[0]` with `argv`; output goes to `output_prefix`.stdout/.stderr.
  ChildProcess(std::vector<std::string> argv, const std::string& output_prefix,
               std::vector<std::string> extra_env = {},
               const std::string& stdin_path = "/dev/null");
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  bool Signal(int signo);

  // Exit code (or 128 + signal) once the process has ended, or nullopt if it
  // is still running at the deadline.
  std::optional<int> Wait(std::chrono::milliseconds deadline);
  bool Running();

  std::string Stdout() const;
  std::string Stderr() const;

  // Polls stderr until it contains `needle` or the process ends or the
  // deadline passes; returns the text from `needle` to the end of its line.
  std::optional<std::string> WaitForStderrLine(const std::string& needle,
                                               std::chrono::milliseconds deadline);

 private:
  pid_t pid_ = -1;
  std::optional<int> exit_code_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// Runs a command to completion (bounded by `deadline`) and returns its exit
// code with its captured output.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
RunResult Run(std::vector<std::string> argv, const std::string& output_prefix,
              std::chrono::milliseconds deadline = std::chrono::seconds(30),
              std::vector<std::string> extra_env = {}, const std::string& stdin_path = "/dev/null");

// Finds `name` on PATH; empty when absent.
std::string FindOnPath(const std::string& name);

// True when running under CI (CI=true), where tests must not skip for want of tools.
bool InCi();

}  // namespace ringwatch::testing
