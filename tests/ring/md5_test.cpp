#include "ring/md5.h"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <random>

#include "tests/support/hex.h"

namespace ringwatch::ring {
namespace {

using testing::Hex;

// RFC 1321, appendix A.5.
TEST(Md5, RfcTestSuite) {
  EXPECT_EQ(Hex(Md5("")), "d41d8cd98f00b204e9800998ecf8427e");
  EXPECT_EQ(Hex(Md5("a")), "0cc175b9c0f1b6a831c399e269772661");
  EXPECT_EQ(Hex(Md5("abc")), "900150983cd24fb0d6963f7d28e17f72");
  EXPECT_EQ(Hex(Md5("message digest")), "f96b697d7cb7938d525a2f31aaf161d0");
  EXPECT_EQ(Hex(Md5("abcdefghijklmnopqrstuvwxyz")), "c3fcd3d76192e4007dfb496cca67e13b");
  EXPECT_EQ(Hex(Md5("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")),
            "d174ab98d277d9f5a5611c2c9f419d9f");
  EXPECT_EQ(
      Hex(Md5("12345678901234567890123456789012345678901234567890123456789012345678901234567890")),
      "57edf4a22be3c955ac49da2e2107b67a");
}

// Every length around the block and padding boundaries, against OpenSSL.
TEST(Md5, MatchesOpenSslForEveryLengthUpTo300) {
  std::mt19937 rng(1);
  for (std::size_t n = 0; n <= 300; ++n) {
    std::string data(n, '\0');
    for (auto& c : data)
      c = static_cast<char>(rng());
    std::array<uint8_t, 16> expected;
    unsigned int length = 0;
    EVP_Digest(data.data(), data.size(), expected.data(), &length, EVP_md5(), nullptr);
    EXPECT_EQ(Hex(Md5(data)), Hex(expected)) << n;
  }
}

}  // namespace
}  // namespace ringwatch::ring
