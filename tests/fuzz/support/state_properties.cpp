// The checks of state_properties.h. Block arithmetic is done in 64 bits here on purpose, so a
// decoder that wraps a 32-bit index disagrees with it.
#include "state_properties.h"

#include <string>

#include "engine/object_format.h"
#include "fuzz_check.h"

namespace bptest {
namespace {

// Units must follow each other with exact, unwrapped first_block values. Returns total blocks.
uint64_t CheckUnits(const std::vector<bp::UnitLoc>& units, uint64_t object_size) {
  uint64_t blocks = 0;
  for (size_t i = 0; i < units.size(); ++i) {
    const bp::UnitLoc& u = units[i];
    FUZZ_CHECK(u.first_block == blocks, "unit " + std::to_string(i) + " first_block " +
                                            std::to_string(u.first_block) + " but " +
                                            std::to_string(blocks) + " blocks precede it");
    FUZZ_CHECK(u.logical_length > 0 && u.logical_length % bp::kBlockSize == 0,
               "unit logical length is not whole blocks");
    FUZZ_CHECK(u.stored_length > 0, "empty stored unit accepted");
    FUZZ_CHECK(u.offset <= object_size && u.stored_length <= object_size - u.offset,
               "unit " + std::to_string(i) + " lies outside its object");
    blocks += u.logical_length / bp::kBlockSize;
  }
  return blocks;
}

}  // namespace

void CheckSegmentMeta(const bp::SegmentMeta& meta, uint64_t data_start, uint64_t object_size,
                      uint64_t volume_blocks) {
  const uint64_t blocks = CheckUnits(meta.units, object_size);
  uint64_t next = data_start;
  for (const bp::UnitLoc& u : meta.units) {
    FUZZ_CHECK(u.offset == next, "segment units do not tile the data");
    next += u.stored_length;
  }
  FUZZ_CHECK(next - data_start == meta.data_length, "units do not fill the data");
  FUZZ_CHECK(meta.total_blocks() == blocks, "total_blocks() disagrees with the unit table");
  for (const bp::DeltaRecord& r : meta.records) {
    FUZZ_CHECK(r.blocks > 0 && r.lba < volume_blocks && r.blocks <= volume_blocks - r.lba,
               "delta record outside the volume");
    if (r.kind == bp::ExtentKind::kData) {
      FUZZ_CHECK(r.index <= blocks && r.blocks <= blocks - r.index,
                 "data record points past the units");
    }
  }
}

void CheckVolumeState(const bp::VolumeState& state, uint64_t volume_blocks) {
  for (const auto& [seq, info] : state.segments) {
    FUZZ_CHECK(seq <= state.through_seq, "segment newer than the state");
    FUZZ_CHECK(!info.units.empty(), "segment without units");
    CheckUnits(info.units, info.object_size);
  }
  uint64_t previous_end = 0;
  for (const auto& [lba, e] : state.map.extents()) {
    FUZZ_CHECK(lba >= previous_end, "overlapping extents");
    FUZZ_CHECK(e.blocks > 0 && lba < volume_blocks && e.blocks <= volume_blocks - lba,
               "extent outside the volume");
    previous_end = lba + e.blocks;
    if (e.kind != bp::ExtentKind::kData) {
      FUZZ_CHECK(e.kind == bp::ExtentKind::kZero, "hole stored as an extent");
      continue;
    }
    // The read path resolves blocks with FindUnit and then indexes into the decoded unit.
    for (uint64_t index : {e.index, e.index + e.blocks - 1}) {
      uint32_t unit_index = 0;
      const bp::UnitLoc* loc = state.FindUnit(e.seq, index, &unit_index);
      FUZZ_CHECK(loc != nullptr, "data extent at block " + std::to_string(lba) +
                                     " names segment block " + std::to_string(index) +
                                     " that no unit holds");
      FUZZ_CHECK(index >= loc->first_block &&
                     index - loc->first_block < loc->logical_length / bp::kBlockSize,
                 "FindUnit returned a unit that does not hold the block");
    }
  }
}

}  // namespace bptest
