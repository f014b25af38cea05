#include "core/crypto.h"

#include <sodium.h>

#include <cctype>
#include <cstdlib>

namespace ringwatch::core {
namespace {

// sodium_init() before anything else runs; it fails only when the system has
// no random source, and then nothing here may be used.
const bool kSodiumReady = [] {
  if (sodium_init() < 0) std::abort();
  return true;
}();

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

}  // namespace

std::string HmacSha256(std::string_view key, std::string_view data) {
  return HmacSha256(key, data, {});
}

std::string HmacSha256(std::string_view key, std::string_view a, std::string_view b) {
  (void)kSodiumReady;
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, Bytes(key), key.size());
  crypto_auth_hmacsha256_update(&state, Bytes(a), a.size());
  crypto_auth_hmacsha256_update(&state, Bytes(b), b.size());
  std::string out(crypto_auth_hmacsha256_BYTES, '\0');
  crypto_auth_hmacsha256_final(&state, reinterpret_cast<unsigned char*>(out.data()));
  sodium_memzero(&state, sizeof state);
  return out;
}

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string RandomBytes(std::size_t n) {
  std::string out(n, '\0');
  randombytes_buf(out.data(), n);
  return out;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out(sodium_base64_ENCODED_LEN(bytes.size(), sodium_base64_VARIANT_ORIGINAL), '\0');
  sodium_bin2base64(out.data(), out.size(), Bytes(bytes), bytes.size(),
                    sodium_base64_VARIANT_ORIGINAL);
  out.resize(out.size() - 1);  // the terminating NUL
  return out;
}

std::optional<std::string> Base64Decode(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  std::string out(text.size(), '\0');
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &length, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
      end != text.data() + text.size()) {
    return std::nullopt;
  }
  out.resize(length);
  return out;
}

SigningKey SigningKey::Generate() {
  SigningKey k;
  k.public_key.assign(crypto_sign_PUBLICKEYBYTES, '\0');
  k.secret_key.assign(crypto_sign_SECRETKEYBYTES, '\0');
  crypto_sign_keypair(reinterpret_cast<unsigned char*>(k.public_key.data()),
                      reinterpret_cast<unsigned char*>(k.secret_key.data()));
  return k;
}

std::optional<SigningKey> SigningKey::FromSecret(std::string_view secret_key) {
  if (secret_key.size() != crypto_sign_SECRETKEYBYTES) return std::nullopt;
  SigningKey k;
  k.secret_key = std::string(secret_key);
  k.public_key.assign(crypto_sign_PUBLICKEYBYTES, '\0');
  crypto_sign_ed25519_sk_to_pk(reinterpret_cast<unsigned char*>(k.public_key.data()),
                               Bytes(k.secret_key));
  // The secret key embeds a public key; a file whose halves disagree is damaged.
  const std::string probe = k.Sign("ringwatch");
  if (!VerifySignature(k.public_key, "ringwatch", probe)) return std::nullopt;
  return k;
}

std::string SigningKey::Sign(std::string_view message) const {
  std::string sig(crypto_sign_BYTES, '\0');
  crypto_sign_detached(reinterpret_cast<unsigned char*>(sig.data()), nullptr, Bytes(message),
                       message.size(), Bytes(secret_key));
  return sig;
}

bool VerifySignature(std::string_view public_key, std::string_view message,
                     std::string_view signature) {
  if (public_key.size() != crypto_sign_PUBLICKEYBYTES || signature.size() != crypto_sign_BYTES)
    return false;
  return crypto_sign_verify_detached(Bytes(signature), Bytes(message), message.size(),
                                     Bytes(public_key)) == 0;
}

std::optional<std::string> PairKey(const SigningKey& mine, std::string_view their_public) {
  if (their_public.size() != crypto_sign_PUBLICKEYBYTES ||
      mine.secret_key.size() != crypto_sign_SECRETKEYBYTES)
    return std::nullopt;
  unsigned char x_secret[crypto_scalarmult_BYTES], x_public[crypto_scalarmult_BYTES];
  unsigned char shared[crypto_scalarmult_BYTES];
  if (crypto_sign_ed25519_pk_to_curve25519(x_public, Bytes(their_public)) != 0) return std::nullopt;
  crypto_sign_ed25519_sk_to_curve25519(x_secret, Bytes(mine.secret_key));
  const int rc = crypto_scalarmult(shared, x_secret, x_public);
  sodium_memzero(x_secret, sizeof x_secret);
  if (rc != 0) return std::nullopt;  // a low-order point: no shared secret
  const bool mine_first = std::string_view(mine.public_key) < their_public;
  const std::string_view first = mine_first ? std::string_view(mine.public_key) : their_public;
  const std::string_view second = mine_first ? their_public : std::string_view(mine.public_key);
  std::string key(crypto_generichash_BYTES, '\0');
  crypto_generichash_state state;
  crypto_generichash_init(&state, nullptr, 0, key.size());
  crypto_generichash_update(&state, shared, sizeof shared);
  crypto_generichash_update(&state, Bytes(first), first.size());
  crypto_generichash_update(&state, Bytes(second), second.size());
  crypto_generichash_final(&state, reinterpret_cast<unsigned char*>(key.data()), key.size());
  sodium_memzero(shared, sizeof shared);
  return key;
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

}  // namespace ringwatch::core
