// Volume metadata object encoding.
#include "engine/volume_meta.h"

#include <algorithm>

#include <blockpipe/bp_codec.h>

#include "engine/byte_io.h"
#include "util/crc32c.h"

namespace bp {
namespace {
constexpr size_t kMaxName = 255;
constexpr size_t kMaxCodecHeader = BP_CODEC_HEADER_MAX_SIZE;
constexpr uint32_t kMaxCodecs = 16;
}  // namespace

Bytes EncodeVolumeMetaObject(const VolumeMeta& meta) {
  Bytes body;
  ByteWriter w(&body);
  w.Str(meta.name);
  w.U64(meta.size);
  w.U32(meta.block_size);
  w.U32(meta.unit_size);
  w.U64(meta.created_unix_ms);
  w.U32(static_cast<uint32_t>(meta.codecs.size()));
  for (const auto& c : meta.codecs) {
    w.Str(c.name);
    w.Blob(c.header);
  }
  WriteExtensions(w, meta.extensions);
  return EncodePlainObject(ObjectType::kVolumeMeta, meta.uuid, body);
}

Status DecodeVolumeMetaObject(const uint8_t* p, size_t n, VolumeMeta* out) {
  ObjectHeader h;
  BP_RETURN_IF_ERROR(DecodeObjectHeader(p, n, ObjectType::kVolumeMeta, &h));
  if (h.object_length() != n || h.data_length != 0 || h.body_logical_length != h.body_length) {
    return Status::Corrupt("volume metadata has inconsistent lengths");
  }
  const uint8_t* body = p + kObjectHeaderLength;
  if (Crc32c(body, h.body_length) != h.body_crc) {
    return Status::Corrupt("volume metadata checksum mismatch");
  }
  VolumeMeta m;
  m.uuid = h.uuid;
  ByteReader r(body, h.body_length);
  r.Str(&m.name, kMaxName);
  m.size = r.U64();
  m.block_size = r.U32();
  m.unit_size = r.U32();
  m.created_unix_ms = r.U64();
  uint32_t codec_count = r.U32();
  if (!r.ok() || codec_count > kMaxCodecs) return Status::Corrupt("volume metadata is truncated");
  for (uint32_t i = 0; i < codec_count; ++i) {
    CodecRecord c;
    if (!r.Str(&c.name, kMaxName) || !r.Blob(&c.header, kMaxCodecHeader)) {
      return Status::Corrupt("volume metadata codec list is truncated");
    }
    m.codecs.push_back(std::move(c));
  }
  // Clone bases are critical (a reader that ignored them would read a clone without its base);
  // snapshot_format.h interprets them.
  BP_RETURN_IF_ERROR(ReadExtensions(r, &m.extensions, {kMetaExtCloneBasesTag}));
  if (!r.ok()) return Status::Corrupt("volume metadata is truncated");
  if (m.block_size != kBlockSize) {
    return Status::Unsupported("block size " + std::to_string(m.block_size) +
                               " is not supported (only 4096)");
  }
  if (m.unit_size < kBlockSize || m.unit_size % kBlockSize != 0 || m.unit_size > (16u << 20)) {
    return Status::Corrupt("invalid unit size " + std::to_string(m.unit_size));
  }
  if (m.size == 0 || m.size % kBlockSize != 0) {
    return Status::Corrupt("invalid volume size " + std::to_string(m.size));
  }
  *out = std::move(m);
  return Status::Ok();
}

uint64_t VolumeMeta::max_size() const {
  uint64_t largest = size;
  for (const Extension& e : extensions) {
    if (e.tag != kMetaExtMaxSize) continue;
    ByteReader r(e.value.data(), e.value.size());
    const uint64_t v = r.U64();
    if (r.ok()) largest = std::max(largest, v);
  }
  return largest;
}

void VolumeMeta::SetSize(uint64_t new_size) {
  const uint64_t largest = std::max(max_size(), new_size);
  extensions.erase(std::remove_if(extensions.begin(), extensions.end(),
                                  [](const Extension& e) { return e.tag == kMetaExtMaxSize; }),
                   extensions.end());
  if (largest > new_size) {
    Extension e;
    e.tag = kMetaExtMaxSize;
    ByteWriter w(&e.value);
    w.U64(largest);
    extensions.push_back(std::move(e));
  }
  size = new_size;
}

}  // namespace bp
