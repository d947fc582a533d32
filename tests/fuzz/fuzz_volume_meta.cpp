// Fuzz target: the volume metadata object, the first thing read when a volume is opened and the
// one object stored without the codec chain. The first input byte selects checksum repair
// (object_fixups.h); the rest is the object. DecodeVolumeMetaObject must refuse with Corrupt or
// Unsupported or return metadata whose geometry the engine can use; accepted metadata must
// re-encode to an object that decodes to the same fields (so rewriting it loses nothing). The
// plain header decoder is also run against every object type.
#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/object_format.h"
#include "engine/volume_meta.h"
#include "support/fuzz_check.h"
#include "support/object_fixups.h"

namespace {

bool SameMeta(const bp::VolumeMeta& a, const bp::VolumeMeta& b) {
  if (a.uuid != b.uuid || a.name != b.name || a.size != b.size || a.block_size != b.block_size ||
      a.unit_size != b.unit_size || a.created_unix_ms != b.created_unix_ms ||
      a.codecs.size() != b.codecs.size() || a.extensions.size() != b.extensions.size()) {
    return false;
  }
  for (size_t i = 0; i < a.codecs.size(); ++i) {
    if (a.codecs[i].name != b.codecs[i].name || a.codecs[i].header != b.codecs[i].header) {
      return false;
    }
  }
  for (size_t i = 0; i < a.extensions.size(); ++i) {
    if (a.extensions[i].tag != b.extensions[i].tag ||
        a.extensions[i].flags != b.extensions[i].flags ||
        a.extensions[i].value != b.extensions[i].value) {
      return false;
    }
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::vector<uint8_t> object(data + 1, data + size);
  bptest::ApplyObjectFixups(&object, data[0]);

  for (bp::ObjectType type :
       {bp::ObjectType::kVolumeMeta, bp::ObjectType::kSegment, bp::ObjectType::kCheckpoint}) {
    bp::ObjectHeader header;
    bp::Status st = bp::DecodeObjectHeader(object.data(), object.size(), type, &header);
    if (st.ok()) {
      FUZZ_CHECK(header.object_length() >= bp::kObjectHeaderLength, "object length wrapped");
      bp::Bytes again;
      bp::EncodeObjectHeader(header, &again);
      bp::ObjectHeader reread;
      FUZZ_CHECK(bp::DecodeObjectHeader(again.data(), again.size(), type, &reread).ok(),
                 "re-encoded header does not decode");
    }
  }

  bp::VolumeMeta meta;
  bp::Status st = bp::DecodeVolumeMetaObject(object.data(), object.size(), &meta);
  if (!st.ok()) {
    FUZZ_CHECK(st.IsCorrupt() || st.code() == bp::Status::Code::kUnsupported, st.ToString());
    return 0;
  }
  FUZZ_CHECK(meta.block_size == bp::kBlockSize, "unsupported block size accepted");
  FUZZ_CHECK(meta.size > 0 && meta.size % bp::kBlockSize == 0, "unusable volume size accepted");
  FUZZ_CHECK(meta.unit_size >= bp::kBlockSize && meta.unit_size % bp::kBlockSize == 0,
             "unusable unit size accepted");
  bp::Bytes encoded = bp::EncodeVolumeMetaObject(meta);
  bp::VolumeMeta again;
  st = bp::DecodeVolumeMetaObject(encoded.data(), encoded.size(), &again);
  FUZZ_CHECK(st.ok(), "re-encoded metadata does not decode: " + st.ToString());
  FUZZ_CHECK(SameMeta(meta, again), "metadata changes when rewritten");
  return 0;
}
