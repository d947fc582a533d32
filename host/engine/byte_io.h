// Little-endian serialization helpers for the on-object format. Every stored structure is
// written field by field through ByteWriter and read back through ByteReader, never by copying
// structs, so the format does not depend on the compiler's layout or the host's endianness.
// A ByteReader never reads past its input: an overrun sets a sticky failure flag and returns
// zeros, and callers check ok() once at the end.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "pipeline/object_store.h"

namespace bp {

class ByteWriter {
 public:
  explicit ByteWriter(Bytes* out) : out_(out) {}

  void U8(uint8_t v) { out_->push_back(v); }
  void U16(uint16_t v) { Le(v, 2); }
  void U32(uint32_t v) { Le(v, 4); }
  void U64(uint64_t v) { Le(v, 8); }
  void Raw(const void* p, size_t n) {
    const uint8_t* b = static_cast<const uint8_t*>(p);
    out_->insert(out_->end(), b, b + n);
  }
  // u32 length then the bytes.
  void Str(const std::string& s) {
    U32(static_cast<uint32_t>(s.size()));
    Raw(s.data(), s.size());
  }
  void Blob(const Bytes& b) {
    U32(static_cast<uint32_t>(b.size()));
    Raw(b.data(), b.size());
  }
  size_t size() const { return out_->size(); }
  // Overwrite a u32 written earlier (lengths known only later).
  void PatchU32(size_t pos, uint32_t v) {
    for (int i = 0; i < 4; ++i) (*out_)[pos + i] = static_cast<uint8_t>(v >> (8 * i));
  }

 private:
  void Le(uint64_t v, int n) {
    for (int i = 0; i < n; ++i) out_->push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
  Bytes* out_;
};

class ByteReader {
 public:
  ByteReader(const uint8_t* p, size_t n) : p_(p), n_(n) {}

  uint8_t U8() { return static_cast<uint8_t>(Le(1)); }
  uint16_t U16() { return static_cast<uint16_t>(Le(2)); }
  uint32_t U32() { return static_cast<uint32_t>(Le(4)); }
  uint64_t U64() { return Le(8); }
  bool Raw(void* dst, size_t n) {
    if (!Need(n)) return false;
    std::memcpy(dst, p_ + pos_, n);
    pos_ += n;
    return true;
  }
  // Returns a pointer to the next n bytes and skips them, or nullptr on overrun.
  const uint8_t* Skip(size_t n) {
    if (!Need(n)) return nullptr;
    const uint8_t* at = p_ + pos_;
    pos_ += n;
    return at;
  }
  bool Str(std::string* s, size_t max_len) {
    uint32_t len = U32();
    if (len > max_len) ok_ = false;
    const uint8_t* at = ok_ ? Skip(len) : nullptr;
    if (!at) return false;
    s->assign(reinterpret_cast<const char*>(at), len);
    return true;
  }
  bool Blob(Bytes* b, size_t max_len) {
    uint32_t len = U32();
    if (len > max_len) ok_ = false;
    const uint8_t* at = ok_ ? Skip(len) : nullptr;
    if (!at) return false;
    b->assign(at, at + len);
    return true;
  }
  size_t remaining() const { return n_ - pos_; }
  size_t position() const { return pos_; }
  bool ok() const { return ok_; }
  void Fail() { ok_ = false; }

 private:
  bool Need(size_t n) {
    if (!ok_ || n > n_ - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  uint64_t Le(int n) {
    if (!Need(static_cast<size_t>(n))) return 0;
    uint64_t v = 0;
    for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p_[pos_ + i]) << (8 * i);
    pos_ += n;
    return v;
  }
  const uint8_t* p_;
  size_t n_;
  size_t pos_ = 0;
  bool ok_ = true;
};

}  // namespace bp
