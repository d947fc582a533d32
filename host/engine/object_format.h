// The plain header every stored object starts with and the extension records that let later
// versions add fields (snapshots, clones, GC) without a new format version. docs/format.md is the
// reference for every byte described here. The objects' keys are store_layout.h's, included here
// for the code that reaches them through this header.
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

#include <blockpipe/bp_codec.h>

#include "engine/store_layout.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

using Uuid = std::array<uint8_t, BP_VOLUME_UUID_SIZE>;

constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kBlockSize = 4096;  // logical block: the map's granularity
constexpr uint32_t kBlockShift = 12;
constexpr uint32_t kObjectHeaderLength = 80;

// Magic numbers, stored little-endian so the first four bytes read "BPVM", "BPSG", "BPCK",
// "BPOW", "BPSN", "BPCR".
enum class ObjectType : uint32_t {
  kVolumeMeta = 0x4D565042u,   // "BPVM"
  kSegment = 0x47535042u,      // "BPSG"
  kCheckpoint = 0x4B435042u,   // "BPCK"
  kVolumeOwner = 0x574F5042u,  // "BPOW": the advisory ownership record (engine/volume_owner.h)
  kSnapshot = 0x4E535042u,     // "BPSN": a snapshot record (engine/snapshot_format.h)
  kCloneRef = 0x52435042u,     // "BPCR": a clone's reference to its base (snapshot_format.h)
};
const char* ObjectTypeName(ObjectType type);

struct ObjectHeader {
  ObjectType type = ObjectType::kSegment;
  uint32_t version = kFormatVersion;
  Uuid uuid{};
  uint64_t seq = 0;                  // segment/checkpoint sequence; 0 for meta
  uint32_t flags = 0;                // reserved, 0 in version 1
  uint64_t body_length = 0;          // stored (encoded) body bytes after the header
  uint64_t body_logical_length = 0;  // body length before encoding
  uint64_t data_length = 0;          // segments: bytes of units after the body; else 0
  uint32_t body_crc = 0;             // crc32c of the stored body bytes

  uint64_t object_length() const { return kObjectHeaderLength + body_length + data_length; }
};

// Append the 80-byte header to out.
void EncodeObjectHeader(const ObjectHeader& header, Bytes* out);
// A whole object whose body is stored as is (no codec, no unit data): the header for `type` and
// `uuid` with the body's length and crc32c, then the body.
Bytes EncodePlainObject(ObjectType type, const Uuid& uuid, const Bytes& body);
// Parse and check magic, version and header checksum. Corrupt on any mismatch, Unsupported for
// a newer format version.
Status DecodeObjectHeader(const uint8_t* p, size_t n, ObjectType expected, ObjectHeader* out);

// Extension records (tag, flags, bytes) appended to metadata, segment and checkpoint bodies.
// A reader skips tags it does not know unless the record is marked critical.
constexpr uint16_t kExtensionCritical = 1;
struct Extension {
  uint16_t tag = 0;
  uint16_t flags = 0;
  Bytes value;
};

std::string UuidToHex(const Uuid& uuid);
Uuid RandomUuid();

}  // namespace bp

namespace bp {
class ByteReader;
class ByteWriter;
// Write an extension list (u32 count, then tag/flags/length/bytes each).
void WriteExtensions(ByteWriter& w, const std::vector<Extension>& extensions);
// Read an extension list; Unsupported for a critical extension whose tag is not among
// known_critical (the tags the caller interprets).
Status ReadExtensions(ByteReader& r, std::vector<Extension>* out,
                      std::initializer_list<uint16_t> known_critical = {});
}  // namespace bp
