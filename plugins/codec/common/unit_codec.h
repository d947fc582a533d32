// The encode and decode steps the bundled compression codecs share around their compressor: the
// unit frame of unit_frame.h, the "store raw unless it saves 1/8" rule (compress_probe.h), the
// plausibility
// checks that run before anything is allocated for a decode, and exact-length verification.
// A codec supplies only its compressor and decompressor as callables, so lz4 and zstd cannot
// drift apart in how they frame, size-check or fail. Header-only, like unit_frame.h: each plugin
// compiles its own copy and the plugins share no symbols.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "compress_probe.h"
#include "unit_frame.h"

namespace codecframe {

// The raw frame of a unit with the unit's bytes referenced where the host keeps them (host ABI
// 1.3 buf_append_input; a host that writes segments from its write buffer then copies nothing),
// or copied where the host is older. The same bytes AppendRaw writes.
inline int AppendRawInPlace(const char* codec, uint8_t magic, const void* in, size_t in_len,
                            struct bp_buf* out) {
  if (!BP_HOST_HAS(bp_host, buf_append_input)) return AppendRaw(magic, in, in_len, out);
  auto* header = static_cast<uint8_t*>(bp_host->buf_reserve(out, kMaxHeaderSize));
  if (header == nullptr)
    return Fail(BP_ERR_PERMANENT, std::string(codec) + " encode: out of memory");
  bp_host->buf_commit(out, WriteHeader(header, magic, kMethodRaw, in_len));
  if (bp_host->buf_append_input(out, in, in_len) != BP_OK) {
    return Fail(BP_ERR_PERMANENT, std::string(codec) + " encode: out of memory");
  }
  return BP_OK;
}

// What a compressor callback reports. `produced` is meaningful only for kCompressed.
enum class Squeeze { kCompressed, kDidNotShrink, kFailed };
struct SqueezeResult {
  Squeeze outcome = Squeeze::kFailed;
  size_t produced = 0;
};

// Encode in[0..in_len) as one unit appended to `out`.
//
// compress(const uint8_t* in, size_t in_len, uint8_t* dest, size_t capacity) -> SqueezeResult
// writes at most `capacity` (= in_len - MinSaving(in_len)) bytes; "did not fit" is how a
// compressor says the input does not shrink enough. On kFailed it has already set the error
// message. *compressed (optional) tells which frame method was written.
//
// The compressor writes into room reserved after the output; a unit that does not fit is
// appended raw instead (AppendRawInPlace), leaving that room uncommitted. Inputs shorter than 2
// bytes or longer than max_compressible skip the compressor altogether.
template <typename Compress>
int EncodeUnit(const char* codec, uint8_t magic, uint64_t max_compressible, const void* in,
               size_t in_len, struct bp_buf* out, Compress&& compress, bool* compressed = nullptr) {
  if (compressed != nullptr) *compressed = false;
  if (in_len < 2 || in_len > max_compressible)
    return AppendRawInPlace(codec, magic, in, in_len, out);
  const size_t capacity = in_len - MinSaving(in_len);
  auto* dest = static_cast<uint8_t*>(bp_host->buf_reserve(out, kMaxHeaderSize + capacity));
  if (dest == nullptr) return Fail(BP_ERR_PERMANENT, std::string(codec) + " encode: out of memory");
  const size_t header = WriteHeader(dest, magic, kMethodCompressed, in_len);
  const auto* src = static_cast<const uint8_t*>(in);
  const SqueezeResult result = compress(src, in_len, dest + header, capacity);
  switch (result.outcome) {
    case Squeeze::kCompressed:
      if (result.produced == 0 || result.produced > capacity) {
        return Fail(BP_ERR_PERMANENT, std::string(codec) + " encode: compressor reported " +
                                          std::to_string(result.produced) + " bytes for " +
                                          std::to_string(in_len));
      }
      bp_host->buf_commit(out, header + result.produced);
      if (compressed != nullptr) *compressed = true;
      return BP_OK;
    case Squeeze::kDidNotShrink: return AppendRawInPlace(codec, magic, in, in_len, out);
    case Squeeze::kFailed: break;
  }
  return BP_ERR_PERMANENT;
}

// Bounds a decoder applies to a compressed unit's claimed length before allocating for it.
struct DecodeLimits {
  uint64_t max_decoded = 0;    // largest unit the encoder ever compresses
  uint64_t max_expansion = 0;  // decoded bytes per compressed byte the format can reach
  uint64_t slack = 0;          // plus this much (tiny payloads)
};

// Decode one unit appended to `out`.
//
// check(const uint8_t* payload, size_t payload_len, uint64_t decoded_length) -> int runs before
// any allocation, for format-specific checks of the compressed payload (BP_OK to go on).
// decompress(const uint8_t* payload, size_t payload_len, uint8_t* dest, size_t decoded_length)
// -> int must fill dest with exactly decoded_length bytes or fail with BP_ERR_CORRUPT and a
// message. Raw units are copied after the frame's own length check.
template <typename Check, typename Decompress>
int DecodeUnit(const char* codec, uint8_t magic, const DecodeLimits& limits, const void* in,
               size_t in_len, struct bp_buf* out, Check&& check, Decompress&& decompress) {
  const auto* bytes = static_cast<const uint8_t*>(in);
  Header header;
  int rc = ReadHeader(codec, magic, bytes, in_len, &header);
  if (rc != BP_OK) return rc;
  const uint8_t* payload = bytes + header.size;
  const size_t payload_len = in_len - header.size;
  const std::string who = std::string(codec) + " decode: ";
  if (header.method == kMethodRaw) {
    if (payload_len > 0 && bp_host->buf_append(out, payload, payload_len) != BP_OK) {
      return Fail(BP_ERR_PERMANENT, who + "out of memory");
    }
    return BP_OK;
  }
  // The encoder never compresses fewer than 2 bytes; beyond that, a claim the format cannot
  // reach from this many compressed bytes is corruption, refused before allocating anything.
  if (header.decoded_length < 2 || header.decoded_length > limits.max_decoded ||
      header.decoded_length >
          static_cast<uint64_t>(payload_len) * limits.max_expansion + limits.slack) {
    return Fail(BP_ERR_CORRUPT, who + "implausible decoded length " +
                                    std::to_string(header.decoded_length) + " for " +
                                    std::to_string(payload_len) + " compressed bytes");
  }
  rc = check(payload, payload_len, header.decoded_length);
  if (rc != BP_OK) return rc;
  const size_t decoded_length = static_cast<size_t>(header.decoded_length);
  auto* dest = static_cast<uint8_t*>(bp_host->buf_reserve(out, decoded_length));
  if (dest == nullptr) return Fail(BP_ERR_PERMANENT, who + "out of memory");
  rc = decompress(payload, payload_len, dest, decoded_length);
  if (rc != BP_OK) return rc;
  bp_host->buf_commit(out, decoded_length);
  return BP_OK;
}

}  // namespace codecframe
