#include "agent/ring_service.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <nlohmann/json.hpp>

#include "core/file.h"
#include "core/log.h"
#include "membership/ring_members.h"

extern char** environ;

namespace ringwatch::agent {

namespace net = boost::asio;

std::string RingJson(const RingState& state) {
  using nlohmann::json;
  json members = json::array();
  const auto& ms = state.ring.members();
  for (std::size_t i = 0; i < ms.size(); ++i) {
    members.push_back({{"id", ms[i].id},
                       {"service", ms[i].service},
                       {"zone", ms[i].zone},
                       {"weight", ms[i].weight},
                       {"points", state.points[i]},
                       {"ownership", state.ownership[i]}});
  }
  json body = {{"version", state.version.value},
               {"hash", std::string(ring::ToString(state.ring.hash()))},
               {"points", state.ring.size()},
               {"replicas", state.replicas},
               {"members", std::move(members)}};
  return body.dump(-1, ' ', false, json::error_handler_t::replace);
}

RingService::RingService(net::io_context& ioc, Options options, exporters::RingMetrics& metrics)
    : ioc_(ioc), options_(std::move(options)), metrics_(metrics) {
  if (!options_.file.empty() || !options_.on_change.empty())
    worker_ = std::thread([this] { Work(); });
}

RingService::~RingService() {
  *alive_ = false;
  Stop();
}

void RingService::Attach(std::function<const membership::View&()> view,
                         std::function<void()> on_change) {
  view_ = std::move(view);
  on_change_ = std::move(on_change);
}

void RingService::Notify() {
  if (update_posted_ || !view_) return;
  if (current_ && current_->version == view_().ring_version()) return;
  update_posted_ = true;
  net::post(ioc_, [this, alive = alive_] {
    if (*alive) Update();
  });
}

void RingService::Update() {
  update_posted_ = false;
  if (!view_) return;
  const membership::View& view = view_();
  // Nothing applied yet (a new agent before it catches up): no ring rather
  // than an empty one that would tell applications nobody owns anything.
  if (view.version().value == 0) return;
  if (current_ && current_->version == view.ring_version()) return;

  auto next = std::make_shared<RingState>();
  next->version = view.ring_version();
  next->replicas = options_.replicas;
  next->ring = ring::Ring::Build(membership::RingMembers(view), options_.ring, &cache_);
  next->ownership = next->ring.Ownership();
  next->points.assign(next->ring.members().size(), 0);
  for (uint32_t owner : next->ring.point_owners())
    ++next->points[owner];
  next->from_version = current_ ? current_->version : core::ViewVersion{};
  next->moves = ring::ComputeMovePlan(current_ ? current_->ring : ring::Ring(), next->ring);
  next->json = RingJson(*next);

  std::vector<std::pair<std::string, double>> ownership;
  for (std::size_t i = 0; i < next->ring.members().size(); ++i)
    ownership.emplace_back(next->ring.members()[i].id, next->ownership[i]);
  metrics_.SetRing(next->version, next->moves.moved_ratio, ownership);

  log::Info("ring", "ring changed",
            {{"version", std::to_string(next->version.value)},
             {"from_version", std::to_string(next->from_version.value)},
             {"members", std::to_string(next->ring.members().size())},
             {"points", std::to_string(next->ring.size())},
             {"moved_ratio", std::to_string(next->moves.moved_ratio)}});
  current_ = next;
  if (worker_.joinable()) {
    std::lock_guard lock(mu_);
    pending_ = current_;
    cv_.notify_one();
  }
  if (on_change_) on_change_();
}

void RingService::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_one();
  if (worker_.joinable()) worker_.join();
}

void RingService::Work() {
  // A hook that exits without reading its stdin makes the write fail with
  // EPIPE; the SIGPIPE that comes with it must not end the agent, whatever
  // the process's disposition. Blocked here, and taken after each run.
  sigset_t pipe_signal;
  sigemptyset(&pipe_signal);
  sigaddset(&pipe_signal, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_signal, nullptr);
  const timespec no_wait{0, 0};
  for (;;) {
    std::shared_ptr<const RingState> next;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || pending_; });
      // The latest ring is still written when stopping: nothing is lost.
      if (!pending_) return;
      next = std::move(pending_);
      pending_.reset();
    }
    if (!options_.file.empty()) WriteFile(*next);
    if (!options_.on_change.empty()) RunHook(*next);
    while (sigtimedwait(&pipe_signal, nullptr, &no_wait) == SIGPIPE) {
    }
  }
}

void RingService::WriteFile(const RingState& state) {
  std::string error;
  if (core::WriteFileAtomically(options_.file, state.json + "\n", 0644, &error)) {
    metrics_.FileWrite(true);
    log::Debug("ring", "ring file written",
               {{"file", options_.file}, {"version", std::to_string(state.version.value)}});
  } else {
    metrics_.FileWrite(false);
    log::Error("ring", "cannot write the ring file", {{"file", options_.file}, {"error", error}});
  }
}

namespace {

// Writes what it can of `data` to the non-blocking `fd`; false once the
// reader is gone (the rest is dropped).
bool Feed(int fd, std::string_view* data) {
  while (!data->empty()) {
    ssize_t n = ::write(fd, data->data(), data->size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    data->remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

void RingService::RunHook(const RingState& state) {
  const std::string& command = options_.on_change;
  const std::string version = std::to_string(state.version.value);
  auto count = [this](const char* result) { metrics_.HookRun(result); };

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    count("error");
    log::Error("ring", "cannot run ring.on_change",
               {{"error", std::string("pipe: ") + std::strerror(errno)}});
    return;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[0], STDIN_FILENO);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Its own process group, so a timeout kills whatever it started; default
  // signal dispositions (SIGPIPE may be ignored by the embedding) and no
  // blocked signals (this thread blocks SIGPIPE).
  sigset_t defaults, none;
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  sigemptyset(&none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  std::vector<std::string> env_strings;
  for (char** e = environ; e && *e; ++e)
    env_strings.emplace_back(*e);
  env_strings.push_back("RINGWATCH_NODE_ID=" + options_.node_id);
  env_strings.push_back("RINGWATCH_RING_VERSION=" + version);
  env_strings.push_back("RINGWATCH_RING_FROM_VERSION=" + std::to_string(state.from_version.value));
  env_strings.push_back("RINGWATCH_RING_MOVED_RATIO=" + std::to_string(state.moves.moved_ratio));
  std::vector<char*> envp;
  for (auto& s : env_strings)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", dash_c = "-c", cmd = command;
  char* argv[] = {sh.data(), dash_c.data(), cmd.data(), nullptr};

  pid_t pid = -1;
  const int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(fds[0]);
  if (rc != 0) {
    ::close(fds[1]);
    count("error");
    log::Error("ring", "cannot run ring.on_change",
               {{"command", command}, {"error", std::string("spawn: ") + std::strerror(rc)}});
    return;
  }

  // Feed the JSON and wait for the exit, both bounded by the timeout; a
  // hook that does not read its stdin simply does not get it.
  ::fcntl(fds[1], F_SETFL, O_NONBLOCK);
  const std::string input = state.json + "\n";
  std::string_view rest = input;
  int write_fd = fds[1];
  const auto deadline = std::chrono::steady_clock::now() + options_.hook_timeout;
  int status = 0;
  bool exited = false;
  while (std::chrono::steady_clock::now() < deadline) {
    if (write_fd >= 0 && (!Feed(write_fd, &rest) || rest.empty())) {
      ::close(write_fd);
      write_fd = -1;
    }
    const pid_t w = ::waitpid(pid, &status, WNOHANG);
    if (w == pid || (w < 0 && errno != EINTR)) {
      exited = w == pid;
      break;
    }
    // Wake when the pipe has room again, or after 10 ms to look at the child.
    pollfd pfd{write_fd, POLLOUT, 0};
    ::poll(&pfd, write_fd >= 0 ? 1 : 0, 10);
  }
  if (write_fd >= 0) ::close(write_fd);
  if (!exited) {
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    count("timeout");
    log::Warn("ring", "ring.on_change killed after its timeout",
              {{"command", command},
               {"version", version},
               {"timeout_ms", std::to_string(options_.hook_timeout.count())}});
    return;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    count("ok");
    log::Info("ring", "ring.on_change ran", {{"version", version}, {"exit_status", "0"}});
    return;
  }
  count("failed");
  log::Warn("ring", "ring.on_change failed",
            {{"command", command},
             {"version", version},
             {WIFEXITED(status) ? "exit_status" : "signal",
              std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status))}});
}

}  // namespace ringwatch::agent
