// ExtentMap: a sparse map from logical block ranges to where their contents live, at 4 KiB
// block granularity. It is the volume's map (DATA and ZERO extents; absence is a hole) and also
// the write buffer's range overlay (ZERO and explicit HOLE ranges that hide older layers).
//
// Extents are kept in a ChunkedMap keyed by first block (sorted chunks: a lookup is two binary
// searches over contiguous memory, an insert allocates nothing), never overlapping, and
// adjacent extents that continue each other are merged, so a sequential write of any length is
// one entry. Every operation costs O(log n + extents touched): trimming a whole 1 EiB volume is
// as cheap as the extents it actually removes. The map also keeps the number of live DATA blocks
// per segment, which is what garbage collection will need. Not thread-safe: the owner locks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <unordered_map>
#include <vector>

#include "engine/chunked_map.h"

namespace bp {

enum class ExtentKind : uint8_t {
  kData = 1,  // blocks stored in segment `seq` at segment block `index` onward
  kZero = 2,  // allocated, reads as zeros, nothing stored
  kHole = 3,  // explicit hole (write-buffer overlays only; the volume map stores holes as absence)
};

struct Extent {
  uint64_t blocks = 0;
  ExtentKind kind = ExtentKind::kData;
  uint64_t seq = 0;    // kData: segment sequence number
  uint64_t index = 0;  // kData: block index within the segment's data of the first block
};

// A piece of a queried range: either a part of an extent (mapped) or a gap (not mapped).
struct MapPiece {
  uint64_t lba = 0;
  uint64_t blocks = 0;
  bool mapped = false;
  ExtentKind kind = ExtentKind::kHole;
  uint64_t seq = 0;
  uint64_t index = 0;  // already advanced to this piece's first block
};

class ExtentMap {
 public:
  using Map = ChunkedMap<Extent>;

  // Map [lba, lba+blocks) to one extent, replacing whatever was there.
  void Assign(uint64_t lba, uint64_t blocks, ExtentKind kind, uint64_t seq = 0, uint64_t index = 0);
  // Remove every mapping in [lba, lba+blocks).
  void Erase(uint64_t lba, uint64_t blocks);
  void Clear();

  // The extent containing lba as a one-block-or-longer piece starting at lba; mapped=false and
  // blocks = distance to the next extent (or `limit`) when lba is not mapped.
  MapPiece Lookup(uint64_t lba, uint64_t limit) const;

  // Call fn(const MapPiece&) for consecutive pieces covering [lba, lba+blocks), gaps included.
  template <typename Fn>
  void Visit(uint64_t lba, uint64_t blocks, Fn&& fn) const {
    const uint64_t end = lba + blocks;
    uint64_t pos = lba;
    auto it = map_.upper_bound(lba);
    if (it != map_.begin()) {
      auto prev = std::prev(it);
      if (prev->first + prev->second.blocks > lba) it = prev;
    }
    while (pos < end) {
      if (it == map_.end() || it->first >= end) {
        fn(MapPiece{pos, end - pos, false, ExtentKind::kHole, 0, 0});
        return;
      }
      if (it->first > pos) {
        fn(MapPiece{pos, it->first - pos, false, ExtentKind::kHole, 0, 0});
        pos = it->first;
      }
      const Extent& e = it->second;
      uint64_t skip = pos - it->first;
      uint64_t stop = std::min(end, it->first + e.blocks);
      fn(MapPiece{pos, stop - pos, true, e.kind, e.seq,
                  e.kind == ExtentKind::kData ? e.index + skip : 0});
      pos = stop;
      ++it;
    }
  }

  // A hint that lba will be assigned or looked up soon (see ChunkedMap::Prefetch).
  void Prefetch(uint64_t lba) const { map_.Prefetch(lba); }

  bool empty() const { return map_.empty(); }
  size_t extent_count() const { return map_.size(); }
  uint64_t data_blocks() const { return data_blocks_; }
  // Live DATA blocks per segment seq (segments with none are absent).
  const std::unordered_map<uint64_t, uint64_t>& live_blocks() const { return live_; }
  uint64_t LiveBlocks(uint64_t seq) const;
  // Segments whose live block count dropped to zero since the last call.
  std::vector<uint64_t> TakeEmptiedSegments();

  const Map& extents() const { return map_; }

 private:
  // Cut extents so that no extent straddles `at`.
  void SplitAt(uint64_t at);
  // Join the extent starting at `at` with neighbours that continue it.
  void MergeAround(uint64_t at);
  // True when the extent at `it` and a neighbour continue each other (MergeAround would join them).
  bool ContinuedByNeighbour(Map::const_iterator it) const;
  void Account(const Extent& e, int64_t sign, uint64_t blocks);
  static bool Continues(uint64_t prev_lba, const Extent& prev, uint64_t lba, const Extent& next);

  Map map_;
  uint64_t data_blocks_ = 0;
  std::unordered_map<uint64_t, uint64_t> live_;
  std::vector<uint64_t> emptied_;
};

}  // namespace bp
