// VolumeMeta: the `meta` object of a volume — identity (uuid, name), geometry (size, block and
// unit size), creation time and the codec chain with each codec's persistent header. It is the
// one object not passed through the codec chain (it is what builds the chain), so it is stored
// plain with a checksum. Written once with put-if-absent at creation.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/object_format.h"
#include "pipeline/codec_chain.h"

namespace bp {

// Metadata extension tags (docs/format.md): the clone's bases (critical; snapshot_format.h,
// kMetaExtCloneBases) and the largest size the volume ever had (u64 bytes, not critical),
// which bounds the block numbers of its older segments and checkpoints after a shrink.
constexpr uint16_t kMetaExtCloneBasesTag = 1;
constexpr uint16_t kMetaExtMaxSize = 2;

struct VolumeMeta {
  Uuid uuid{};
  std::string name;
  uint64_t size = 0;  // bytes, a multiple of block_size
  uint32_t block_size = kBlockSize;
  uint32_t unit_size = 64u << 10;  // largest logical size of a unit in this volume's segments
  uint64_t created_unix_ms = 0;
  std::vector<CodecRecord> codecs;  // chain order
  std::vector<Extension> extensions;

  // The largest size the volume ever had (>= size): objects written before a shrink may name
  // blocks up to it, so replay validates block numbers against it.
  uint64_t max_size() const;
  // Record a new size, keeping max_size() the largest ever.
  void SetSize(uint64_t new_size);
};

// The whole object: header + body.
Bytes EncodeVolumeMetaObject(const VolumeMeta& meta);
// Parse and validate a whole meta object. Corrupt/Unsupported with a reason.
Status DecodeVolumeMetaObject(const uint8_t* p, size_t n, VolumeMeta* out);

}  // namespace bp
