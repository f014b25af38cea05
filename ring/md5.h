#pragma once
// MD5 (RFC 1321), for ketama-compatible ring points and key hashes only —
// not for anything that needs a cryptographic hash. Written here rather than
// taken from OpenSSL because the EVP interface costs ~200 ns per short
// message (context set-up), several times the digest itself, and a ring of
// 1000 members needs 40,000 digests per rebuild. Pure; thread-safe.

#include <array>
#include <cstdint>
#include <string_view>

namespace ringwatch::ring {

std::array<uint8_t, 16> Md5(std::string_view data);

}  // namespace ringwatch::ring
