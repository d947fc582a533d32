// Segment building, meta serialization and validation.
#include "engine/segment_format.h"

#include <algorithm>
#include <cstring>

#include "engine/byte_io.h"
#include "util/crc32c.h"

namespace bp {
namespace {

constexpr uint8_t kRecordData = 1;
constexpr uint8_t kRecordZero = 2;
constexpr uint8_t kRecordHole = 3;
constexpr uint32_t kMaxUnits = 1u << 22;
// A front read that usually holds header and meta in one request.
constexpr uint64_t kFrontRead = 64u << 10;
// Largest encoded segment meta a reader will allocate for: far above any real segment (about 20
// bytes per unit and per map record), low enough that a damaged header whose size the listing
// cannot confirm is refused as Corrupt instead of exhausting memory.
constexpr uint64_t kMaxMetaLength = 256ull << 20;

}  // namespace

Bytes SerializeSegmentMeta(const SegmentMeta& meta, uint64_t data_start) {
  Bytes out;
  out.reserve(40 + meta.units.size() * 20 + meta.records.size() * 25);
  ByteWriter w(&out);
  w.U64(meta.seq);
  w.U32(meta.flags);
  w.U32(static_cast<uint32_t>(meta.units.size()));
  w.U64(meta.records.size());
  w.U64(meta.data_length);
  for (const UnitLoc& u : meta.units) {
    w.U64(u.offset - data_start);
    w.U32(u.stored_length);
    w.U32(u.logical_length);
    w.U32(u.crc);
  }
  for (const DeltaRecord& r : meta.records) {
    w.U8(r.kind == ExtentKind::kData   ? kRecordData
         : r.kind == ExtentKind::kZero ? kRecordZero
                                       : kRecordHole);
    w.U64(r.lba);
    w.U64(r.blocks);
    if (r.kind == ExtentKind::kData) w.U64(r.index);
  }
  std::vector<Extension> extensions;
  if (meta.run_id != 0) {
    Extension run;
    run.tag = kSegmentExtWriterRun;
    ByteWriter rw(&run.value);
    rw.U64(meta.run_id);
    rw.U64(meta.run_first_seq);
    extensions.push_back(std::move(run));
  }
  if (meta.restore) {
    Extension restore;
    restore.tag = kSegmentExtRestore;
    restore.flags = kExtensionCritical;
    ByteWriter rw(&restore.value);
    rw.U64(meta.restore_checkpoint);
    rw.U64(meta.restore_through);
    extensions.push_back(std::move(restore));
  }
  WriteExtensions(w, extensions);
  return out;
}

Status BuildMetaOnlySegment(const SegmentMeta& meta, const Uuid& uuid, const CodecChain& chain,
                            Bytes* object) {
  if (!meta.units.empty() || !meta.records.empty() || meta.data_length != 0) {
    return Status::Invalid("a meta-only segment holds no data");
  }
  const Bytes plain = SerializeSegmentMeta(meta, 0);
  Bytes encoded;
  UnitId meta_id{BP_UNIT_SEGMENT_META, meta.seq, 0, plain.size()};
  BP_RETURN_IF_ERROR(chain.Encode(meta_id, plain.data(), plain.size(), &encoded));
  ObjectHeader h;
  h.type = ObjectType::kSegment;
  h.uuid = uuid;
  h.seq = meta.seq;
  h.body_length = encoded.size();
  h.body_logical_length = plain.size();
  h.data_length = 0;
  h.body_crc = Crc32c(encoded.data(), encoded.size());
  object->clear();
  EncodeObjectHeader(h, object);
  object->insert(object->end(), encoded.begin(), encoded.end());
  return Status::Ok();
}

Status ParseSegmentMeta(const uint8_t* p, size_t n, uint64_t data_start, uint64_t volume_blocks,
                        SegmentMeta* out) {
  ByteReader r(p, n);
  SegmentMeta m;
  m.seq = r.U64();
  m.flags = r.U32();
  uint32_t unit_count = r.U32();
  uint64_t record_count = r.U64();
  m.data_length = r.U64();
  if (!r.ok() || unit_count > kMaxUnits || unit_count > r.remaining() / 20 ||
      record_count > r.remaining() / 17) {
    return Status::Corrupt("segment meta counts are implausible");
  }
  m.units.reserve(unit_count);
  uint64_t next_offset = 0;
  uint64_t blocks = 0;
  for (uint32_t i = 0; i < unit_count; ++i) {
    UnitLoc u;
    uint64_t rel = r.U64();
    u.stored_length = r.U32();
    u.logical_length = r.U32();
    u.crc = r.U32();
    if (rel != next_offset || u.stored_length == 0 || u.logical_length == 0 ||
        u.logical_length % kBlockSize != 0 || rel + u.stored_length > m.data_length) {
      return Status::Corrupt("segment unit " + std::to_string(i) + " has an invalid location");
    }
    // first_block is 32-bit in memory: more blocks per segment would wrap unit lookups.
    if (blocks + u.logical_length / kBlockSize > UINT32_MAX) {
      return Status::Corrupt("segment holds too many blocks");
    }
    next_offset = rel + u.stored_length;
    u.offset = data_start + rel;
    u.first_block = static_cast<uint32_t>(blocks);
    blocks += u.logical_length / kBlockSize;
    m.units.push_back(u);
  }
  if (next_offset != m.data_length) return Status::Corrupt("segment units do not fill its data");
  m.records.reserve(record_count);
  for (uint64_t i = 0; i < record_count; ++i) {
    DeltaRecord d;
    uint8_t kind = r.U8();
    d.lba = r.U64();
    d.blocks = r.U64();
    if (kind == kRecordData) {
      d.kind = ExtentKind::kData;
      d.index = r.U64();
      if (d.index > blocks || d.blocks > blocks - d.index) {
        return Status::Corrupt("segment data record points past its units");
      }
    } else if (kind == kRecordZero) {
      d.kind = ExtentKind::kZero;
    } else if (kind == kRecordHole) {
      d.kind = ExtentKind::kHole;
    } else {
      return Status::Corrupt("segment record of unknown kind " + std::to_string(kind));
    }
    if (d.blocks == 0 || d.lba >= volume_blocks || d.blocks > volume_blocks - d.lba) {
      return Status::Corrupt("segment record outside the volume");
    }
    m.records.push_back(d);
  }
  std::vector<Extension> extensions;
  BP_RETURN_IF_ERROR(ReadExtensions(r, &extensions, {kSegmentExtRestore}));
  if (!r.ok()) return Status::Corrupt("segment meta is truncated");
  for (const Extension& e : extensions) {
    if (e.tag == kSegmentExtRestore) {
      ByteReader er(e.value.data(), e.value.size());
      m.restore = true;
      m.restore_checkpoint = er.U64();
      m.restore_through = er.U64();
      if (!er.ok() || m.restore_checkpoint > m.restore_through || m.restore_through >= m.seq) {
        return Status::Corrupt("segment restore record is invalid");
      }
      continue;
    }
    if (e.tag != kSegmentExtWriterRun) continue;
    ByteReader er(e.value.data(), e.value.size());
    m.run_id = er.U64();
    m.run_first_seq = er.U64();
    if (!er.ok() || m.run_id == 0 || m.run_first_seq == 0 || m.run_first_seq > m.seq) {
      return Status::Corrupt("segment writer-run record is invalid");
    }
  }
  *out = std::move(m);
  return Status::Ok();
}

// crc extended over a kept part lying within the unit's blocks, which sit back to back from
// `src` (segment blocks first .. first+count): from the blocks' stored CRCs when the part is
// whole blocks that all have one, else by reading it.
static uint32_t KeptPartCrc(const ObjectPart& part, const uint8_t* src, size_t first, size_t count,
                            const std::vector<const uint32_t*>& block_crcs, uint32_t crc) {
  const size_t offset = static_cast<size_t>(part.data - src);
  const bool whole_blocks = !block_crcs.empty() && offset % kBlockSize == 0 &&
                            part.length % kBlockSize == 0 &&
                            offset + part.length <= count * kBlockSize;
  if (whole_blocks) {
    const size_t b0 = first + offset / kBlockSize;
    const size_t n = part.length / kBlockSize;
    bool known = true;
    for (size_t b = b0; b < b0 + n && known; ++b) known = block_crcs[b] != nullptr;
    if (known) {
      for (size_t b = b0; b < b0 + n; ++b) crc = Crc32cAppendBlock(crc, *block_crcs[b]);
      return crc;
    }
  }
  return Crc32c(part.data, part.length, crc);
}

// Upper bound of the serialized meta of `meta` (see SerializeSegmentMeta), before encoding.
static size_t PlainMetaBound(const SegmentMeta& meta) {
  return 96 + meta.units.size() * 20 + meta.records.size() * 25;  // 32 for the run record
}

Status EncodeSegmentImage(const WriteBuffer& buffer, uint64_t seq, const Uuid& uuid,
                          const CodecChain& chain, uint32_t unit_size, SegmentImage* image,
                          bool keep_in_buffer, uint64_t run_id, uint64_t run_first_seq) {
  const uint32_t unit_blocks = std::max<uint32_t>(1, unit_size / kBlockSize);
  std::vector<const uint32_t*> block_crcs;  // known CRCs of the blocks, else nullptr
  auto blocks = buffer.SortedBlocks(keep_in_buffer ? &block_crcs : nullptr);
  SegmentMeta& meta = image->meta;
  meta = SegmentMeta{};
  meta.seq = seq;
  meta.run_id = run_id;
  meta.run_first_seq = run_first_seq;

  // Ranges first in record order, matching the apply order.
  for (const auto& [lba, e] : buffer.ranges().extents()) {
    meta.records.push_back(DeltaRecord{e.kind, lba, e.blocks, 0});
  }
  // DATA records: one per run of consecutive blocks.
  for (size_t i = 0; i < blocks.size();) {
    size_t j = i + 1;
    while (j < blocks.size() && blocks[j].first == blocks[j - 1].first + 1) ++j;
    meta.records.push_back(DeltaRecord{ExtentKind::kData, blocks[i].first, j - i, i});
    i = j;
  }

  // One unit per unit-aligned window of the volume: the blocks this segment holds in that window,
  // whether one run or several. A sequential write fills whole units; scattered writes give
  // small units, so a random read decodes only blocks written together with its own, and the
  // unit cache is not filled with neighbours that later writes have made dead.
  std::vector<std::pair<size_t, size_t>> unit_ranges;  // [first index, count)
  for (size_t i = 0; i < blocks.size();) {
    const uint64_t window = blocks[i].first / unit_blocks;
    size_t j = i + 1;
    while (j < blocks.size() && blocks[j].first / unit_blocks == window) ++j;
    unit_ranges.emplace_back(i, j - i);
    i = j;
  }
  meta.units.resize(unit_ranges.size());

  // The gap in front of the units holds the header and the encoded meta. Codecs may grow the
  // meta a little (framing, nonces, tags); a meta that still does not fit moves the units once.
  Bytes& storage = image->storage;
  const size_t meta_bound = PlainMetaBound(meta);
  size_t gap = kObjectHeaderLength + meta_bound + meta_bound / 16 + 4096;
  const size_t estimate =
      gap + blocks.size() * kBlockSize + blocks.size() * kBlockSize / 64 + unit_ranges.size() * 64;
  if (storage.capacity() < estimate) {
    storage.clear();  // nothing in it is kept: do not let the reallocation copy it
    storage.reserve(estimate);
  }
  if (storage.size() < gap) storage.resize(gap);
  size_t end = gap;  // storage past `end` is room left from earlier segments, not content
  image->kept.clear();
  image->kept_bytes = 0;
  // Units whose blocks sit back to back in the buffer (the usual case for sequential writes)
  // are encoded from there; others are gathered into `plain` first.
  thread_local Bytes plain;
  if (plain.size() < static_cast<size_t>(unit_blocks) * kBlockSize) {
    plain.resize(static_cast<size_t>(unit_blocks) * kBlockSize);
  }
  for (size_t u = 0; u < unit_ranges.size(); ++u) {
    auto [first, count] = unit_ranges[u];
    const uint8_t* src = blocks[first].second;
    for (size_t k = 1; k < count && src != plain.data(); ++k) {
      if (blocks[first + k].second != blocks[first].second + k * kBlockSize) src = plain.data();
    }
    if (src == plain.data()) {
      for (size_t k = 0; k < count; ++k) {
        std::memcpy(plain.data() + k * kBlockSize, blocks[first + k].second, kBlockSize);
      }
    }
    const size_t logical = count * kBlockSize;
    const size_t at = end;
    const size_t kept_before = image->kept.size();
    UnitId id{BP_UNIT_DATA, seq, u, logical};
    // Blocks in the sealed buffer stay put until the segment is durable, so what the codec
    // stores unchanged may be written from there; the gather scratch is reused at once.
    const bool stays = keep_in_buffer && src != plain.data();
    BP_RETURN_IF_ERROR(
        chain.EncodeAt(id, src, logical, &storage, &end, stays ? &image->kept : nullptr));
    // The stored unit is storage[at, end) with the kept parts inserted: checksum it in order.
    // A kept part made of whole blocks whose CRCs the write path stored is not read again.
    uint32_t crc = 0;
    size_t pos = at;
    uint64_t kept = 0;
    for (size_t k = kept_before; k < image->kept.size(); ++k) {
      const KeptInput& part = image->kept[k];
      crc = Crc32c(storage.data() + pos, part.at - pos, crc);
      crc = KeptPartCrc(part.part, src, first, count, block_crcs, crc);
      pos = part.at;
      kept += part.part.length;
    }
    crc = Crc32c(storage.data() + pos, end - pos, crc);
    const uint64_t stored = end - at + kept;
    if (stored == 0 || stored > 0xFFFFFFFFu) {
      return Status::Permanent("codec produced an unusable unit of " + std::to_string(stored) +
                               " bytes");
    }
    UnitLoc& loc = meta.units[u];
    loc.offset = at - gap + image->kept_bytes;  // relative to the first unit for now
    loc.stored_length = static_cast<uint32_t>(stored);
    loc.logical_length = static_cast<uint32_t>(logical);
    loc.first_block = static_cast<uint32_t>(first);
    loc.crc = crc;
    image->kept_bytes += kept;
  }
  meta.data_length = end - gap + image->kept_bytes;
  image->block_data.resize(blocks.size());
  for (size_t i = 0; i < blocks.size(); ++i) image->block_data[i] = blocks[i].second;

  Bytes plain_meta = SerializeSegmentMeta(meta, 0);
  thread_local Bytes encoded_meta;
  UnitId meta_id{BP_UNIT_SEGMENT_META, seq, 0, plain_meta.size()};
  BP_RETURN_IF_ERROR(chain.Encode(meta_id, plain_meta.data(), plain_meta.size(), &encoded_meta));

  ObjectHeader h;
  h.type = ObjectType::kSegment;
  h.uuid = uuid;
  h.seq = seq;
  h.body_length = encoded_meta.size();
  h.body_logical_length = plain_meta.size();
  h.data_length = meta.data_length;
  h.body_crc = Crc32c(encoded_meta.data(), encoded_meta.size());
  Bytes header;
  EncodeObjectHeader(h, &header);
  const size_t front = header.size() + encoded_meta.size();
  if (front > gap) {
    storage.resize(end);  // drop the reusable room so the shift moves only the object
    storage.insert(storage.begin(), front - gap, 0);
    end += front - gap;
    for (KeptInput& part : image->kept) part.at += front - gap;
    gap = front;
  }
  image->begin = gap - front;
  image->end = end;
  std::memcpy(storage.data() + image->begin, header.data(), header.size());
  std::memcpy(storage.data() + image->begin + header.size(), encoded_meta.data(),
              encoded_meta.size());
  for (UnitLoc& u : meta.units) u.offset += front;
  return Status::Ok();
}

ObjectParts SegmentImage::Parts() const {
  ObjectParts parts;
  parts.reserve(2 * kept.size() + 1);
  size_t pos = begin;
  for (const KeptInput& part : kept) {
    if (part.at > pos) parts.push_back(ObjectPart{storage.data() + pos, part.at - pos});
    parts.push_back(part.part);
    pos = part.at;
  }
  if (end > pos) parts.push_back(ObjectPart{storage.data() + pos, end - pos});
  return parts;
}

Status BuildSegment(const WriteBuffer& buffer, uint64_t seq, const Uuid& uuid,
                    const CodecChain& chain, uint32_t unit_size, BuiltSegment* out, uint64_t run_id,
                    uint64_t run_first_seq) {
  SegmentImage image;
  BP_RETURN_IF_ERROR(EncodeSegmentImage(buffer, seq, uuid, chain, unit_size, &image,
                                        /*keep_in_buffer=*/false, run_id, run_first_seq));
  JoinParts(image.Parts(), &out->object);
  out->meta = std::move(image.meta);
  return Status::Ok();
}

namespace {

// The checks on a segment's header: of this volume and seq, as long as the listing says, with a
// meta of a sane length.
Status CheckSegmentHeader(const std::string& key, const uint8_t* p, size_t n, uint64_t seq,
                          const Uuid& uuid, uint64_t listed_size, ObjectHeader* h) {
  BP_RETURN_IF_ERROR(DecodeObjectHeader(p, n, ObjectType::kSegment, h).WithContext(key));
  if (h->uuid != uuid) return Status::Corrupt(key + ": segment belongs to another volume");
  if (h->seq != seq)
    return Status::Corrupt(key + ": header names segment " + std::to_string(h->seq));
  if (listed_size != 0 && listed_size != h->object_length()) {
    return Status::Corrupt(key + ": object is " + std::to_string(listed_size) +
                           " bytes, header says " + std::to_string(h->object_length()) +
                           " (torn or truncated)");
  }
  if (h->body_length > kMaxMetaLength) {
    return Status::Corrupt(key + ": segment meta claims " + std::to_string(h->body_length) +
                           " bytes");
  }
  return Status::Ok();
}

// Verify, decode and parse the meta (`body`: the h.body_length bytes after the header).
Status DecodeSegmentBody(const std::string& key, const ObjectHeader& h, const uint8_t* body,
                         uint64_t seq, const CodecChain& chain, uint64_t volume_blocks,
                         SegmentMeta* out) {
  if (Crc32c(body, h.body_length) != h.body_crc) {
    return Status::Corrupt(key + ": segment meta checksum mismatch");
  }
  Bytes plain;
  UnitId meta_id{BP_UNIT_SEGMENT_META, seq, 0, h.body_logical_length};
  BP_RETURN_IF_ERROR(chain.Decode(meta_id, body, h.body_length, &plain).WithContext(key));
  if (plain.size() != h.body_logical_length) {
    return Status::Corrupt(key + ": segment meta decodes to the wrong length");
  }
  SegmentMeta meta;
  BP_RETURN_IF_ERROR(ParseSegmentMeta(plain.data(), plain.size(),
                                      kObjectHeaderLength + h.body_length, volume_blocks, &meta)
                         .WithContext(key));
  if (meta.seq != seq || meta.data_length != h.data_length) {
    return Status::Corrupt(key + ": segment meta disagrees with its header");
  }
  *out = std::move(meta);
  return Status::Ok();
}

}  // namespace

Status ReadSegmentMeta(ObjectStore& store, const std::string& key, uint64_t seq, const Uuid& uuid,
                       const CodecChain& chain, uint64_t volume_blocks, uint64_t listed_size,
                       SegmentMeta* out, uint64_t* object_size) {
  Bytes front(kFrontRead);
  uint64_t got = 0;
  BP_RETURN_IF_ERROR(store.Read(key, 0, front.size(), front.data(), &got));
  front.resize(got);
  ObjectHeader h;
  BP_RETURN_IF_ERROR(
      CheckSegmentHeader(key, front.data(), front.size(), seq, uuid, listed_size, &h));
  const uint64_t body_end = kObjectHeaderLength + h.body_length;
  if (front.size() < body_end) {
    if (got < kFrontRead) return Status::Corrupt(key + ": segment is truncated");
    size_t have = front.size();
    front.resize(body_end);
    uint64_t more = 0;
    BP_RETURN_IF_ERROR(store.Read(key, have, body_end - have, front.data() + have, &more));
    if (more != body_end - have) return Status::Corrupt(key + ": segment is truncated");
  }
  BP_RETURN_IF_ERROR(DecodeSegmentBody(key, h, front.data() + kObjectHeaderLength, seq, chain,
                                       volume_blocks, out));
  *object_size = h.object_length();
  return Status::Ok();
}

Status ApplySegmentObject(const Bytes& object, const std::string& what, uint64_t seq,
                          const Uuid& uuid, const CodecChain& chain, uint64_t volume_blocks,
                          WriteBuffer* into, SegmentMeta* meta) {
  ObjectHeader h;
  BP_RETURN_IF_ERROR(
      CheckSegmentHeader(what, object.data(), object.size(), seq, uuid, object.size(), &h));
  if (object.size() < kObjectHeaderLength + h.body_length) {
    return Status::Corrupt(what + ": segment is truncated");
  }
  BP_RETURN_IF_ERROR(DecodeSegmentBody(what, h, object.data() + kObjectHeaderLength, seq, chain,
                                       volume_blocks, meta));
  std::vector<Bytes> units(meta->units.size());
  for (uint32_t u = 0; u < units.size(); ++u) {
    const UnitLoc& loc = meta->units[u];
    if (loc.offset > object.size() || object.size() - loc.offset < loc.stored_length) {
      return Status::Corrupt(what + " unit " + std::to_string(u) + ": past the object's end");
    }
    BP_RETURN_IF_ERROR(DecodeStoredUnit(object.data() + loc.offset, loc.stored_length, what, seq, u,
                                        loc, chain, &units[u]));
  }
  // Within one segment data is newer than any range over it: ranges first.
  for (const DeltaRecord& r : meta->records) {
    if (r.kind != ExtentKind::kData) into->SetRange(r.lba, r.blocks, r.kind);
  }
  for (const DeltaRecord& r : meta->records) {
    if (r.kind != ExtentKind::kData) continue;
    for (uint64_t b = 0; b < r.blocks; ++b) {
      const uint64_t index = r.index + b;
      auto unit =
          std::upper_bound(meta->units.begin(), meta->units.end(), index,
                           [](uint64_t i, const UnitLoc& loc) { return i < loc.first_block; });
      if (unit == meta->units.begin()) return Status::Corrupt(what + ": a block in no unit");
      --unit;
      const uint64_t within = index - unit->first_block;
      if (within >= unit->logical_length / kBlockSize) {
        return Status::Corrupt(what + ": a block in no unit");
      }
      const Bytes& data = units[static_cast<size_t>(unit - meta->units.begin())];
      std::memcpy(into->PutBlock(r.lba + b), data.data() + within * kBlockSize, kBlockSize);
    }
  }
  return Status::Ok();
}

Status CheckStoredUnits(ObjectStore& store, const std::string& key, const SegmentMeta& meta) {
  // Adjacent units are read together, a few MiB at a time.
  constexpr uint64_t kChunk = 4ull << 20;
  Bytes buf;
  size_t i = 0;
  while (i < meta.units.size()) {
    const uint64_t begin = meta.units[i].offset;
    uint64_t end = begin + meta.units[i].stored_length;
    size_t j = i + 1;
    while (j < meta.units.size() && meta.units[j].offset == end &&
           end + meta.units[j].stored_length - begin <= kChunk) {
      end += meta.units[j].stored_length;
      ++j;
    }
    buf.resize(end - begin);
    uint64_t got = 0;
    BP_RETURN_IF_ERROR(store.Read(key, begin, end - begin, buf.data(), &got));
    for (size_t u = i; u < j; ++u) {
      const UnitLoc& loc = meta.units[u];
      const uint64_t at = loc.offset - begin;
      if (got < at + loc.stored_length) {
        return Status::Corrupt(key + " unit " + std::to_string(u) + ": segment is truncated");
      }
      if (Crc32c(buf.data() + at, loc.stored_length) != loc.crc) {
        return Status::Corrupt(key + " unit " + std::to_string(u) +
                               ": checksum mismatch (torn by a crash before it was synced?)");
      }
    }
    i = j;
  }
  return Status::Ok();
}

Status DecodeStoredUnit(const uint8_t* stored, uint64_t got, const std::string& key, uint64_t seq,
                        uint32_t unit_index, const UnitLoc& loc, const CodecChain& chain,
                        Bytes* out) {
  // Named only when something failed: this runs for every unit read.
  auto where = [&] { return key + " unit " + std::to_string(unit_index); };
  if (got != loc.stored_length) {
    return Status::Corrupt(where() + ": short read (" + std::to_string(got) + " of " +
                           std::to_string(loc.stored_length) + " bytes)");
  }
  if (Crc32c(stored, loc.stored_length) != loc.crc) {
    return Status::Corrupt(where() + ": checksum mismatch");
  }
  UnitId id{BP_UNIT_DATA, seq, unit_index, loc.logical_length};
  Status s = chain.DecodeInto(id, stored, loc.stored_length, out);
  if (!s.ok()) return s.WithContext(where());
  if (out->size() != loc.logical_length) {
    return Status::Corrupt(where() + ": decodes to " + std::to_string(out->size()) +
                           " bytes instead of " + std::to_string(loc.logical_length));
  }
  return Status::Ok();
}

Status ReadUnit(ObjectStore& store, const std::string& key, uint64_t seq, uint32_t unit_index,
                const UnitLoc& loc, const CodecChain& chain, Bytes* out) {
  // Reused per thread: a fresh vector would zero the whole unit before every read.
  thread_local Bytes scratch;
  if (scratch.size() < loc.stored_length) scratch.resize(loc.stored_length);
  uint64_t got = 0;
  BP_RETURN_IF_ERROR(store.Read(key, loc.offset, loc.stored_length, scratch.data(), &got));
  return DecodeStoredUnit(scratch.data(), got, key, seq, unit_index, loc, chain, out);
}

}  // namespace bp
