#pragma once
// Installs the process-wide log sink (stderr, which journald captures under
// systemd) and the line format chosen by `log.format`:
//   text: 2026-11-26T11:15:47.123Z info [http] listening address=127.0.0.1:7421
//   json: {"time":"2026-11-26T11:15:47.123Z","level":"info","component":"http",
//          "message":"listening","fields":{"address":"127.0.0.1:7421"}}
// When stderr is the journal (systemd sets JOURNAL_STREAM to its device and
// inode), every line starts with its syslog priority, "<4>" for a warning
// (sd-daemon(3)), so `journalctl -p warning` finds warnings and errors.
// Call once at start-up, before other threads log.

#include <optional>
#include <string>

#include "config/config.h"

namespace ringwatch::agent {

void SetupLogging(const config::LogConfig& config);

// True when JOURNAL_STREAM ("DEV:INODE") names the file open on `fd`.
bool StreamIsJournal(const char* journal_stream, int fd);

// The sd-daemon priority prefix for a log level: trace and debug "<7>", info
// "<6>", warn "<4>", error "<3>", critical "<2>".
const char* JournalPrefix(int spdlog_level);

}  // namespace ringwatch::agent
