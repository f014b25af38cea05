#include "core/byte_codec.h"

#include <gtest/gtest.h>

namespace ringwatch::core {
namespace {

TEST(ByteCodec, RoundTripsEveryType) {
  ByteWriter w;
  w.U8(0xAB);
  w.U16(0xBEEF);
  w.U32(0xDEADBEEF);
  w.U64(0x0123456789ABCDEFull);
  w.I64(-42);
  w.F32(1.5f);
  w.String8("node-1");
  w.Blob16(std::string(300, 'x'));
  ByteReader r(w.data());
  uint8_t a;
  uint16_t b;
  uint32_t c;
  uint64_t d;
  int64_t e;
  float f;
  std::string_view s, blob;
  ASSERT_TRUE(r.U8(&a) && r.U16(&b) && r.U32(&c) && r.U64(&d) && r.I64(&e) && r.F32(&f) &&
              r.String8(&s) && r.Blob16(&blob));
  EXPECT_EQ(a, 0xAB);
  EXPECT_EQ(b, 0xBEEF);
  EXPECT_EQ(c, 0xDEADBEEFu);
  EXPECT_EQ(d, 0x0123456789ABCDEFull);
  EXPECT_EQ(e, -42);
  EXPECT_EQ(f, 1.5f);
  EXPECT_EQ(s, "node-1");
  EXPECT_EQ(blob, std::string(300, 'x'));
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ByteCodec, IsLittleEndian) {
  ByteWriter w;
  w.U32(0x01020304);
  EXPECT_EQ(w.data(), std::string("\x04\x03\x02\x01", 4));
}

TEST(ByteCodec, ReaderFailsAndStaysFailedPastTheEnd) {
  ByteReader r(
      std::string_view("\x05"
                       "abc",
                       4));  // claims 5 bytes, has 3
  std::string_view s;
  EXPECT_FALSE(r.String8(&s));
  EXPECT_FALSE(r.ok());
  uint8_t b;
  EXPECT_FALSE(r.U8(&b));  // sticky
  EXPECT_EQ(r.remaining(), 0u);
}

TEST(ByteCodec, EveryTruncationOfAMessageFails) {
  ByteWriter w;
  w.String8("abc");
  w.U64(7);
  const std::string full = w.data();
  for (std::size_t n = 0; n < full.size(); ++n) {
    ByteReader r(std::string_view(full).substr(0, n));
    std::string_view s;
    uint64_t v;
    EXPECT_FALSE(r.String8(&s) && r.U64(&v)) << n;
  }
}

}  // namespace
}  // namespace ringwatch::core
