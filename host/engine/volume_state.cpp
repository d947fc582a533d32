// VolumeState: applying segment deltas and finding units.
#include "engine/volume_state.h"

#include <algorithm>

namespace bp {

void VolumeState::ApplySegment(const SegmentMeta& meta, uint64_t object_size) {
  // Within one segment every data block is newer than every range (see WriteBuffer), so ranges
  // go first and data second.
  for (const DeltaRecord& r : meta.records) {
    if (r.kind == ExtentKind::kZero) map.Assign(r.lba, r.blocks, ExtentKind::kZero);
    if (r.kind == ExtentKind::kHole) map.Erase(r.lba, r.blocks);
  }
  bool has_data = false;
  for (const DeltaRecord& r : meta.records) {
    if (r.kind != ExtentKind::kData) continue;
    map.Assign(r.lba, r.blocks, ExtentKind::kData, meta.seq, r.index);
    has_data = true;
  }
  if (has_data) segments[meta.seq] = SegmentInfo{object_size, meta.units};
  through_seq = std::max(through_seq, meta.seq);
  PruneSegments();
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
