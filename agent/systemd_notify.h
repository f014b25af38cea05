#pragma once
// sd_notify(3) messages for Type=notify units. No-ops when the agent is not
// started by systemd (NOTIFY_SOCKET unset). Thread-safe.

#include <string>

namespace ringwatch::agent {

void NotifyReady(const std::string& status);
void NotifyStopping();

}  // namespace ringwatch::agent
