#pragma once
// Lower-case hex of a digest, for comparing hashes with published vectors.

#include <cstdint>
#include <string>

namespace ringwatch::testing {

template <typename Bytes>
std::string Hex(const Bytes& bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

}  // namespace ringwatch::testing
