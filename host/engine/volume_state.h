// VolumeState: the durable state of a volume as recovery rebuilds it and checkpoints persist
// it — the extent map plus, for every segment that still holds live data, its unit table
// (where each unit sits in the segment object, its stored and logical length and checksum).
// Applying a segment's map delta here is the single definition of what a segment means, used
// both by the live volume after an upload and by replay at open. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "engine/extent_map.h"

namespace bp {

// One encoded unit inside a segment object.
struct UnitLoc {
  uint64_t offset = 0;          // byte offset of the stored unit in the segment object
  uint32_t stored_length = 0;   // bytes stored (after the codec chain)
  uint32_t logical_length = 0;  // bytes after decoding; a multiple of 4096
  uint32_t first_block = 0;     // segment block index of the unit's first block
  uint32_t crc = 0;             // crc32c of the stored bytes
};

struct SegmentInfo {
  uint64_t object_size = 0;
  std::vector<UnitLoc> units;  // ordered by first_block
};

// One change a segment makes to the map. Ranges (ZERO/HOLE) apply before DATA runs.
struct DeltaRecord {
  ExtentKind kind = ExtentKind::kData;
  uint64_t lba = 0;
  uint64_t blocks = 0;
  uint64_t index = 0;  // kData: segment block index of the first block
};

// The decoded metadata block of a segment.
struct SegmentMeta {
  uint64_t seq = 0;
  uint32_t flags = 0;
  uint64_t data_length = 0;
  std::vector<UnitLoc> units;
  std::vector<DeltaRecord> records;
  // The writer run that wrote the segment and the first seq that run wrote (extension
  // kSegmentExtWriterRun, docs/format.md); 0 when the segment does not say (older writers).
  uint64_t run_id = 0;
  uint64_t run_first_seq = 0;
  // A restore marker (extension kSegmentExtRestore): before this segment applies, the map
  // becomes the volume's state at checkpoint restore_checkpoint replayed through restore_through.
  bool restore = false;
  uint64_t restore_checkpoint = 0;
  uint64_t restore_through = 0;
  uint64_t total_blocks() const {
    return units.empty() ? 0 : units.back().first_block + units.back().logical_length / 4096;
  }
};

struct VolumeState {
  ExtentMap map;
  std::map<uint64_t, SegmentInfo> segments;  // only segments with live blocks
  uint64_t through_seq = 0;                  // last segment applied

  // Apply one segment (seq must be through_seq + 1 during replay; not enforced here).
  void ApplySegment(const SegmentMeta& meta, uint64_t object_size);

  // The same in slices, for a caller that lets readers in between slices (the live volume does,
  // while the segment's write buffer still answers for every block the segment touches).
  // The unit table is registered first, so a map entry that already points into the segment
  // always resolves. Returns true once the whole segment is applied.
  struct ApplyCursor {
    int pass = 0;     // 0 registers the units, 1 applies ranges, 2 applies data, 3 is done
    size_t next = 0;  // next record of the current pass
  };
  bool ApplySegmentSlice(const SegmentMeta& meta, uint64_t object_size, ApplyCursor* cursor,
                         size_t max_records);
  // Drop unit tables of segments that no longer hold live data.
  void PruneSegments();
  // Unit holding segment block `index` of segment seq, or nullptr.
  const UnitLoc* FindUnit(uint64_t seq, uint64_t index, uint32_t* unit_index) const;
  uint64_t StoredBytes() const;
};

}  // namespace bp
