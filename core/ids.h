#pragma once
// Identifiers every layer checks the same way: member ids, cluster names and
// zones are [A-Za-z0-9._-]{1,64}. Decoders of peer traffic and the config
// loader both call this, so a name the loader accepts is one the wire accepts.

#include <string_view>

namespace ringwatch::core {

constexpr std::size_t kMaxIdLength = 64;

constexpr bool IsValidId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace ringwatch::core
