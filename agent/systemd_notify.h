#pragma once
// sd_notify(3) messages for Type=notify units. No-ops when the agent is not
// started by systemd (NOTIFY_SOCKET unset). Thread-safe.

#include <chrono>
#include <string>

namespace ringwatch::agent {

void NotifyReady(const std::string& status);
// STATUS= alone: what `systemctl status` shows while starting.
void NotifyStatus(const std::string& status);
void NotifyStopping();
void NotifyWatchdog();

// The interval at which systemd expects WATCHDOG=1 (WatchdogSec=), or zero
// when the watchdog is off or the agent does not run under systemd.
std::chrono::microseconds WatchdogInterval();

}  // namespace ringwatch::agent
