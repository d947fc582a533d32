// ReadPath and UnitLoader implementation (see read_path.h).
#include "engine/read_path.h"

#include <algorithm>
#include <cstring>

#include <spdlog/spdlog.h>

#include "engine/object_format.h"
#include "engine/read_scratch.h"
#include "engine/segment_format.h"
#include "util/metrics.h"

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

std::atomic<int64_t>& RangedReadCounter() {
  static std::atomic<int64_t>& c = Metrics::Global().Counter(
      "unit_ranged_reads_total", "Ranged reads of stored units from the object store");
  return c;
}
std::atomic<int64_t>& RangedBytesCounter() {
  static std::atomic<int64_t>& c = Metrics::Global().Counter(
      "unit_ranged_read_bytes_total", "Bytes of stored units read from the object store");
  return c;
}
InFlightGauge& ReadsInFlight() {
  static InFlightGauge g("unit_reads_in_flight",
                         "Ranged reads of stored units from the object store running");
  return g;
}
std::atomic<int64_t>& ReadAheadCounter() {
  static std::atomic<int64_t>& c = Metrics::Global().Counter(
      "read_ahead_units_total", "Units planned for read-ahead of sequential streams");
  return c;
}

}  // namespace

ReadPath::ReadPath(std::string name, const VolumeLayers* layers, uint64_t volume_blocks,
                   uint32_t unit_size, UnitCache* cache, uint64_t read_ahead_max)
    : name_(std::move(name)),
      layers_(layers),
      volume_blocks_(volume_blocks),
      unit_size_(unit_size),
      cache_(cache),
      read_ahead_max_blocks_(read_ahead_max / kBlockSize) {}

UnitRef ReadPath::RefFor(const VolumeState& state, uint64_t seq, uint32_t unit_index,
                         const UnitLoc& loc) const {
  auto it = state.segments.find(seq);
  return UnitRef{KeyFor(seq, unit_index), seq, unit_index, loc,
                 it == state.segments.end() ? 0 : it->second.object_size};
}

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
          fetch.unit = RefFor(state, piece.seq, unit_index, *loc);
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
        out->push_back(RefFor(state, p.seq, unit_index, *loc));
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
  const uint64_t request = end_block - first;
  if (read_ahead_max_blocks_ == 0) return;
  // Clients with a queue depth send a stream's requests nearly at once and they may arrive a
  // little out of order: a read within the slack of where the stream continues still counts.
  const uint64_t slack = std::max<uint64_t>({ahead_window_blocks_, 2 * request, 256});
  const bool continues = sequential_next_block_ != UINT64_MAX &&
                         first + slack >= sequential_next_block_ &&
                         first <= sequential_next_block_ + slack;
  if (!continues) {
    sequential_next_block_ = end_block;
    ahead_window_blocks_ = 0;
    ahead_end_block_ = 0;
    return;
  }
  sequential_next_block_ = std::max(sequential_next_block_, end_block);
  const uint64_t unit_blocks = unit_size_ / kBlockSize;
  if (ahead_window_blocks_ == 0) {
    ahead_window_blocks_ =
        std::min(std::max<uint64_t>(2 * request, unit_blocks), read_ahead_max_blocks_);
  }
  const uint64_t at = sequential_next_block_;
  // Plan more once less than half a window lies prefetched ahead of the stream.
  if (ahead_end_block_ >= at + ahead_window_blocks_ / 2) return;
  const uint64_t from = std::max(at, ahead_end_block_);
  const uint64_t to = std::min(at + ahead_window_blocks_, volume_blocks_);
  if (from < to) {
    const size_t before = ahead->size();
    UncachedUnits(state, from, to - from, SIZE_MAX, UINT64_MAX, ahead);
    ReadAheadCounter().fetch_add(static_cast<int64_t>(ahead->size() - before),
                                 std::memory_order_relaxed);
    ahead_end_block_ = to;
  }
  ahead_window_blocks_ = std::min(ahead_window_blocks_ * 2, read_ahead_max_blocks_);
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
  *need = RefFor(state, piece.seq, unit_index, *loc);
  return false;
}

Status UnitLoader::Load(const UnitRef& unit, UnitData* out) const {
  std::vector<UnitData> one;
  Status s = LoadRun({unit}, &one);
  *out = one.empty() ? nullptr : one[0];
  return s;
}

std::vector<std::pair<size_t, size_t>> UnitLoader::GroupRuns(
    size_t n, const std::function<const UnitRef&(size_t)>& ref) const {
  std::vector<std::pair<size_t, size_t>> runs;
  uint64_t run_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    const UnitRef& u = ref(i);
    if (!runs.empty() && runs.back().second == i) {
      const UnitRef& prev = ref(i - 1);
      const bool adjacent = prev.seq == u.seq && prev.unit_index + 1 == u.unit_index &&
                            prev.loc.offset + prev.loc.stored_length == u.loc.offset;
      if (adjacent && run_bytes + u.loc.stored_length <= coalesce_max_) {
        runs.back().second = i + 1;
        run_bytes += u.loc.stored_length;
        continue;
      }
    }
    runs.emplace_back(i, i + 1);
    run_bytes = u.loc.stored_length;
  }
  return runs;
}

Status UnitLoader::Decoded(const UnitRef& u, const std::string& key, const uint8_t* stored,
                           uint64_t got, UnitData* out) const {
  // The buffer of a unit the cache evicted is decoded into in place: a stream of misses then
  // allocates, faults in and zero-fills nothing. Without a spare one the decoder allocates
  // what it writes.
  std::shared_ptr<Bytes> bytes = cache_->TakeSpare(u.loc.logical_length);
  if (!bytes) bytes = std::make_shared<Bytes>();
  Status s = DecodeStoredUnit(stored, got, key, u.seq, u.unit_index, u.loc,
                              *layers_->For(u.seq).chain, bytes.get());
  UnitData data = s.ok() ? UnitData(std::move(bytes)) : nullptr;
  cache_->Finish(u.key, s, data);
  *out = std::move(data);
  return s;
}

namespace {
DiskCacheKey DiskKey(const UnitRef& u) {
  DiskCacheKey k;
  k.volume = u.key.volume;
  k.seq = u.seq;
  k.unit = u.unit_index;
  return k;
}
UnitIdentity IdentityOf(const UnitRef& u) {
  return UnitIdentity{u.object_size, u.loc.offset, u.loc.stored_length, u.loc.logical_length,
                      u.loc.crc};
}
}  // namespace

Status UnitLoader::FetchRange(const std::string& key, const std::vector<UnitRef>& units,
                              size_t first, size_t last, std::vector<UnitData>* out) const {
  if (local_reads_ && last - first > 1) {
    // A local store has no round trip to save: read unit by unit, so each unit is checked and
    // decoded while it is still in the CPU's cache (a 2 MiB range would not be).
    Status first_error;
    for (size_t i = first; i < last; ++i) {
      Status s = FetchRange(key, units, i, i + 1, out);
      if (!s.ok() && first_error.ok()) first_error = s;
    }
    return first_error;
  }
  // At most coalesce_max bytes (or one unit), borrowed for this read.
  const uint64_t begin = units[first].loc.offset;
  const uint64_t end = units[last - 1].loc.offset + units[last - 1].loc.stored_length;
  ReadScratch::Lease scratch(end - begin);
  uint64_t got = 0;
  Status s;
  {
    InFlightGauge::Scope reading(&ReadsInFlight());
    s = store_->Read(key, begin, end - begin, scratch.data(), &got);
  }
  RangedReadCounter().fetch_add(1, std::memory_order_relaxed);
  RangedBytesCounter().fetch_add(static_cast<int64_t>(got), std::memory_order_relaxed);
  Status first_error;
  for (size_t i = first; i < last; ++i) {
    const UnitRef& u = units[i];
    if (!s.ok()) {
      cache_->Finish(u.key, s, nullptr);
      continue;
    }
    const uint64_t at = u.loc.offset - begin;
    const uint64_t have = got > at ? std::min<uint64_t>(got - at, u.loc.stored_length) : 0;
    Status us = Decoded(u, key, scratch.data() + at, have, &(*out)[i]);
    if (us.ok() && disk_ != nullptr) {
      disk_->Insert(DiskKey(u), IdentityOf(u), scratch.data() + at, u.loc.stored_length);
    }
    if (!us.ok() && first_error.ok()) first_error = us;
  }
  return s.ok() ? first_error : s.WithContext(key);
}

Status UnitLoader::LoadRun(const std::vector<UnitRef>& units, std::vector<UnitData>* out) const {
  out->assign(units.size(), nullptr);
  // Claim what nobody has or loads; what the disk cache holds is decoded from there.
  std::vector<uint8_t> fetch(units.size(), 0);
  std::vector<size_t> elsewhere;
  Status first_error;
  Bytes stored;
  for (size_t i = 0; i < units.size(); ++i) {
    const UnitRef& u = units[i];
    switch (cache_->TryClaim(u.key, &(*out)[i])) {
      case UnitCache::Claim::kCached: continue;
      case UnitCache::Claim::kLoading: elsewhere.push_back(i); continue;
      case UnitCache::Claim::kClaimed: break;
    }
    if (disk_ != nullptr && disk_->Lookup(DiskKey(u), IdentityOf(u), &stored)) {
      // Verified against the segment meta's checksum; a decode failure now means the store's
      // own bytes are bad, which a fetch reports as it would without the cache.
      UnitData data;
      if (Decoded(u, SegmentKey(*layers_->For(u.seq).volume, u.seq), stored.data(), stored.size(),
                  &data)
              .ok()) {
        (*out)[i] = std::move(data);
        continue;
      }
      switch (cache_->TryClaim(u.key, &(*out)[i])) {
        case UnitCache::Claim::kCached: continue;
        case UnitCache::Claim::kLoading: elsewhere.push_back(i); continue;
        case UnitCache::Claim::kClaimed: break;
      }
    }
    fetch[i] = 1;
  }
  // One ranged read per stretch of claimed units (the caller grouped adjacent units).
  std::string key;  // of the segment of the stretch, built once per segment
  uint64_t key_seq = 0;
  for (size_t i = 0; i < units.size();) {
    if (!fetch[i]) {
      ++i;
      continue;
    }
    size_t j = i + 1;
    while (j < units.size() && fetch[j] && units[j].seq == units[j - 1].seq &&
           units[j - 1].loc.offset + units[j - 1].loc.stored_length == units[j].loc.offset) {
      ++j;
    }
    if (key.empty() || key_seq != units[i].seq) {
      key = SegmentKey(*layers_->For(units[i].seq).volume, units[i].seq);
      key_seq = units[i].seq;
    }
    Status s = FetchRange(key, units, i, j, out);
    if (!s.ok() && first_error.ok()) first_error = s;
    i = j;
  }
  // Units another caller was loading: its load is running (claims are taken by running tasks
  // only), so this waits at most for one read. If it failed, load it again here.
  for (size_t i : elsewhere) {
    const UnitRef& u = units[i];
    Status s;
    for (int attempt = 0; attempt < 2; ++attempt) {
      s = cache_->GetOrLoad(
          u.key,
          [&](Bytes* bytes) {
            // Claimed by GetOrLoad itself: read and decode without another claim.
            thread_local Bytes scratch;
            if (scratch.size() < u.loc.stored_length) scratch.resize(u.loc.stored_length);
            uint64_t got = 0;
            const SegmentSource from = layers_->For(u.seq);
            const std::string key = SegmentKey(*from.volume, u.seq);
            {
              InFlightGauge::Scope reading(&ReadsInFlight());
              BP_RETURN_IF_ERROR(
                  store_->Read(key, u.loc.offset, u.loc.stored_length, scratch.data(), &got));
            }
            RangedReadCounter().fetch_add(1, std::memory_order_relaxed);
            RangedBytesCounter().fetch_add(static_cast<int64_t>(got), std::memory_order_relaxed);
            return DecodeStoredUnit(scratch.data(), got, key, u.seq, u.unit_index, u.loc,
                                    *from.chain, bytes);
          },
          &(*out)[i]);
      if (s.ok()) break;
    }
    if (!s.ok() && first_error.ok()) first_error = s;
  }
  if (!first_error.ok()) spdlog::error("volume {}: {}", layers_->name(), first_error.ToString());
  return first_error;
}

void UnitLoader::Prefetch(const std::vector<UnitRef>& units) const {
  for (const auto& [begin, end] :
       GroupRuns(units.size(), [&](size_t i) -> const UnitRef& { return units[i]; })) {
    std::vector<UnitRef> run(units.begin() + static_cast<ptrdiff_t>(begin),
                             units.begin() + static_cast<ptrdiff_t>(end));
    std::vector<UnitData> ignored;
    IgnoreError(LoadRun(run, &ignored), "logged by LoadRun; the real read reports it");
  }
}

uint64_t UnitLoader::RangedReads() { return static_cast<uint64_t>(RangedReadCounter().load()); }

}  // namespace bp
