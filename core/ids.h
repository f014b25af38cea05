#pragma once
// Identifiers every layer checks the same way: member ids, cluster names and
// zones are [A-Za-z0-9._-]{1,64}. Decoders of peer traffic and the config
// loader both call this, so a name the loader accepts is one the wire accepts.

#include <compare>
#include <cstdint>
#include <string>
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

// A member id, where it crosses a module boundary (the agent core's effects
// and requests), so an id cannot be mixed up with an address or a seed.
struct MemberId {
  std::string value;
  friend auto operator<=>(const MemberId&, const MemberId&) = default;
  friend bool operator==(const MemberId&, const MemberId&) = default;
};

// The version of the committed membership view (and the ring version, the
// view version of the latest change to the ring's members). Not a Raft
// index, not an event sequence number, not an HTTP blocking-query index.
struct ViewVersion {
  uint64_t value = 0;
  friend auto operator<=>(const ViewVersion&, const ViewVersion&) = default;
  friend bool operator==(const ViewVersion&, const ViewVersion&) = default;
};

}  // namespace ringwatch::core
