#pragma once
// Whole-file reads for the small files ringwatch reads (config, secrets,
// traces, /proc entries), and durable whole-file writes (Raft snapshots, the
// ring file). Thread-safe.

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace ringwatch::core {

// The file's bytes, or nullopt with the reason (strerror) in `error`.
std::optional<std::string> ReadFile(const std::string& path, std::string* error = nullptr);

// Writes all of `data` to `fd`, retrying short writes and EINTR.
bool WriteAll(int fd, std::string_view data);

// Replaces `path` with `data` so that readers see the old or the new file,
// never a mix, and the new one survives a crash once this returns: writes
// `path.tmp` (mode `mode`), fsyncs it, renames it over `path` and fsyncs the
// directory. False with the file, step and strerror in `error` on failure
// (the old file is then untouched).
bool WriteFileAtomically(const std::string& path, std::string_view data, mode_t mode,
                         std::string* error);

// `text` without leading and trailing blanks (space, tab, CR, LF).
std::string_view Trim(std::string_view text);

}  // namespace ringwatch::core
