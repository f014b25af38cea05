#pragma once
// Whole-file reads for the small files ringwatch reads (config, secrets,
// traces, /proc entries). Thread-safe.

#include <optional>
#include <string>
#include <string_view>

namespace ringwatch::core {

// The file's bytes, or nullopt with the reason (strerror) in `error`.
std::optional<std::string> ReadFile(const std::string& path, std::string* error = nullptr);

// `text` without leading and trailing blanks (space, tab, CR, LF).
std::string_view Trim(std::string_view text);

}  // namespace ringwatch::core
