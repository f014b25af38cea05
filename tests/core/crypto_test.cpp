#include "core/crypto.h"

#include <gtest/gtest.h>

#include <string>

namespace ringwatch::core {
namespace {

std::string Unhex(const std::string& h) {
  std::string out;
  for (std::size_t i = 0; i < h.size(); i += 2)
    out += static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  return out;
}

// RFC 4231 test cases 1, 2, 3, 4, 6 and 7 (full-length tags): the keyring's
// tag is standard HMAC-SHA256, whatever library computes it.
TEST(Crypto, HmacRfc4231Vectors) {
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  EXPECT_EQ(Hex(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(Hex(HmacSha256(std::string(20, '\xaa'), std::string(50, '\xdd'))),
            "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  EXPECT_EQ(Hex(HmacSha256(Unhex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                           std::string(50, '\xcd'))),
            "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  EXPECT_EQ(Hex(HmacSha256(std::string(131, '\xaa'),
                           "This is a test using a larger than block-size key and a larger "
                           "than block-size data. The key needs to be hashed before being "
                           "used by the HMAC algorithm.")),
            "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
  // In two pieces: the same tag as in one.
  EXPECT_EQ(HmacSha256("Jefe", "what do ya want ", "for nothing?"),
            HmacSha256("Jefe", "what do ya want for nothing?"));
}

TEST(Crypto, ConstantTimeEqual) {
  EXPECT_TRUE(ConstantTimeEqual("abc", "abc"));
  EXPECT_TRUE(ConstantTimeEqual("", ""));
  EXPECT_FALSE(ConstantTimeEqual("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEqual("abc", "ab"));
}

TEST(Crypto, Base64RoundTripsAndRefusesGarbage) {
  EXPECT_EQ(Base64Encode("any carnal pleas"), "YW55IGNhcm5hbCBwbGVhcw==");
  EXPECT_EQ(Base64Decode(" YW55IGNhcm5hbCBwbGVhcw==\n"), "any carnal pleas");
  const std::string random = RandomBytes(32);
  EXPECT_EQ(Base64Decode(Base64Encode(random)), random);
  EXPECT_EQ(Base64Decode("not base64!"), std::nullopt);
  EXPECT_EQ(Base64Decode("YW55 IGNh"), std::nullopt);
  EXPECT_NE(RandomBytes(32), RandomBytes(32));
}

// RFC 8032 section 7.1, test 2 (one-byte message).
TEST(Crypto, Ed25519Rfc8032Vector) {
  const std::string seed =
      Unhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb");
  const std::string pub = Unhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c");
  auto key = SigningKey::FromSecret(seed + pub);
  ASSERT_TRUE(key);
  EXPECT_EQ(key->public_key, pub);
  const std::string sig = key->Sign("\x72");
  EXPECT_EQ(Hex(sig),
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
            "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
  EXPECT_TRUE(VerifySignature(pub, "\x72", sig));
  EXPECT_FALSE(VerifySignature(pub, "\x73", sig));
}

TEST(Crypto, SignaturesBindKeyAndMessage) {
  const SigningKey a = SigningKey::Generate(), b = SigningKey::Generate();
  EXPECT_NE(a.public_key, b.public_key);
  const std::string sig = a.Sign("join node-a");
  EXPECT_TRUE(VerifySignature(a.public_key, "join node-a", sig));
  EXPECT_FALSE(VerifySignature(b.public_key, "join node-a", sig));
  EXPECT_FALSE(VerifySignature(a.public_key, "join node-b", sig));
  EXPECT_FALSE(VerifySignature(a.public_key, "join node-a", sig.substr(1)));
  EXPECT_FALSE(VerifySignature("short", "join node-a", sig));
  // A damaged secret key (its halves disagree) is refused.
  EXPECT_FALSE(SigningKey::FromSecret(a.secret_key.substr(0, 32) + b.public_key));
  EXPECT_FALSE(SigningKey::FromSecret("short"));
  EXPECT_EQ(SigningKey::FromSecret(a.secret_key)->public_key, a.public_key);
}

}  // namespace
}  // namespace ringwatch::core

namespace ringwatch::core {
namespace {

// Two members compute the same pair key, and nobody else does.
TEST(Crypto, PairKeysAgreeBetweenTheTwoAndOnlyThem) {
  const SigningKey a = SigningKey::Generate(), b = SigningKey::Generate(),
                   c = SigningKey::Generate();
  auto ab = PairKey(a, b.public_key), ba = PairKey(b, a.public_key);
  ASSERT_TRUE(ab && ba);
  EXPECT_EQ(*ab, *ba);
  EXPECT_EQ(ab->size(), 32u);
  EXPECT_NE(*PairKey(a, c.public_key), *ab);
  EXPECT_NE(*PairKey(c, b.public_key), *ab);
  EXPECT_FALSE(PairKey(a, "short"));
  EXPECT_FALSE(PairKey(a, std::string(32, '\0')));  // not a usable point
}

}  // namespace
}  // namespace ringwatch::core
