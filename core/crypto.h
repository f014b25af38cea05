#pragma once
// The cryptography ringwatch uses, all from libsodium (never our own code):
// HMAC-SHA256 for the keyring's frame tags, Ed25519 for members' identities,
// constant-time comparison, random bytes and base64. Pure functions (plus
// the system's random source); thread-safe — libsodium is initialised once,
// before main, by this library.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ringwatch::core {

inline constexpr std::size_t kHmacSize = 32;
inline constexpr std::size_t kPublicKeySize = 32;  // Ed25519
inline constexpr std::size_t kSignatureSize = 64;  // Ed25519, detached
inline constexpr std::size_t kSecretKeySize = 64;  // Ed25519 (seed + public key)

// HMAC-SHA256 of `data` under `key` (any length), 32 raw bytes.
std::string HmacSha256(std::string_view key, std::string_view data);
// Same, over the concatenation of `a` and `b` (no copy).
std::string HmacSha256(std::string_view key, std::string_view a, std::string_view b);

// Equal, compared in time independent of where the inputs differ (the
// lengths are not secret).
bool ConstantTimeEqual(std::string_view a, std::string_view b);

std::string RandomBytes(std::size_t n);

// Standard base64 with padding; decoding ignores surrounding whitespace and
// refuses anything else that is not base64.
std::string Base64Encode(std::string_view bytes);
std::optional<std::string> Base64Decode(std::string_view text);

// A member's signing identity: an Ed25519 key pair. The public key is 32 raw
// bytes, the secret key 64.
struct SigningKey {
  std::string public_key;
  std::string secret_key;
  static SigningKey Generate();
  // From the 64-byte secret key (which embeds the public key); nullopt when
  // it is not one.
  static std::optional<SigningKey> FromSecret(std::string_view secret_key);
  std::string Sign(std::string_view message) const;  // 64 bytes
};

bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature);

// A key only `mine` and the holder of `their_public` can compute: X25519 of
// the two Ed25519 keys (converted to Curve25519), hashed (BLAKE2b) with both
// public keys in a fixed order — the same from either side. nullopt when
// `their_public` is not a usable key. About 40 us: cache it.
std::optional<std::string> PairKey(const SigningKey& mine, std::string_view their_public);

// Lower-case hex of raw bytes (fingerprints in logs and the status API).
std::string Hex(std::string_view bytes);

}  // namespace ringwatch::core
