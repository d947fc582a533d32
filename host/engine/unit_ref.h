// UnitRef: one stored unit a request needs — its cache key and where it lies in which segment —
// and ReadSpan, a piece of a unit copied into a request's buffer. Shared by the read path (which
// plans fetches) and the write path (whose read-modify-write of a partial block may need a unit
// first).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "cache/unit_cache.h"
#include "engine/volume_state.h"

namespace bp {

struct UnitRef {
  UnitKey key;
  uint64_t seq = 0;
  uint32_t unit_index = 0;
  UnitLoc loc;
  uint64_t object_size = 0;  // of the segment object (part of the unit's identity on disk)
};

// Bytes [src, src+len) of a unit go to [dst, dst+len) of the request buffer.
struct ReadSpan {
  uint64_t dst = 0, src = 0, len = 0;
};

// Units a read-modify-write has fetched, kept alive across its retries.
using HeldUnits = std::vector<std::pair<UnitKey, UnitData>>;

}  // namespace bp
