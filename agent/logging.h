#pragma once
// Installs the process-wide log sink (stderr, which journald captures under
// systemd) and the line format chosen by `log.format`:
//   text: 2026-11-26T11:15:47.123Z info [http] listening address=127.0.0.1:7421
//   json: {"time":"2026-11-26T11:15:47.123Z","level":"info","component":"http",
//          "message":"listening","fields":{"address":"127.0.0.1:7421"}}
// Call once at start-up, before other threads log.

#include "config/config.h"

namespace ringwatch::agent {

void SetupLogging(const config::LogConfig& config);

}  // namespace ringwatch::agent
