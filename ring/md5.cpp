#include "ring/md5.h"

#include <cstring>

namespace ringwatch::ring {
namespace {

inline uint32_t Rotl(uint32_t x, int c) {
  return (x << c) | (x >> (32 - c));
}

// The four rounds of RFC 1321, unrolled (the step macros of the reference
// implementation, as inline functions).
inline void Ff(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t x, int s, uint32_t t) {
  a = b + Rotl(a + (d ^ (b & (c ^ d))) + x + t, s);
}
inline void Gg(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t x, int s, uint32_t t) {
  a = b + Rotl(a + (c ^ (d & (b ^ c))) + x + t, s);
}
inline void Hh(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t x, int s, uint32_t t) {
  a = b + Rotl(a + (b ^ c ^ d) + x + t, s);
}
inline void Ii(uint32_t& a, uint32_t b, uint32_t c, uint32_t d, uint32_t x, int s, uint32_t t) {
  a = b + Rotl(a + (c ^ (b | ~d)) + x + t, s);
}

void Block(uint32_t state[4], const uint8_t* block) {
  uint32_t m[16];
  for (int i = 0; i < 16; ++i) {
    m[i] = static_cast<uint32_t>(block[i * 4]) | static_cast<uint32_t>(block[i * 4 + 1]) << 8 |
           static_cast<uint32_t>(block[i * 4 + 2]) << 16 |
           static_cast<uint32_t>(block[i * 4 + 3]) << 24;
  }
  uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
  Ff(a, b, c, d, m[0], 7, 0xd76aa478);
  Ff(d, a, b, c, m[1], 12, 0xe8c7b756);
  Ff(c, d, a, b, m[2], 17, 0x242070db);
  Ff(b, c, d, a, m[3], 22, 0xc1bdceee);
  Ff(a, b, c, d, m[4], 7, 0xf57c0faf);
  Ff(d, a, b, c, m[5], 12, 0x4787c62a);
  Ff(c, d, a, b, m[6], 17, 0xa8304613);
  Ff(b, c, d, a, m[7], 22, 0xfd469501);
  Ff(a, b, c, d, m[8], 7, 0x698098d8);
  Ff(d, a, b, c, m[9], 12, 0x8b44f7af);
  Ff(c, d, a, b, m[10], 17, 0xffff5bb1);
  Ff(b, c, d, a, m[11], 22, 0x895cd7be);
  Ff(a, b, c, d, m[12], 7, 0x6b901122);
  Ff(d, a, b, c, m[13], 12, 0xfd987193);
  Ff(c, d, a, b, m[14], 17, 0xa679438e);
  Ff(b, c, d, a, m[15], 22, 0x49b40821);
  Gg(a, b, c, d, m[1], 5, 0xf61e2562);
  Gg(d, a, b, c, m[6], 9, 0xc040b340);
  Gg(c, d, a, b, m[11], 14, 0x265e5a51);
  Gg(b, c, d, a, m[0], 20, 0xe9b6c7aa);
  Gg(a, b, c, d, m[5], 5, 0xd62f105d);
  Gg(d, a, b, c, m[10], 9, 0x02441453);
  Gg(c, d, a, b, m[15], 14, 0xd8a1e681);
  Gg(b, c, d, a, m[4], 20, 0xe7d3fbc8);
  Gg(a, b, c, d, m[9], 5, 0x21e1cde6);
  Gg(d, a, b, c, m[14], 9, 0xc33707d6);
  Gg(c, d, a, b, m[3], 14, 0xf4d50d87);
  Gg(b, c, d, a, m[8], 20, 0x455a14ed);
  Gg(a, b, c, d, m[13], 5, 0xa9e3e905);
  Gg(d, a, b, c, m[2], 9, 0xfcefa3f8);
  Gg(c, d, a, b, m[7], 14, 0x676f02d9);
  Gg(b, c, d, a, m[12], 20, 0x8d2a4c8a);
  Hh(a, b, c, d, m[5], 4, 0xfffa3942);
  Hh(d, a, b, c, m[8], 11, 0x8771f681);
  Hh(c, d, a, b, m[11], 16, 0x6d9d6122);
  Hh(b, c, d, a, m[14], 23, 0xfde5380c);
  Hh(a, b, c, d, m[1], 4, 0xa4beea44);
  Hh(d, a, b, c, m[4], 11, 0x4bdecfa9);
  Hh(c, d, a, b, m[7], 16, 0xf6bb4b60);
  Hh(b, c, d, a, m[10], 23, 0xbebfbc70);
  Hh(a, b, c, d, m[13], 4, 0x289b7ec6);
  Hh(d, a, b, c, m[0], 11, 0xeaa127fa);
  Hh(c, d, a, b, m[3], 16, 0xd4ef3085);
  Hh(b, c, d, a, m[6], 23, 0x04881d05);
  Hh(a, b, c, d, m[9], 4, 0xd9d4d039);
  Hh(d, a, b, c, m[12], 11, 0xe6db99e5);
  Hh(c, d, a, b, m[15], 16, 0x1fa27cf8);
  Hh(b, c, d, a, m[2], 23, 0xc4ac5665);
  Ii(a, b, c, d, m[0], 6, 0xf4292244);
  Ii(d, a, b, c, m[7], 10, 0x432aff97);
  Ii(c, d, a, b, m[14], 15, 0xab9423a7);
  Ii(b, c, d, a, m[5], 21, 0xfc93a039);
  Ii(a, b, c, d, m[12], 6, 0x655b59c3);
  Ii(d, a, b, c, m[3], 10, 0x8f0ccc92);
  Ii(c, d, a, b, m[10], 15, 0xffeff47d);
  Ii(b, c, d, a, m[1], 21, 0x85845dd1);
  Ii(a, b, c, d, m[8], 6, 0x6fa87e4f);
  Ii(d, a, b, c, m[15], 10, 0xfe2ce6e0);
  Ii(c, d, a, b, m[6], 15, 0xa3014314);
  Ii(b, c, d, a, m[13], 21, 0x4e0811a1);
  Ii(a, b, c, d, m[4], 6, 0xf7537e82);
  Ii(d, a, b, c, m[11], 10, 0xbd3af235);
  Ii(c, d, a, b, m[2], 15, 0x2ad7d2bb);
  Ii(b, c, d, a, m[9], 21, 0xeb86d391);
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
}

}  // namespace

std::array<uint8_t, 16> Md5(std::string_view data) {
  uint32_t state[4] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476};
  const auto* p = reinterpret_cast<const uint8_t*>(data.data());
  std::size_t left = data.size();
  while (left >= 64) {
    Block(state, p);
    p += 64;
    left -= 64;
  }
  // Padding: 0x80, zeros, then the length in bits (little-endian), in one
  // or two final blocks.
  uint8_t tail[128] = {};
  std::memcpy(tail, p, left);
  tail[left] = 0x80;
  const std::size_t tail_size = left < 56 ? 64 : 128;
  const uint64_t bits = static_cast<uint64_t>(data.size()) * 8;
  for (int i = 0; i < 8; ++i)
    tail[tail_size - 8 + i] = static_cast<uint8_t>(bits >> (8 * i));
  Block(state, tail);
  if (tail_size == 128) Block(state, tail + 64);
  std::array<uint8_t, 16> out;
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j)
      out[i * 4 + j] = static_cast<uint8_t>(state[i] >> (8 * j));
  }
  return out;
}

}  // namespace ringwatch::ring
