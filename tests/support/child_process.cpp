#include "tests/support/child_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace ringwatch::testing {
namespace {

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv, const std::string& output_prefix,
                           std::vector<std::string> extra_env, const std::string& stdin_path)
    : stdout_path_(output_prefix + ".stdout"), stderr_path_(output_prefix + ".stderr") {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&actions, 2, stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  std::vector<char*> args;
  for (auto& a : argv)
    args.push_back(a.data());
  args.push_back(nullptr);
  std::vector<std::string> env_storage;
  for (char** e = environ; *e != nullptr; ++e)
    env_storage.emplace_back(*e);
  for (auto& e : extra_env)
    env_storage.push_back(e);
  std::vector<char*> env;
  for (auto& e : env_storage)
    env.push_back(e.data());
  env.push_back(nullptr);
  const int rc = posix_spawnp(&pid_, args[0], &actions, nullptr, args.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0)
    throw std::runtime_error("posix_spawn " + argv[0] + " failed: " + std::to_string(rc));
}

ChildProcess::~ChildProcess() {
  if (!exit_code_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
}

bool ChildProcess::Signal(int signo) {
  return !exit_code_ && ::kill(pid_, signo) == 0;
}

bool ChildProcess::Running() {
  if (exit_code_) return false;
  int status = 0;
  const pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return false;
  }
  return true;
}

std::optional<int> ChildProcess::Wait(std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (Running()) {
    if (std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // polling a child process
  }
  return exit_code_;
}

std::string ChildProcess::Stdout() const {
  return ReadAll(stdout_path_);
}
std::string ChildProcess::Stderr() const {
  return ReadAll(stderr_path_);
}

std::optional<std::string> ChildProcess::WaitForStderrLine(const std::string& needle,
                                                           std::chrono::milliseconds deadline) {
  const auto until = std::chrono::steady_clock::now() + deadline;
  while (true) {
    const std::string text = Stderr();
    if (const auto at = text.find(needle); at != std::string::npos) {
      const auto end = text.find('\n', at);
      if (end != std::string::npos) return text.substr(at, end - at);
    }
    if (!Running() || std::chrono::steady_clock::now() >= until) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling a child's log
  }
}

RunResult Run(std::vector<std::string> argv, const std::string& output_prefix,
              std::chrono::milliseconds deadline, std::vector<std::string> extra_env,
              const std::string& stdin_path) {
  ChildProcess child(std::move(argv), output_prefix, std::move(extra_env), stdin_path);
  RunResult r;
  const auto code = child.Wait(deadline);
  r.exit_code = code.value_or(-1);
  r.out = child.Stdout();
  r.err = child.Stderr();
  return r;
}

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::string p = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= p.size()) {
    const auto end = p.find(':', start);
    const std::string dir =
        p.substr(start, end == std::string::npos ? std::string::npos : end - start);
    const std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return "";
}

bool InCi() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && std::string(ci) == "true";
}

}  // namespace ringwatch::testing
