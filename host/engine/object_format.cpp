// Object header encoding/decoding (keys: store_layout.cpp).
#include "engine/object_format.h"

#include <algorithm>
#include <cstring>
#include <random>

#include "engine/byte_io.h"
#include "util/crc32c.h"

namespace bp {

const char* ObjectTypeName(ObjectType type) {
  switch (type) {
    case ObjectType::kVolumeMeta: return "volume metadata";
    case ObjectType::kSegment: return "segment";
    case ObjectType::kCheckpoint: return "checkpoint";
    case ObjectType::kVolumeOwner: return "volume owner record";
    case ObjectType::kSnapshot: return "snapshot record";
    case ObjectType::kCloneRef: return "clone reference";
  }
  return "object";
}

void EncodeObjectHeader(const ObjectHeader& h, Bytes* out) {
  size_t start = out->size();
  ByteWriter w(out);
  w.U32(static_cast<uint32_t>(h.type));
  w.U32(h.version);
  w.Raw(h.uuid.data(), h.uuid.size());
  w.U64(h.seq);
  w.U32(kObjectHeaderLength);
  w.U32(h.flags);
  w.U64(h.body_length);
  w.U64(h.body_logical_length);
  w.U64(h.data_length);
  w.U32(h.body_crc);
  w.U32(0);  // reserved
  w.U32(0);  // reserved
  w.U32(Crc32c(out->data() + start, kObjectHeaderLength - 4));
}

Bytes EncodePlainObject(ObjectType type, const Uuid& uuid, const Bytes& body) {
  ObjectHeader h;
  h.type = type;
  h.uuid = uuid;
  h.body_length = body.size();
  h.body_logical_length = body.size();
  h.body_crc = Crc32c(body.data(), body.size());
  Bytes object;
  object.reserve(kObjectHeaderLength + body.size());
  EncodeObjectHeader(h, &object);
  object.insert(object.end(), body.begin(), body.end());
  return object;
}

Status DecodeObjectHeader(const uint8_t* p, size_t n, ObjectType expected, ObjectHeader* out) {
  if (n < kObjectHeaderLength) {
    return Status::Corrupt("object shorter than its header (" + std::to_string(n) + " bytes)");
  }
  ByteReader r(p, n);
  uint32_t magic = r.U32();
  if (magic != static_cast<uint32_t>(expected)) {
    return Status::Corrupt(std::string("not a ") + ObjectTypeName(expected) + " (bad magic)");
  }
  out->type = expected;
  out->version = r.U32();
  const uint32_t stored_crc = static_cast<uint32_t>(p[76]) | static_cast<uint32_t>(p[77]) << 8 |
                              static_cast<uint32_t>(p[78]) << 16 |
                              static_cast<uint32_t>(p[79]) << 24;
  // Checksum before version: a flipped version byte is corruption, not a newer format.
  if (Crc32c(p, kObjectHeaderLength - 4) != stored_crc) {
    return Status::Corrupt(std::string(ObjectTypeName(expected)) + " header checksum mismatch");
  }
  if (out->version != kFormatVersion) {
    return Status::Unsupported("format version " + std::to_string(out->version) +
                               " is not supported (this build reads version " +
                               std::to_string(kFormatVersion) + ")");
  }
  r.Raw(out->uuid.data(), out->uuid.size());
  out->seq = r.U64();
  uint32_t header_length = r.U32();
  if (header_length != kObjectHeaderLength) {
    return Status::Corrupt("unexpected header length " + std::to_string(header_length));
  }
  out->flags = r.U32();
  out->body_length = r.U64();
  out->body_logical_length = r.U64();
  out->data_length = r.U64();
  out->body_crc = r.U32();
  // Lengths beyond any sane object would overflow object_length(); reject them here.
  constexpr uint64_t kMaxPart = 1ull << 48;
  if (out->body_length > kMaxPart || out->body_logical_length > kMaxPart ||
      out->data_length > kMaxPart) {
    return Status::Corrupt("implausible lengths in header");
  }
  return Status::Ok();
}

std::string UuidToHex(const Uuid& uuid) {
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (uint8_t b : uuid) {
    s.push_back(digits[b >> 4]);
    s.push_back(digits[b & 15]);
  }
  return s;
}

Uuid RandomUuid() {
  std::random_device rd;
  Uuid u;
  for (size_t i = 0; i < u.size(); i += 4) {
    uint32_t v = rd();
    for (size_t k = 0; k < 4; ++k) u[i + k] = static_cast<uint8_t>(v >> (8 * k));
  }
  u[6] = static_cast<uint8_t>((u[6] & 0x0F) | 0x40);  // RFC 4122 version 4
  u[8] = static_cast<uint8_t>((u[8] & 0x3F) | 0x80);
  return u;
}

}  // namespace bp

namespace bp {

void WriteExtensions(ByteWriter& w, const std::vector<Extension>& extensions) {
  w.U32(static_cast<uint32_t>(extensions.size()));
  for (const auto& e : extensions) {
    w.U16(e.tag);
    w.U16(e.flags);
    w.Blob(e.value);
  }
}

Status ReadExtensions(ByteReader& r, std::vector<Extension>* out,
                      std::initializer_list<uint16_t> known_critical) {
  uint32_t count = r.U32();
  if (!r.ok() || count > r.remaining() / 8) return Status::Corrupt("bad extension list");
  for (uint32_t i = 0; i < count; ++i) {
    Extension e;
    e.tag = r.U16();
    e.flags = r.U16();
    if (!r.Blob(&e.value, r.remaining())) return Status::Corrupt("truncated extension");
    // A critical tag the caller does not know means a newer writer relied on it.
    if ((e.flags & kExtensionCritical) &&
        std::find(known_critical.begin(), known_critical.end(), e.tag) == known_critical.end()) {
      return Status::Unsupported("object uses extension " + std::to_string(e.tag) +
                                 " that this version of blockpipe does not know");
    }
    out->push_back(std::move(e));
  }
  return Status::Ok();
}

}  // namespace bp
