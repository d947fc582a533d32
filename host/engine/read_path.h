// ReadPath: the volume's part that plans reads. For each block of a request it finds the
// newest source — the active buffer, a sealed buffer not yet durable, the map (hole, zeros, or
// a unit of a durable segment) — copies what memory holds, and lists the units still to fetch.
// It also detects sequential streams and plans their read-ahead, and plans CACHE (prefetch)
// requests.
//
// ReadPath keeps the books (the sequential-stream detector) and is not thread-safe: the Volume
// holds its mutex around every call. UnitLoader does the fetching (store read, decode, cache
// insert) without the lock; it is immutable after construction and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "cache/unit_cache.h"
#include "engine/segment_committer.h"
#include "engine/unit_ref.h"
#include "engine/volume_layers.h"
#include "engine/volume_meta.h"
#include "engine/volume_state.h"
#include "engine/write_buffer.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// A unit to fetch and the pieces of it the request wants.
struct UnitFetch {
  UnitRef unit;
  std::vector<ReadSpan> spans;
};

// A span of a cached unit, copied into the request after the volume lock is released (the unit
// is immutable and kept alive by the reference).
struct CachedSpan {
  UnitData unit;
  ReadSpan span;
};

// Where a read looks, newest first. All are read under the volume's lock.
struct ReadSources {
  const WriteBuffer* active = nullptr;
  const SegmentCommitter* sealed = nullptr;
  const VolumeState* state = nullptr;
};

class ReadPath {
 public:
  // name: the volume's, for messages; layers: where each segment lives (unit cache keys carry
  // the uuid of the volume that wrote the unit). layers and cache must outlive this.
  ReadPath(std::string name, const VolumeLayers* layers, uint64_t volume_blocks, uint32_t unit_size,
           UnitCache* cache);

  UnitKey KeyFor(uint64_t seq, uint32_t unit_index) const;
  // The volume was resized: read-ahead stops at the new end.
  void set_volume_blocks(uint64_t blocks) { volume_blocks_ = blocks; }

  // Fill what memory holds of [offset, offset+length) into buf (cached units as *hits, copied
  // later without the lock) and list the units to fetch. False if the map is broken (points
  // into a segment with no such unit).
  bool Plan(const ReadSources& from, uint64_t offset, uint64_t length, uint8_t* buf,
            std::vector<UnitFetch>* fetches, std::vector<CachedSpan>* hits) const;
  // Note a read of [offset, offset+length); when it continues a sequential stream, list the
  // uncached units of the next blocks to read ahead.
  void NoteRead(const VolumeState& state, uint64_t offset, uint64_t length,
                std::vector<UnitRef>* ahead);
  // The uncached units a CACHE request of the range should load, at most half the cache.
  void PlanCache(const VolumeState& state, uint64_t offset, uint64_t length,
                 std::vector<UnitRef>* units) const;
  // The content of block lba according to the map, for a read-modify-write: fills out from a
  // unit in `held` or the cache and returns true, or sets *need. A hole or zero range reads as
  // zeros. *map_broken when the map points nowhere.
  bool MergeBlock(const VolumeState& state, const HeldUnits& held, uint64_t lba, uint8_t* out,
                  UnitRef* need, bool* map_broken) const;

 private:
  // Units of [block, block+blocks) not cached nor loading, at most max_units.
  void UncachedUnits(const VolumeState& state, uint64_t block, uint64_t blocks, size_t max_units,
                     uint64_t max_bytes, std::vector<UnitRef>* out) const;

  const std::string name_;
  const VolumeLayers* const layers_;
  uint64_t volume_blocks_;
  const uint32_t unit_size_;
  UnitCache* const cache_;
  uint64_t sequential_next_block_ = UINT64_MAX;
};

class UnitLoader {
 public:
  // All must outlive this. layers: where each segment is read from, and with which chain.
  UnitLoader(ObjectStore* store, UnitCache* cache, const VolumeLayers* layers)
      : store_(store), cache_(cache), layers_(layers) {}
  // The decoded unit, from the cache or the store (concurrent loads of one unit load it once).
  // Errors are logged.
  Status Load(const UnitRef& unit, UnitData* out) const;
  // Load each unit into the cache; failures are logged (the real read reports them).
  void Prefetch(const std::vector<UnitRef>& units) const;

 private:
  ObjectStore* const store_;
  UnitCache* const cache_;
  const VolumeLayers* const layers_;
};

}  // namespace bp
