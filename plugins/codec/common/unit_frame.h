// The frame the bundled compression codecs put around each unit, and the glue both share.
//
//   byte 0      magic: identifies the codec that wrote the unit ('L' lz4, 'Z' zstd)
//   byte 1      method: 0 = stored raw (the input did not compress), 1 = compressed
//   bytes 2..   decoded length, unsigned LEB128 (1..10 bytes, shortest form only)
//   rest        payload: the raw bytes, or the compressed stream
//
// The length lets decode allocate exactly once and check the decompressor produced precisely
// that many bytes; any disagreement (magic, method, non-canonical length, raw payload of the
// wrong size, implausible expansion) is BP_ERR_CORRUPT. Header-only so each codec plugin carries
// its own copy and shares no symbols with the other.
#pragma once

#include <blockpipe/bp_codec.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <new>
#include <string>

namespace codecframe {

inline constexpr uint8_t kMethodRaw = 0;
inline constexpr uint8_t kMethodCompressed = 1;
inline constexpr size_t kMaxHeaderSize = 2 + 10;

inline int Fail(int code, const std::string& message) {
  if (bp_host != nullptr && bp_host->set_error != nullptr) bp_host->set_error(message.c_str());
  return code;
}

// Run fn, converting any C++ exception into an error code: nothing may unwind into the host.
template <typename Fn>
int Guard(const char* codec, const char* operation, Fn&& fn) noexcept {
  try {
    return fn();
  } catch (const std::bad_alloc&) {
    return Fail(BP_ERR_PERMANENT, std::string(codec) + " " + operation + ": out of memory");
  } catch (const std::exception& e) {
    return Fail(BP_ERR_PERMANENT, std::string(codec) + " " + operation + ": " + e.what());
  } catch (...) {
    return Fail(BP_ERR_PERMANENT, std::string(codec) + " " + operation + ": unexpected error");
  }
}

// Write the header into dest (at least kMaxHeaderSize bytes); returns its size.
inline size_t WriteHeader(uint8_t* dest, uint8_t magic, uint8_t method, uint64_t decoded_length) {
  size_t n = 0;
  dest[n++] = magic;
  dest[n++] = method;
  do {
    uint8_t byte = decoded_length & 0x7f;
    decoded_length >>= 7;
    dest[n++] = static_cast<uint8_t>(byte | (decoded_length != 0 ? 0x80 : 0));
  } while (decoded_length != 0);
  return n;
}

struct Header {
  uint8_t method = 0;
  uint64_t decoded_length = 0;
  size_t size = 0;  // bytes of header consumed
};

// Parse and check the header. Returns BP_OK or BP_ERR_CORRUPT with a message naming `codec`.
inline int ReadHeader(const char* codec, uint8_t magic, const uint8_t* in, size_t in_len,
                      Header* out) {
  const std::string who = std::string(codec) + " decode: ";
  if (in_len < 3) {
    return Fail(BP_ERR_CORRUPT, who + "unit of " + std::to_string(in_len) + " bytes is too short");
  }
  if (in[0] != magic) {
    static const char kHex[] = "0123456789abcdef";
    std::string seen = {kHex[in[0] >> 4], kHex[in[0] & 15]};
    return Fail(BP_ERR_CORRUPT,
                who + "bad magic byte 0x" + seen + " (not a unit this codec wrote)");
  }
  if (in[1] != kMethodRaw && in[1] != kMethodCompressed) {
    return Fail(BP_ERR_CORRUPT, who + "unknown method " + std::to_string(in[1]));
  }
  uint64_t length = 0;
  size_t pos = 2;
  for (int shift = 0;; shift += 7) {
    if (pos >= in_len || shift > 63) return Fail(BP_ERR_CORRUPT, who + "truncated length field");
    uint8_t byte = in[pos++];
    if (shift == 63 && byte > 1) return Fail(BP_ERR_CORRUPT, who + "length overflows 64 bits");
    length |= static_cast<uint64_t>(byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) {
      // Shortest form only: a trailing zero group means a second encoding of the same number.
      if (byte == 0 && shift != 0) return Fail(BP_ERR_CORRUPT, who + "non-canonical length field");
      break;
    }
  }
  out->method = in[1];
  out->decoded_length = length;
  out->size = pos;
  if (out->method == kMethodRaw && in_len - pos != length) {
    return Fail(BP_ERR_CORRUPT, who + "stored unit says " + std::to_string(length) +
                                    " bytes but holds " + std::to_string(in_len - pos));
  }
  return BP_OK;
}

// Append a raw-stored unit (input that did not compress).
inline int AppendRaw(uint8_t magic, const void* in, size_t in_len, struct bp_buf* out) {
  auto* dest = static_cast<uint8_t*>(bp_host->buf_reserve(out, kMaxHeaderSize + in_len));
  if (dest == nullptr) return Fail(BP_ERR_PERMANENT, "out of memory for an encoded unit");
  size_t header = WriteHeader(dest, magic, kMethodRaw, in_len);
  if (in_len > 0) std::memcpy(dest + header, in, in_len);
  bp_host->buf_commit(out, header + in_len);
  return BP_OK;
}

// A codec that persists no header must refuse one: it was written by something else.
inline int CheckNoStoredHeader(const char* codec, size_t stored_len) {
  if (stored_len == 0) return BP_OK;
  return Fail(BP_ERR_INVALID, std::string(codec) + ": the volume records a " +
                                  std::to_string(stored_len) +
                                  "-byte header for this codec, but it never writes one");
}

}  // namespace codecframe
