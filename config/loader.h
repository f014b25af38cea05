#pragma once
// Loads ringwatch's YAML configuration into config::Config and validates it:
// unknown and duplicate keys, wrong types, bad durations, out-of-range values,
// invalid ids and addresses, missing required keys, and cross-key rules
// (e.g. detector.timeout > detector.heartbeat_interval). Every error carries
// file, line, column and key path; all errors of a file are reported at once,
// in document order. Relative paths in the file (data_dir, secret and TLS
// files, ring.file) are resolved against the directory of the config file.
// Pure apart from reading the file itself and checking that the referenced
// secret/TLS files are readable. Thread-safe (no shared state).

#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "config/config_error.h"
#include "core/result.h"

namespace ringwatch::config {

using LoadResult = core::Result<Config, std::vector<ConfigError>>;

// Reads and validates `path`.
LoadResult LoadConfigFile(const std::string& path);

// Validates `yaml` as if read from `file_name`; relative paths resolve against
// `base_dir` (empty: the current directory).
LoadResult LoadConfigString(std::string_view yaml, std::string_view file_name = "<string>",
                            std::string_view base_dir = "");

// True for [A-Za-z0-9._-]{1,64}: member ids, cluster names, zones.
bool IsValidId(std::string_view id);

// Parses "host:port" / "[v6]:port"; false with a reason when malformed.
bool ParseHostPort(std::string_view text, bool allow_port_zero, HostPort* out, std::string* why);

// Every leaf key path the loader accepts ("cluster.seeds", "http.tls.cert_file"), sorted.
std::vector<std::string> AllKeyPaths();

// A one-line summary of a valid config, printed by check-config.
std::string Summary(const Config& config);

}  // namespace ringwatch::config
