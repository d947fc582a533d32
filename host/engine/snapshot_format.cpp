// Encoding of snapshot records, clone references and the clone-base metadata extension (see
// snapshot_format.h; the byte layouts are in docs/format.md).
#include "engine/snapshot_format.h"

#include <blockpipe/bp_codec.h>

#include "engine/byte_io.h"
#include "util/crc32c.h"

namespace bp {
namespace {

constexpr size_t kMaxName = 255;
constexpr uint32_t kMaxBases = 64;
constexpr uint32_t kMaxCodecs = 16;

// The body of a plain object of `type`, checked against its header: lengths, checksum, seq.
Status PlainBody(const uint8_t* p, size_t n, ObjectType type, ObjectHeader* h) {
  BP_RETURN_IF_ERROR(DecodeObjectHeader(p, n, type, h));
  const std::string what = ObjectTypeName(type);
  if (h->object_length() != n || h->data_length != 0 || h->body_logical_length != h->body_length) {
    return Status::Corrupt(what + " has inconsistent lengths");
  }
  if (Crc32c(p + kObjectHeaderLength, h->body_length) != h->body_crc) {
    return Status::Corrupt(what + " checksum mismatch");
  }
  return Status::Ok();
}

// EncodePlainObject writes seq 0; these records carry their through_seq in the header too.
Bytes PlainObjectWithSeq(ObjectType type, const Uuid& uuid, uint64_t seq, const Bytes& body) {
  ObjectHeader h;
  h.type = type;
  h.uuid = uuid;
  h.seq = seq;
  h.body_length = body.size();
  h.body_logical_length = body.size();
  h.body_crc = Crc32c(body.data(), body.size());
  Bytes object;
  EncodeObjectHeader(h, &object);
  object.insert(object.end(), body.begin(), body.end());
  return object;
}

}  // namespace

Bytes EncodeSnapshotObject(const Uuid& volume_uuid, const SnapshotRecord& record) {
  Bytes body;
  ByteWriter w(&body);
  w.Str(record.name);
  w.U64(record.created_unix_ms);
  w.U64(record.checkpoint_seq);
  w.U64(record.through_seq);
  w.U64(record.size);
  WriteExtensions(w, record.extensions);
  return PlainObjectWithSeq(ObjectType::kSnapshot, volume_uuid, record.through_seq, body);
}

Status DecodeSnapshotObject(const uint8_t* p, size_t n, Uuid* volume_uuid, SnapshotRecord* out) {
  ObjectHeader h;
  BP_RETURN_IF_ERROR(PlainBody(p, n, ObjectType::kSnapshot, &h));
  SnapshotRecord r;
  ByteReader in(p + kObjectHeaderLength, h.body_length);
  in.Str(&r.name, kMaxName);
  r.created_unix_ms = in.U64();
  r.checkpoint_seq = in.U64();
  r.through_seq = in.U64();
  r.size = in.U64();
  if (!in.ok()) return Status::Corrupt("snapshot record is truncated");
  BP_RETURN_IF_ERROR(ReadExtensions(in, &r.extensions));
  if (!in.ok()) return Status::Corrupt("snapshot record is truncated");
  if (in.remaining() != 0) return Status::Corrupt("snapshot record has trailing bytes");
  if (r.checkpoint_seq > r.through_seq || h.seq != r.through_seq) {
    return Status::Corrupt("snapshot record has inconsistent sequence numbers");
  }
  if (r.size == 0 || r.size % kBlockSize != 0) {
    return Status::Corrupt("snapshot record has invalid size " + std::to_string(r.size));
  }
  *volume_uuid = h.uuid;
  *out = std::move(r);
  return Status::Ok();
}

Bytes EncodeCloneRefObject(const Uuid& base_uuid, const CloneRef& ref) {
  Bytes body;
  ByteWriter w(&body);
  w.Raw(ref.clone_uuid.data(), ref.clone_uuid.size());
  w.Str(ref.clone_name);
  w.Str(ref.snapshot);
  w.U64(ref.checkpoint_seq);
  w.U64(ref.through_seq);
  w.U64(ref.created_unix_ms);
  WriteExtensions(w, ref.extensions);
  return PlainObjectWithSeq(ObjectType::kCloneRef, base_uuid, ref.through_seq, body);
}

Status DecodeCloneRefObject(const uint8_t* p, size_t n, Uuid* base_uuid, CloneRef* out) {
  ObjectHeader h;
  BP_RETURN_IF_ERROR(PlainBody(p, n, ObjectType::kCloneRef, &h));
  CloneRef r;
  ByteReader in(p + kObjectHeaderLength, h.body_length);
  in.Raw(r.clone_uuid.data(), r.clone_uuid.size());
  in.Str(&r.clone_name, kMaxName);
  in.Str(&r.snapshot, kMaxName);
  r.checkpoint_seq = in.U64();
  r.through_seq = in.U64();
  r.created_unix_ms = in.U64();
  if (!in.ok()) return Status::Corrupt("clone reference is truncated");
  BP_RETURN_IF_ERROR(ReadExtensions(in, &r.extensions));
  if (!in.ok()) return Status::Corrupt("clone reference is truncated");
  if (in.remaining() != 0) return Status::Corrupt("clone reference has trailing bytes");
  if (r.checkpoint_seq > r.through_seq || h.seq != r.through_seq) {
    return Status::Corrupt("clone reference has inconsistent sequence numbers");
  }
  *base_uuid = h.uuid;
  *out = std::move(r);
  return Status::Ok();
}

Extension EncodeCloneBases(const std::vector<CloneBase>& bases) {
  Extension e;
  e.tag = kMetaExtCloneBases;
  e.flags = kExtensionCritical;
  ByteWriter w(&e.value);
  w.U32(static_cast<uint32_t>(bases.size()));
  for (const CloneBase& b : bases) {
    w.Str(b.volume);
    w.Raw(b.uuid.data(), b.uuid.size());
    w.Str(b.snapshot);
    w.U64(b.checkpoint_seq);
    w.U64(b.through_seq);
    w.U32(b.unit_size);
    w.U32(static_cast<uint32_t>(b.codecs.size()));
    for (const CodecRecord& c : b.codecs) {
      w.Str(c.name);
      w.Blob(c.header);
    }
  }
  return e;
}

Status DecodeCloneBases(const std::vector<Extension>& extensions, std::vector<CloneBase>* out) {
  out->clear();
  for (const Extension& e : extensions) {
    if (e.tag != kMetaExtCloneBases) continue;
    ByteReader in(e.value.data(), e.value.size());
    const uint32_t count = in.U32();
    if (!in.ok() || count == 0 || count > kMaxBases) {
      return Status::Corrupt("clone base list is malformed");
    }
    uint64_t previous = 0;
    for (uint32_t i = 0; i < count; ++i) {
      CloneBase b;
      in.Str(&b.volume, kMaxName);
      in.Raw(b.uuid.data(), b.uuid.size());
      in.Str(&b.snapshot, kMaxName);
      b.checkpoint_seq = in.U64();
      b.through_seq = in.U64();
      b.unit_size = in.U32();
      const uint32_t codecs = in.U32();
      if (!in.ok() || codecs > kMaxCodecs) return Status::Corrupt("clone base list is truncated");
      for (uint32_t c = 0; c < codecs; ++c) {
        CodecRecord record;
        if (!in.Str(&record.name, kMaxName) || !in.Blob(&record.header, BP_CODEC_HEADER_MAX_SIZE)) {
          return Status::Corrupt("clone base codec list is truncated");
        }
        b.codecs.push_back(std::move(record));
      }
      if (!IsValidVolumeName(b.volume) || b.through_seq <= previous ||
          b.checkpoint_seq > b.through_seq || b.unit_size < kBlockSize ||
          b.unit_size % kBlockSize != 0) {
        return Status::Corrupt("clone base " + std::to_string(i) + " is inconsistent");
      }
      previous = b.through_seq;
      out->push_back(std::move(b));
    }
    if (in.remaining() != 0) return Status::Corrupt("clone base list has trailing bytes");
  }
  return Status::Ok();
}

}  // namespace bp
