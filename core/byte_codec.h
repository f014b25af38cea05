#pragma once
// Little-endian byte writer and bounds-checked reader for wire formats. The
// reader never reads past its input: every getter returns false (and keeps
// failing) once the input is exhausted or a length is inconsistent, so a
// decoder can read a whole message and check ok() once.
// Plain values; not thread-safe.

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace ringwatch::core {

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(static_cast<char>(v)); }
  void U16(uint16_t v) { Fixed(v); }
  void U32(uint32_t v) { Fixed(v); }
  void U64(uint64_t v) { Fixed(v); }
  void I64(int64_t v) { Fixed(static_cast<uint64_t>(v)); }
  void F32(float v) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    Fixed(bits);
  }
  void Bytes(std::string_view b) { out_.append(b); }
  // A string of at most 255 bytes, preceded by its length (callers check).
  void String8(std::string_view s) {
    U8(static_cast<uint8_t>(s.size()));
    out_.append(s.substr(0, 255));
  }
  // A blob of at most 65535 bytes, preceded by its length (callers check).
  void Blob16(std::string_view s) {
    U16(static_cast<uint16_t>(s.size()));
    out_.append(s.substr(0, 65535));
  }

  const std::string& data() const { return out_; }
  std::string Take() { return std::move(out_); }

 private:
  template <typename T>
  void Fixed(T v) {
    for (std::size_t i = 0; i < sizeof(T); ++i)
      out_.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  }
  std::string out_;
};

class ByteReader {
 public:
  explicit ByteReader(std::string_view in) : in_(in) {}

  bool U8(uint8_t* v) { return Fixed(v); }
  bool U16(uint16_t* v) { return Fixed(v); }
  bool U32(uint32_t* v) { return Fixed(v); }
  bool U64(uint64_t* v) { return Fixed(v); }
  bool I64(int64_t* v) {
    uint64_t u = 0;
    if (!Fixed(&u)) return false;
    *v = static_cast<int64_t>(u);
    return true;
  }
  bool F32(float* v) {
    uint32_t bits = 0;
    if (!Fixed(&bits)) return false;
    std::memcpy(v, &bits, sizeof bits);
    return true;
  }
  bool Bytes(std::size_t n, std::string_view* out) {
    if (!ok_ || in_.size() - pos_ < n) return ok_ = false;
    *out = in_.substr(pos_, n);
    pos_ += n;
    return true;
  }
  bool String8(std::string_view* out) {
    uint8_t n = 0;
    return U8(&n) && Bytes(n, out);
  }
  bool Blob16(std::string_view* out) {
    uint16_t n = 0;
    return U16(&n) && Bytes(n, out);
  }

  bool ok() const { return ok_; }
  std::size_t position() const { return pos_; }
  std::size_t remaining() const { return ok_ ? in_.size() - pos_ : 0; }

 private:
  template <typename T>
  bool Fixed(T* v) {
    if (!ok_ || in_.size() - pos_ < sizeof(T)) return ok_ = false;
    T out = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i) {
      out = static_cast<T>(out | (static_cast<T>(static_cast<uint8_t>(in_[pos_ + i])) << (8 * i)));
    }
    *v = out;
    pos_ += sizeof(T);
    return true;
  }

  std::string_view in_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace ringwatch::core
