// What a decoded segment meta or checkpoint must satisfy before the engine may trust it: unit
// tables that tile the data they describe (with block indexes that are exact, not wrapped), map
// extents inside the volume, and every DATA extent resolvable to the units that hold it. These
// are the assumptions the read path makes without re-checking; a decoder that accepts input
// breaking one of them lets a crafted object steer reads out of bounds.
#pragma once

#include <cstdint>

#include "engine/volume_state.h"

namespace bptest {

void CheckSegmentMeta(const bp::SegmentMeta& meta, uint64_t data_start, uint64_t object_size,
                      uint64_t volume_blocks);
void CheckVolumeState(const bp::VolumeState& state, uint64_t volume_blocks);

}  // namespace bptest
