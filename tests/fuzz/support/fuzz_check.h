// Property checks inside fuzz targets. A violated property is a finding exactly like a crash:
// the message names the property, and abort() makes libFuzzer save the input (and makes the
// corpus replay test fail in the normal build). Also a bounds-checked reader for inputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace bptest {

[[noreturn]] inline void FuzzFailure(const char* file, int line, const char* condition,
                                     const std::string& detail) {
  std::fprintf(stderr, "%s:%d: property violated: %s%s%s\n", file, line, condition,
               detail.empty() ? "" : " — ", detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// Splits a fuzz input into the fields a target needs; reads past the end yield zeros, so every
// input, however short, maps to some scenario.
class InputCursor {
 public:
  InputCursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  uint8_t U8() { return pos_ < size_ ? data_[pos_++] : 0; }
  uint32_t BigEndian(size_t bytes) {
    uint32_t v = 0;
    for (size_t i = 0; i < bytes; ++i) v = (v << 8) | U8();
    return v;
  }
  size_t remaining() const { return size_ - pos_; }
  const uint8_t* here() const { return data_ + pos_; }
  void Skip(size_t n) { pos_ += n < remaining() ? n : remaining(); }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

}  // namespace bptest

#define FUZZ_CHECK(condition, detail)                                                  \
  do {                                                                                 \
    if (!(condition)) ::bptest::FuzzFailure(__FILE__, __LINE__, #condition, (detail)); \
  } while (0)
