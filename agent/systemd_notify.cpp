#include "agent/systemd_notify.h"

#include <systemd/sd-daemon.h>

namespace ringwatch::agent {

void NotifyReady(const std::string& status) {
  const std::string message = "READY=1\nSTATUS=" + status;
  sd_notify(0, message.c_str());
}

void NotifyStopping() {
  sd_notify(0, "STOPPING=1");
}

void NotifyWatchdog() {
  sd_notify(0, "WATCHDOG=1");
}

std::chrono::microseconds WatchdogInterval() {
  uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0) return std::chrono::microseconds(0);
  return std::chrono::microseconds(usec);
}

}  // namespace ringwatch::agent
