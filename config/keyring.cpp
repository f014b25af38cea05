#include "config/keyring.h"

#include "core/crypto.h"

namespace ringwatch::config {

core::Result<Keyring, std::string> ParseKeyring(std::string_view text) {
  Keyring keys;
  std::size_t line_number = 0;
  while (!text.empty()) {
    ++line_number;
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? std::string_view() : text.substr(end + 1);
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t'))
      line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    const std::string where = "line " + std::to_string(line_number) + ": ";
    auto key = core::Base64Decode(line);
    if (!key) return core::MakeError(where + "not a base64 key (make one with `ringwatch keygen`)");
    if (key->size() < kMinKeyBytes || key->size() > kMaxKeyBytes) {
      return core::MakeError(where + "a key must decode to " + std::to_string(kMinKeyBytes) +
                             " to " + std::to_string(kMaxKeyBytes) + " bytes, this one has " +
                             std::to_string(key->size()));
    }
    for (const auto& k : keys) {
      if (k == *key) return core::MakeError(where + "the same key is listed twice");
    }
    if (keys.size() == kMaxKeyringKeys) {
      return core::MakeError(where + "more than " + std::to_string(kMaxKeyringKeys) + " keys");
    }
    keys.push_back(std::move(*key));
  }
  if (keys.empty()) return core::MakeError(std::string("no key in the file"));
  return keys;
}

std::string GenerateKey() {
  return core::Base64Encode(core::RandomBytes(32));
}

}  // namespace ringwatch::config
