// VolumeState: applying segment deltas and finding units.
#include "engine/volume_state.h"

#include <algorithm>
#include <cstdint>

namespace bp {

void VolumeState::ApplySegment(const SegmentMeta& meta, uint64_t object_size) {
  ApplyCursor cursor;
  ApplySegmentSlice(meta, object_size, &cursor, SIZE_MAX);
}

bool VolumeState::ApplySegmentSlice(const SegmentMeta& meta, uint64_t object_size,
                                    ApplyCursor* cursor, size_t max_records) {
  if (cursor->pass == 0) {
    const bool has_data =
        std::any_of(meta.records.begin(), meta.records.end(),
                    [](const DeltaRecord& r) { return r.kind == ExtentKind::kData; });
    if (has_data) segments[meta.seq] = SegmentInfo{object_size, meta.units};
    cursor->pass = 1;
    cursor->next = 0;
  }
  // Within one segment every data block is newer than every range (see WriteBuffer), so ranges
  // go first and data second.
  size_t budget = max_records;
  while (cursor->pass < 3) {
    const bool ranges = cursor->pass == 1;
    for (; cursor->next < meta.records.size(); ++cursor->next) {
      if (budget == 0) return false;
      const DeltaRecord& r = meta.records[cursor->next];
      if (ranges && r.kind == ExtentKind::kZero) {
        map.Assign(r.lba, r.blocks, ExtentKind::kZero);
      } else if (ranges && r.kind == ExtentKind::kHole) {
        map.Erase(r.lba, r.blocks);
      } else if (!ranges && r.kind == ExtentKind::kData) {
        // A segment of scattered writes updates extents all over a map that is not in cache:
        // loading a later record's place while this one is assigned halves the apply
        // (measured: 360 to 190 ns a record on a map of 260,000 extents).
        constexpr size_t kAhead = 4;
        if (cursor->next + kAhead < meta.records.size()) {
          map.Prefetch(meta.records[cursor->next + kAhead].lba);
        }
        map.Assign(r.lba, r.blocks, ExtentKind::kData, meta.seq, r.index);
      } else {
        continue;
      }
      --budget;
    }
    cursor->pass++;
    cursor->next = 0;
  }
  through_seq = std::max(through_seq, meta.seq);
  PruneSegments();
  return true;
}

void VolumeState::PruneSegments() {
  for (uint64_t seq : map.TakeEmptiedSegments()) {
    if (map.LiveBlocks(seq) == 0) segments.erase(seq);
  }
}

const UnitLoc* VolumeState::FindUnit(uint64_t seq, uint64_t index, uint32_t* unit_index) const {
  auto it = segments.find(seq);
  if (it == segments.end()) return nullptr;
  const auto& units = it->second.units;
  auto u = std::upper_bound(units.begin(), units.end(), index,
                            [](uint64_t i, const UnitLoc& loc) { return i < loc.first_block; });
  if (u == units.begin()) return nullptr;
  --u;
  if (index >= u->first_block + u->logical_length / 4096) return nullptr;
  *unit_index = static_cast<uint32_t>(u - units.begin());
  return &*u;
}

uint64_t VolumeState::StoredBytes() const {
  uint64_t total = 0;
  for (const auto& [seq, info] : segments) total += info.object_size;
  return total;
}

}  // namespace bp
