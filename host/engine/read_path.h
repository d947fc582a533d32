// ReadPath: the volume's part that plans reads. For each block of a request it finds the
// newest source — the active buffer, a sealed buffer not yet durable, the map (hole, zeros, or
// a unit of a durable segment) — copies what memory holds, and lists the units still to fetch.
// It also detects sequential streams and plans their read-ahead, and plans CACHE (prefetch)
// requests.
//
// Read-ahead is adaptive: a read that continues a stream (within a window's slack, so requests
// a queue-depth-8 client sends slightly out of order still count) extends the prefetched range
// to the window ahead of the stream once less than half a window is left, and doubles the
// window, from twice the request size up to read_ahead_max. A read elsewhere ends the stream.
//
// ReadPath keeps the books (the sequential-stream detector) and is not thread-safe: the Volume
// holds its mutex around every call. UnitLoader does the fetching (store read, decode, cache
// insert) without the lock; it is immutable after construction and thread-safe. It loads units
// a run at a time: the units of one segment that lie next to each other in the object are
// read with one ranged GET (up to read_coalesce_max bytes), after the disk cache (when there
// is one) had its say; concurrent loads of one unit still load it once (UnitCache::TryClaim).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cache/disk_cache.h"
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
  // read_ahead_max: bytes a stream reads ahead at most (0: no read-ahead).
  ReadPath(std::string name, const VolumeLayers* layers, uint64_t volume_blocks, uint32_t unit_size,
           UnitCache* cache, uint64_t read_ahead_max = 8ull << 20);

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
  // The UnitRef of a unit of segment seq (its object size comes from the state).
  UnitRef RefFor(const VolumeState& state, uint64_t seq, uint32_t unit_index,
                 const UnitLoc& loc) const;

  UnitCache* const cache_;
  const uint64_t read_ahead_max_blocks_;
  uint64_t sequential_next_block_ = UINT64_MAX;  // where the stream continues
  uint64_t ahead_window_blocks_ = 0;             // current read-ahead window; 0 = no stream
  uint64_t ahead_end_block_ = 0;                 // read-ahead was planned up to here
};

class UnitLoader {
 public:
  // All must outlive this; disk may be null (no disk cache). layers: where each segment is read
  // from, and with which chain. coalesce_max: most bytes one ranged GET fetches for a run of
  // adjacent units.
  // local_reads: the store reads from local files (BP_BACKEND_CAP_LOCAL_READS); a run is then
  // read unit by unit (no round trip to save; each unit is checked while in the CPU cache).
  UnitLoader(ObjectStore* store, UnitCache* cache, DiskCache* disk, const VolumeLayers* layers,
             uint64_t coalesce_max = 2ull << 20, bool local_reads = false)
      : store_(store),
        cache_(cache),
        disk_(disk),
        layers_(layers),
        coalesce_max_(coalesce_max),
        local_reads_(local_reads) {}
  // The decoded unit, from the caches or the store (concurrent loads of one unit load it once).
  // Errors are logged.
  Status Load(const UnitRef& unit, UnitData* out) const;
  // Load units that GroupRuns put in one run; (*out)[i] is units[i] decoded, or null when it
  // failed (the first error is returned, and logged).
  Status LoadRun(const std::vector<UnitRef>& units, std::vector<UnitData>* out) const;
  // Load each unit into the cache, a run at a time; failures are logged (the real read
  // reports them).
  void Prefetch(const std::vector<UnitRef>& units) const;
  // Split n units (ref(i) for i < n, in the given order) into runs [begin, end) that LoadRun
  // can fetch together: consecutive units of one segment, adjacent in the object, at most
  // coalesce_max bytes (a larger unit is a run of its own).
  std::vector<std::pair<size_t, size_t>> GroupRuns(
      size_t n, const std::function<const UnitRef&(size_t)>& ref) const;

  // Stored-byte reads of runs (one ranged GET each) since start, for tests and metrics.
  static uint64_t RangedReads();

 private:
  // Fetch units[first, last) (claimed, adjacent, of the segment object `key`) with one ranged
  // read; finish each claim.
  Status FetchRange(const std::string& key, const std::vector<UnitRef>& units, size_t first,
                    size_t last, std::vector<UnitData>* out) const;
  // Decode stored bytes of unit u (of object `key`, for messages), finish its claim and store
  // it in *out.
  Status Decoded(const UnitRef& u, const std::string& key, const uint8_t* stored, uint64_t got,
                 UnitData* out) const;

  ObjectStore* const store_;
  UnitCache* const cache_;
  DiskCache* const disk_;
  const VolumeLayers* const layers_;
  const uint64_t coalesce_max_;
  const bool local_reads_;
};

}  // namespace bp
