// ReadPath and UnitLoader implementation (see read_path.h).
#include "engine/read_path.h"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "engine/object_format.h"
#include "engine/segment_format.h"

namespace bp {
namespace {

// Copy the part of blocks [block, block+n) that falls in the request [offset, offset+length)
// from src (the data of `block` onward; nullptr = zeros) into the request buffer.
void CopyBlocks(uint64_t offset, uint64_t length, uint8_t* buf, uint64_t block, uint64_t n,
                const uint8_t* src) {
  uint64_t start = std::max(offset, block << kBlockShift);
  uint64_t end = std::min(offset + length, (block + n) << kBlockShift);
  if (start >= end) return;
  uint8_t* dst = buf + (start - offset);
  if (src) {
    std::memcpy(dst, src + (start - (block << kBlockShift)), end - start);
  } else {
    std::memset(dst, 0, end - start);
  }
}

// Blocks read ahead at most, and units prefetched at most, per sequential request.
constexpr uint64_t kReadAheadMaxBlocks = 256;
constexpr size_t kReadAheadMaxUnits = 16;

}  // namespace

ReadPath::ReadPath(std::string name, const VolumeLayers* layers, uint64_t volume_blocks,
                   uint32_t unit_size, UnitCache* cache)
    : name_(std::move(name)),
      layers_(layers),
      volume_blocks_(volume_blocks),
      unit_size_(unit_size),
      cache_(cache) {}

UnitKey ReadPath::KeyFor(uint64_t seq, uint32_t unit_index) const {
  UnitKey key;
  // A clone's shared units are cached under the base's uuid: the same immutable bytes as the
  // base's own reads, so both share one cache entry.
  key.volume = *layers_->For(seq).uuid;
  key.seq = seq;
  key.index = unit_index;
  return key;
}

bool ReadPath::Plan(const ReadSources& from, uint64_t offset, uint64_t length, uint8_t* buf,
                    std::vector<UnitFetch>* fetches, std::vector<CachedSpan>* hits) const {
  const VolumeState& state = *from.state;
  const uint64_t first = offset >> kBlockShift;
  const uint64_t last = (offset + length - 1) >> kBlockShift;
  const bool buffers_empty = from.active->empty() && !from.sealed->has_pending();
  UnitKey cached_key;
  UnitData cached;  // the last unit found in the cache, reused for its neighbours
  uint64_t b = first;
  while (b <= last) {
    uint64_t run = last - b + 1;
    if (!buffers_empty) {
      const uint8_t* data = nullptr;
      WriteBuffer::Hit hit = from.active->Lookup(b, &data);
      if (hit == WriteBuffer::Hit::kMiss) hit = from.sealed->Lookup(b, &data);
      if (hit != WriteBuffer::Hit::kMiss) {
        CopyBlocks(offset, length, buf, b, 1, hit == WriteBuffer::Hit::kData ? data : nullptr);
        ++b;
        continue;
      }
      run = 1;  // the next block may be buffered again
    }
    MapPiece piece = state.map.Lookup(b, run);
    uint64_t n = std::min(piece.blocks, run);
    if (!piece.mapped || piece.kind != ExtentKind::kData) {
      CopyBlocks(offset, length, buf, b, n, nullptr);
      b += n;
      continue;
    }
    uint64_t index = piece.index;
    while (n > 0) {
      uint32_t unit_index = 0;
      const UnitLoc* loc = state.FindUnit(piece.seq, index, &unit_index);
      if (!loc) {
        spdlog::error("volume {}: map points to segment {} block {} which has no unit", name_,
                      piece.seq, index);
        return false;
      }
      uint64_t in_unit = index - loc->first_block;
      uint64_t k = std::min<uint64_t>(n, loc->logical_length / kBlockSize - in_unit);
      UnitKey key = KeyFor(piece.seq, unit_index);
      if (!cached || !(cached_key == key)) {
        cached = cache_->Lookup(key);
        cached_key = key;
      }
      uint64_t start = std::max(offset, b << kBlockShift);
      uint64_t end = std::min(offset + length, (b + k) << kBlockShift);
      ReadSpan span{start - offset, (in_unit << kBlockShift) + (start - (b << kBlockShift)),
                    end - start};
      if (cached) {
        // Copied after the lock is released: a 1 MiB read must not hold writers for its copy.
        if (!hits->empty() && hits->back().unit == cached &&
            hits->back().span.dst + hits->back().span.len == span.dst &&
            hits->back().span.src + hits->back().span.len == span.src) {
          hits->back().span.len += span.len;
        } else {
          hits->push_back(CachedSpan{cached, span});
        }
      } else {
        auto same = std::find_if(fetches->begin(), fetches->end(),
                                 [&](const UnitFetch& f) { return f.unit.key == key; });
        if (same == fetches->end()) {
          UnitFetch fetch;
          fetch.unit = UnitRef{key, piece.seq, unit_index, *loc};
          fetches->push_back(std::move(fetch));
          same = fetches->end() - 1;
        }
        same->spans.push_back(span);
      }
      b += k;
      n -= k;
      index += k;
    }
  }
  return true;
}

void ReadPath::UncachedUnits(const VolumeState& state, uint64_t block, uint64_t blocks,
                             size_t max_units, uint64_t max_bytes,
                             std::vector<UnitRef>* out) const {
  uint64_t planned = 0;
  state.map.Visit(block, blocks, [&](const MapPiece& p) {
    if (!p.mapped || p.kind != ExtentKind::kData) return;
    uint64_t index = p.index;
    uint64_t n = p.blocks;
    while (n > 0 && out->size() < max_units && planned < max_bytes) {
      uint32_t unit_index = 0;
      const UnitLoc* loc = state.FindUnit(p.seq, index, &unit_index);
      if (!loc) return;
      uint64_t k =
          std::min<uint64_t>(n, loc->first_block + loc->logical_length / kBlockSize - index);
      UnitKey key = KeyFor(p.seq, unit_index);
      // The blocks of one unit come one after another in a visit.
      if ((out->empty() || !(out->back().key == key)) && !cache_->ContainsOrLoading(key)) {
        out->push_back(UnitRef{key, p.seq, unit_index, *loc});
        planned += loc->logical_length;
      }
      n -= k;
      index += k;
    }
  });
}

void ReadPath::NoteRead(const VolumeState& state, uint64_t offset, uint64_t length,
                        std::vector<UnitRef>* ahead) {
  const uint64_t first = offset >> kBlockShift;
  const uint64_t end_block = (offset + length + kBlockSize - 1) >> kBlockShift;
  if (first == sequential_next_block_ && end_block < volume_blocks_) {
    uint64_t span = std::max<uint64_t>(end_block - first, unit_size_ / kBlockSize);
    span = std::min({span, kReadAheadMaxBlocks, volume_blocks_ - end_block});
    UncachedUnits(state, end_block, span, kReadAheadMaxUnits, UINT64_MAX, ahead);
  }
  sequential_next_block_ = end_block;
}

void ReadPath::PlanCache(const VolumeState& state, uint64_t offset, uint64_t length,
                         std::vector<UnitRef>* units) const {
  // CACHE is advisory: at most half of the cache, so a whole-device CACHE cannot evict
  // everything else.
  if (length == 0) return;
  const uint64_t first = offset >> kBlockShift;
  const uint64_t last = (offset + length - 1) >> kBlockShift;
  UncachedUnits(state, first, last - first + 1, SIZE_MAX, cache_->capacity() / 2, units);
}

bool ReadPath::MergeBlock(const VolumeState& state, const HeldUnits& held, uint64_t lba,
                          uint8_t* out, UnitRef* need, bool* map_broken) const {
  MapPiece piece = state.map.Lookup(lba, 1);
  if (!piece.mapped || piece.kind != ExtentKind::kData) {
    std::memset(out, 0, kBlockSize);
    return true;
  }
  uint32_t unit_index = 0;
  const UnitLoc* loc = state.FindUnit(piece.seq, piece.index, &unit_index);
  if (!loc) {
    spdlog::error("volume {}: map points to segment {} block {} which has no unit", name_,
                  piece.seq, piece.index);
    *map_broken = true;
    return false;
  }
  const UnitKey key = KeyFor(piece.seq, unit_index);
  const uint64_t at = (piece.index - loc->first_block) << kBlockShift;
  for (const auto& [held_key, held_data] : held) {
    if (held_key == key) {
      std::memcpy(out, held_data->data() + at, kBlockSize);
      return true;
    }
  }
  if (UnitData cached = cache_->Lookup(key)) {
    std::memcpy(out, cached->data() + at, kBlockSize);
    return true;
  }
  *need = UnitRef{key, piece.seq, unit_index, *loc};
  return false;
}

Status UnitLoader::Load(const UnitRef& unit, UnitData* out) const {
  Status s = cache_->GetOrLoad(
      unit.key,
      [&](Bytes* bytes) {
        const SegmentSource from = layers_->For(unit.seq);
        return ReadUnit(*store_, SegmentKey(*from.volume, unit.seq), unit.seq, unit.unit_index,
                        unit.loc, *from.chain, bytes);
      },
      out);
  if (!s.ok()) spdlog::error("volume {}: {}", layers_->name(), s.ToString());
  return s;
}

void UnitLoader::Prefetch(const std::vector<UnitRef>& units) const {
  for (const UnitRef& u : units) {
    UnitData ignored;
    IgnoreError(Load(u, &ignored), "logged by Load; the real read reports it to its client");
  }
}

}  // namespace bp
