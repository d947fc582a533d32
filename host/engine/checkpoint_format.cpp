// Checkpoint serialization and validation.
#include "engine/checkpoint_format.h"

#include "engine/byte_io.h"
#include "util/crc32c.h"

namespace bp {

Bytes SerializeCheckpoint(const VolumeState& state) {
  Bytes out;
  out.reserve(64 + state.map.extent_count() * 33 + state.segments.size() * 64);
  ByteWriter w(&out);
  w.U64(state.through_seq);
  w.U32(0);  // flags
  w.U32(0);  // reserved
  w.U64(state.segments.size());
  for (const auto& [seq, info] : state.segments) {
    w.U64(seq);
    w.U64(info.object_size);
    w.U32(static_cast<uint32_t>(info.units.size()));
    for (const UnitLoc& u : info.units) {
      w.U64(u.offset);
      w.U32(u.stored_length);
      w.U32(u.logical_length);
      w.U32(u.crc);
    }
  }
  w.U64(state.map.extent_count());
  for (const auto& [lba, e] : state.map.extents()) {
    w.U64(lba);
    w.U64(e.blocks);
    w.U8(static_cast<uint8_t>(e.kind));
    if (e.kind == ExtentKind::kData) {
      w.U64(e.seq);
      w.U64(e.index);
    }
  }
  WriteExtensions(w, {});
  return out;
}

Status ParseCheckpoint(const uint8_t* p, size_t n, uint64_t volume_blocks, VolumeState* out) {
  ByteReader r(p, n);
  VolumeState s;
  s.through_seq = r.U64();
  r.U32();
  r.U32();
  uint64_t segment_count = r.U64();
  if (!r.ok() || segment_count > r.remaining() / 20) {
    return Status::Corrupt("checkpoint segment count is implausible");
  }
  for (uint64_t i = 0; i < segment_count; ++i) {
    uint64_t seq = r.U64();
    SegmentInfo info;
    info.object_size = r.U64();
    uint32_t unit_count = r.U32();
    if (!r.ok() || unit_count == 0 || unit_count > r.remaining() / 20 || seq > s.through_seq ||
        s.segments.count(seq)) {
      return Status::Corrupt("checkpoint segment table is invalid");
    }
    info.units.reserve(unit_count);
    uint64_t blocks = 0;
    for (uint32_t k = 0; k < unit_count; ++k) {
      UnitLoc u;
      u.offset = r.U64();
      u.stored_length = r.U32();
      u.logical_length = r.U32();
      u.crc = r.U32();
      // Written without a sum so a huge offset cannot wrap past the object size check.
      if (u.stored_length == 0 || u.logical_length == 0 || u.logical_length % kBlockSize != 0 ||
          u.offset > info.object_size || u.stored_length > info.object_size - u.offset) {
        return Status::Corrupt("checkpoint unit location is invalid");
      }
      // first_block is 32-bit in memory: more blocks per segment would wrap unit lookups.
      if (blocks + u.logical_length / kBlockSize > UINT32_MAX) {
        return Status::Corrupt("checkpoint segment holds too many blocks");
      }
      u.first_block = static_cast<uint32_t>(blocks);
      blocks += u.logical_length / kBlockSize;
      info.units.push_back(u);
    }
    s.segments.emplace(seq, std::move(info));
  }
  uint64_t extent_count = r.U64();
  if (!r.ok() || extent_count > r.remaining() / 17) {
    return Status::Corrupt("checkpoint extent count is implausible");
  }
  uint64_t prev_end = 0;
  for (uint64_t i = 0; i < extent_count; ++i) {
    uint64_t lba = r.U64();
    uint64_t blocks = r.U64();
    uint8_t kind = r.U8();
    if (!r.ok() || blocks == 0 || lba < prev_end || lba >= volume_blocks ||
        blocks > volume_blocks - lba) {
      return Status::Corrupt("checkpoint extent " + std::to_string(i) + " is invalid");
    }
    prev_end = lba + blocks;
    if (kind == static_cast<uint8_t>(ExtentKind::kData)) {
      uint64_t seq = r.U64();
      uint64_t index = r.U64();
      auto seg = s.segments.find(seq);
      if (seg == s.segments.end())
        return Status::Corrupt("checkpoint extent names a missing segment");
      const UnitLoc& last = seg->second.units.back();
      uint64_t seg_blocks = last.first_block + last.logical_length / kBlockSize;
      if (index > seg_blocks || blocks > seg_blocks - index) {
        return Status::Corrupt("checkpoint extent points past its segment");
      }
      s.map.Assign(lba, blocks, ExtentKind::kData, seq, index);
    } else if (kind == static_cast<uint8_t>(ExtentKind::kZero)) {
      s.map.Assign(lba, blocks, ExtentKind::kZero);
    } else {
      return Status::Corrupt("checkpoint extent of unknown kind " + std::to_string(kind));
    }
  }
  std::vector<Extension> extensions;
  BP_RETURN_IF_ERROR(ReadExtensions(r, &extensions));
  if (!r.ok()) return Status::Corrupt("checkpoint is truncated");
  s.map.TakeEmptiedSegments();
  *out = std::move(s);
  return Status::Ok();
}

Status BuildCheckpointObject(const Bytes& plain, uint64_t seq, const Uuid& uuid,
                             const CodecChain& chain, Bytes* object) {
  Bytes encoded;
  UnitId id{BP_UNIT_CHECKPOINT, seq, 0, plain.size()};
  BP_RETURN_IF_ERROR(chain.Encode(id, plain.data(), plain.size(), &encoded));
  ObjectHeader h;
  h.type = ObjectType::kCheckpoint;
  h.uuid = uuid;
  h.seq = seq;
  h.body_length = encoded.size();
  h.body_logical_length = plain.size();
  h.body_crc = Crc32c(encoded.data(), encoded.size());
  object->clear();
  object->reserve(h.object_length());
  EncodeObjectHeader(h, object);
  object->insert(object->end(), encoded.begin(), encoded.end());
  return Status::Ok();
}

Status ReadCheckpointBody(ObjectStore& store, const std::string& key, uint64_t seq,
                          const Uuid& uuid, const CodecChain& chain, Bytes* plain) {
  Bytes object;
  BP_RETURN_IF_ERROR(store.Get(key, &object));
  ObjectHeader h;
  BP_RETURN_IF_ERROR(DecodeObjectHeader(object.data(), object.size(), ObjectType::kCheckpoint, &h)
                         .WithContext(key));
  if (h.uuid != uuid) return Status::Corrupt(key + ": checkpoint belongs to another volume");
  if (h.seq != seq)
    return Status::Corrupt(key + ": header names checkpoint " + std::to_string(h.seq));
  if (h.object_length() != object.size() || h.data_length != 0) {
    return Status::Corrupt(key + ": checkpoint length mismatch (torn or truncated)");
  }
  const uint8_t* body = object.data() + kObjectHeaderLength;
  if (Crc32c(body, h.body_length) != h.body_crc) {
    return Status::Corrupt(key + ": checkpoint checksum mismatch");
  }
  UnitId id{BP_UNIT_CHECKPOINT, seq, 0, h.body_logical_length};
  BP_RETURN_IF_ERROR(chain.Decode(id, body, h.body_length, plain).WithContext(key));
  if (plain->size() != h.body_logical_length) {
    return Status::Corrupt(key + ": checkpoint decodes to the wrong length");
  }
  return Status::Ok();
}

Status ReadCheckpoint(ObjectStore& store, const std::string& key, uint64_t seq, const Uuid& uuid,
                      const CodecChain& chain, uint64_t volume_blocks, VolumeState* out) {
  Bytes plain;
  BP_RETURN_IF_ERROR(ReadCheckpointBody(store, key, seq, uuid, chain, &plain));
  VolumeState state;
  BP_RETURN_IF_ERROR(
      ParseCheckpoint(plain.data(), plain.size(), volume_blocks, &state).WithContext(key));
  if (state.through_seq != seq) return Status::Corrupt(key + ": checkpoint body names another seq");
  *out = std::move(state);
  return Status::Ok();
}

}  // namespace bp
