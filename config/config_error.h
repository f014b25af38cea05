#pragma once
// A configuration error, located the way an editor wants it: file, 1-based
// line and column, and the key path (`detector.timeout`, `cluster.seeds[1]`).
// Plain value.

#include <string>

namespace ringwatch::config {

struct ConfigError {
  std::string file;  // as given to the loader ("<string>" for in-memory text)
  int line = 0;      // 1-based; 0 when the error has no position (unreadable file)
  int column = 0;    // 1-based
  std::string path;  // key path; empty for syntax errors and unreadable files
  std::string message;

  // "FILE:LINE:COLUMN: PATH: MESSAGE", the form printed by check-config.
  std::string ToString() const;
};

}  // namespace ringwatch::config
