#include "agent/cli/lock_command.h"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>
#include <ostream>
#include <thread>

#include "core/duration.h"

namespace ringwatch::agent {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

std::atomic<int> forwarded_signal{0};

void OnSignal(int signo) {
  forwarded_signal.store(signo);
}

std::string DefaultHolder() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::strcpy(host, "host");
  std::string out;
  for (const char* c = host; *c; ++c)
    out += (*c > 0x20 && *c < 0x7f) ? *c : '_';
  return out + ":" + std::to_string(getpid());
}

std::string Duration(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + "ms";
}

// Runs `argv` with the lock in its environment; -1 when fork fails.
pid_t Spawn(const std::vector<std::string>& argv, const std::string& name, uint64_t token) {
  const pid_t pid = fork();
  if (pid != 0) return pid;
  // The child: default signal handling, the lock in the environment.
  for (int s : {SIGINT, SIGTERM, SIGHUP})
    signal(s, SIG_DFL);
  setenv("RINGWATCH_LOCK_NAME", name.c_str(), 1);
  setenv("RINGWATCH_LOCK_TOKEN", std::to_string(token).c_str(), 1);
  std::vector<char*> args;
  for (const std::string& a : argv)
    args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  execvp(args[0], args.data());
  const std::string message =
      "ringwatch lock: cannot run " + argv[0] + ": " + std::strerror(errno) + "\n";
  (void)!write(STDERR_FILENO, message.data(), message.size());
  _exit(127);
}

int ExitCodeOf(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace

int RunLock(const ClientOptions& client, const LockCommandOptions& o, std::ostream& out,
            std::ostream& err) {
  (void)out;  // COMMAND owns standard output
  std::string bearer, why;
  if (!ReadClientToken(client, &bearer, &why)) {
    err << "ringwatch lock: " << why << "\n";
    return 2;
  }
  if (o.command.empty()) {
    err << "ringwatch lock: no COMMAND to run (ringwatch lock NAME -- COMMAND...)\n";
    return 2;
  }
  const std::string holder = o.holder.empty() ? DefaultHolder() : o.holder;
  const std::string path = "/v1/locks/" + UrlEncode(o.name);
  std::string target = path + "?holder=" + UrlEncode(holder);
  if (o.ttl) target += "&ttl=" + Duration(*o.ttl);
  if (o.wait.count() > 0) target += "&wait=" + Duration(o.wait);

  ClientAnswer a;
  try {
    a = SendRequest(client, bearer, "POST", target, client.timeout + o.wait);
  } catch (const std::invalid_argument& e) {
    err << "ringwatch lock: " << e.what() << "\n";
    return 2;
  } catch (const std::exception& e) {
    err << "ringwatch lock: cannot reach the agent at " << client.http_addr << ": " << e.what()
        << "\n";
    return 1;
  }
  if (a.status != 200) {
    err << "ringwatch lock: " << a.status << ": " << ErrorOf(a) << "\n";
    return 1;
  }
  uint64_t token = 0;
  std::chrono::milliseconds ttl{0};
  try {
    const json j = json::parse(a.body);
    token = j.at("token").get<uint64_t>();
    if (j.contains("ttl") && j["ttl"].is_string()) {
      core::DurationParseError e;
      if (auto d = core::ParseDuration(j["ttl"].get<std::string>(), &e))
        ttl = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
    }
  } catch (const std::exception& e) {
    err << "ringwatch lock: unexpected answer from the agent: " << e.what() << "\n";
    return 1;
  }
  err << "ringwatch lock: holding " << o.name << " as " << holder << " (token " << token << ")\n";

  // Renewals every third of the TTL (every second without one); the lock
  // is lost when none has succeeded for the lease.
  const auto interval = ttl.count() > 0 ? ttl / 3 : std::chrono::milliseconds(1000);
  const auto lease = ttl.count() > 0 ? ttl : o.lease;
  const auto renew_timeout = std::max<std::chrono::milliseconds>(
      std::chrono::milliseconds(500),
      std::min<std::chrono::milliseconds>(lease / 2, client.timeout));
  const std::string renew = path + "/renew?token=" + std::to_string(token);
  const std::string release = path + "?token=" + std::to_string(token);

  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  for (int s : {SIGINT, SIGTERM, SIGHUP})
    sigaction(s, &action, nullptr);

  const pid_t child = Spawn(o.command, o.name, token);
  if (child < 0) {
    err << "ringwatch lock: cannot start " << o.command[0] << ": " << std::strerror(errno) << "\n";
    try {
      SendRequest(client, bearer, "DELETE", release, client.timeout);
    } catch (const std::exception&) {
    }
    return 127;
  }

  Clock::time_point last_ok = Clock::now();
  Clock::time_point next_renew = last_ok + interval;
  std::string lost;
  int status = 0;
  bool exited = false;
  while (!exited && lost.empty()) {
    const pid_t w = waitpid(child, &status, WNOHANG);
    if (w == child) {
      exited = true;
      break;
    }
    if (int s = forwarded_signal.exchange(0)) kill(child, s);
    const auto now = Clock::now();
    if (now >= next_renew) {
      try {
        const ClientAnswer r = SendRequest(client, bearer, "POST", renew, renew_timeout);
        if (r.status == 200) {
          last_ok = now;
        } else if (r.status == 409) {
          lost = ErrorOf(r);
        } else {
          err << "ringwatch lock: renewal failed: " << r.status << ": " << ErrorOf(r) << "\n";
        }
      } catch (const std::exception& e) {
        err << "ringwatch lock: renewal failed: " << e.what() << "\n";
      }
      next_renew = Clock::now() + interval;
    }
    if (lost.empty() && Clock::now() - last_ok >= lease)
      lost = "no renewal succeeded for " + Duration(lease);
    if (lost.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!lost.empty()) {
    err << "ringwatch lock: lost lock " << o.name << " (" << lost << "); stopping " << o.command[0]
        << "\n";
    kill(child, SIGTERM);
    const auto deadline = Clock::now() + o.kill_after;
    while (waitpid(child, &status, WNOHANG) != child) {
      if (Clock::now() >= deadline) {
        kill(child, SIGKILL);
        waitpid(child, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
  // Released either way (a lost lock's release is refused, harmlessly; one
  // lost for want of renewals may still be held, slowly — but its agent may
  // be cut off: wait for that answer only briefly).
  try {
    const auto release_timeout =
        lost.empty() ? client.timeout
                     : std::min<std::chrono::milliseconds>(client.timeout, std::chrono::seconds(2));
    const ClientAnswer r = SendRequest(client, bearer, "DELETE", release, release_timeout);
    if (r.status != 200 && lost.empty())
      err << "ringwatch lock: release failed: " << r.status << ": " << ErrorOf(r) << "\n";
  } catch (const std::exception& e) {
    if (lost.empty()) err << "ringwatch lock: release failed: " << e.what() << "\n";
  }
  return lost.empty() ? ExitCodeOf(status) : 1;
}

}  // namespace ringwatch::agent
