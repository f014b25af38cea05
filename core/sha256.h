#pragma once
// SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for the authentication
// tag of peer frames. Written here rather than linked from OpenSSL: libcrypto
// is the largest library an agent would otherwise map (about 1.4 MB resident
// for one function). Checked against the FIPS and RFC 4231 vectors. Pure;
// thread-safe.

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace ringwatch::core {

using Sha256Digest = std::array<uint8_t, 32>;

class Sha256 {
 public:
  Sha256();
  void Update(std::string_view data);
  Sha256Digest Finish();

 private:
  void Block(const uint8_t* p);
  uint32_t h_[8];
  uint8_t buffer_[64];
  std::size_t buffered_ = 0;
  uint64_t length_ = 0;  // bytes
};

Sha256Digest Sha256Of(std::string_view data);
Sha256Digest HmacSha256(std::string_view key, std::string_view data);

// Compares in time independent of where the inputs differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b);

}  // namespace ringwatch::core
