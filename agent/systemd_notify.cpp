#include "agent/systemd_notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

// The sd_notify protocol spoken directly (it is one datagram on a unix
// socket named by $NOTIFY_SOCKET; see sd_notify(3) "Notes"): linking
// libsystemd for it would map that library and its compression and crypto
// dependencies into every agent — about a megabyte of resident memory.

namespace ringwatch::agent {
namespace {

void Send(const std::string& message) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::size_t length = std::strlen(path);
  if (length >= sizeof addr.sun_path || (path[0] != '/' && path[0] != '@')) return;
  std::memcpy(addr.sun_path, path, length);
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  const socklen_t size = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + length);
  (void)::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), size);
  ::close(fd);
}

}  // namespace

void NotifyReady(const std::string& status) {
  Send("READY=1\nSTATUS=" + status);
}

void NotifyStatus(const std::string& status) {
  Send("STATUS=" + status);
}

void NotifyStopping() {
  Send("STOPPING=1");
}

void NotifyWatchdog() {
  Send("WATCHDOG=1");
}

std::chrono::microseconds WatchdogInterval() {
  // sd_watchdog_enabled(3): WATCHDOG_USEC, for this process when WATCHDOG_PID says so.
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr) return std::chrono::microseconds(0);
  if (const char* pid = std::getenv("WATCHDOG_PID"); pid != nullptr && pid[0] != '\0') {
    char* end = nullptr;
    const long owner = std::strtol(pid, &end, 10);
    if (*end != '\0' || owner != static_cast<long>(::getpid())) return std::chrono::microseconds(0);
  }
  char* end = nullptr;
  const unsigned long long value = std::strtoull(usec, &end, 10);
  if (end == usec || *end != '\0') return std::chrono::microseconds(0);
  return std::chrono::microseconds(static_cast<int64_t>(value));
}

}  // namespace ringwatch::agent
