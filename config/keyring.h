#pragma once
// The cluster keyring (cluster.secret_file), Serf's model: one base64 key per
// line, the first signs every frame this agent sends, every listed key
// verifies frames it receives — so a key is rotated in three steps without a
// moment where two members disagree (docs/security.md). Blank lines and
// lines starting with '#' are ignored. Keys decode to 16 to 64 bytes
// (`ringwatch keygen` makes 32). Pure; thread-safe.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace ringwatch::config {

inline constexpr std::size_t kMaxKeyringKeys = 16;
inline constexpr std::size_t kMinKeyBytes = 16;
inline constexpr std::size_t kMaxKeyBytes = 64;

// The raw (decoded) keys, the signing key first.
using Keyring = std::vector<std::string>;

// Error: what is wrong, naming the line ("line 2: not base64").
core::Result<Keyring, std::string> ParseKeyring(std::string_view text);

// A new random key, base64, for a keyring line.
std::string GenerateKey();

}  // namespace ringwatch::config
