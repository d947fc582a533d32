// Fuzz target: segment objects as recovery reads them. The input's first byte selects which
// checksums to repair (object_fixups.h) and whether to feed the rest to ParseSegmentMeta alone
// (bit 3); the rest is a whole segment object. It is stored in an in-memory object store and
// read back with ReadSegmentMeta through the identity codec chain, taking the uuid and sequence
// from the object's own header so the fuzzer is not stuck guessing them. A segment that
// validates must satisfy state_properties.h, survive a serialize/parse round trip, have every
// unit readable as exactly its logical length (or fail cleanly), and apply to a VolumeState
// without breaking the map's invariants.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/object_format.h"
#include "engine/segment_format.h"
#include "engine/volume_state.h"
#include "support/fuzz_check.h"
#include "support/identity_volumes.h"
#include "support/memory_store.h"
#include "support/object_fixups.h"
#include "support/state_properties.h"

namespace {

// 4 GiB worth of blocks: large enough for any delta a small input can describe.
constexpr uint64_t kVolumeBlocks = 1ull << 20;
constexpr size_t kMaxUnitsRead = 64;

void CheckRoundTrip(const bp::SegmentMeta& meta, uint64_t data_start) {
  bp::Bytes again = bp::SerializeSegmentMeta(meta, data_start);
  bp::SegmentMeta reparsed;
  bp::Status st =
      bp::ParseSegmentMeta(again.data(), again.size(), data_start, kVolumeBlocks, &reparsed);
  FUZZ_CHECK(st.ok(), "re-serialized meta does not parse: " + st.ToString());
  FUZZ_CHECK(bp::SerializeSegmentMeta(reparsed, data_start) == again, "round trip changes meta");
}

void ParseMetaOnly(const uint8_t* data, size_t size) {
  const uint64_t data_start = 80 + size;
  bp::SegmentMeta meta;
  bp::Status st = bp::ParseSegmentMeta(data, size, data_start, kVolumeBlocks, &meta);
  if (!st.ok()) {
    FUZZ_CHECK(st.IsCorrupt() || st.code() == bp::Status::Code::kUnsupported, st.ToString());
    return;
  }
  // Without an object the units may point anywhere past data_start; bound them by the meta.
  bptest::CheckSegmentMeta(meta, data_start, data_start + meta.data_length, kVolumeBlocks);
  CheckRoundTrip(meta, data_start);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  if (mode & 8) {
    ParseMetaOnly(data + 1, size - 1);
    return 0;
  }
  std::vector<uint8_t> object(data + 1, data + size);
  bptest::ApplyObjectFixups(&object, mode);

  bp::Uuid uuid{};
  uint64_t seq = 0;
  if (object.size() >= 32) {
    std::memcpy(uuid.data(), object.data() + 8, 16);
    for (int i = 0; i < 8; ++i) seq |= uint64_t{object[24 + i]} << (8 * i);
  }
  const std::string key = bp::SegmentKey("fuzz", seq);
  bp::MemoryStore store;
  store.Poke(key, object);
  auto chain = bptest::IdentityChain(uuid.data());

  bp::SegmentMeta meta;
  uint64_t object_size = 0;
  const uint64_t listed = (mode & 16) ? 0 : object.size();
  bp::Status st = bp::ReadSegmentMeta(store, key, seq, uuid, *chain, kVolumeBlocks, listed, &meta,
                                      &object_size);
  if (!st.ok()) {
    FUZZ_CHECK(st.IsCorrupt() || st.code() == bp::Status::Code::kUnsupported, st.ToString());
    return 0;
  }
  FUZZ_CHECK(object_size == object.size() || listed == 0, "object size disagrees with listing");
  const uint64_t data_start =
      meta.units.empty() ? object_size - meta.data_length : meta.units.front().offset;
  bptest::CheckSegmentMeta(meta, data_start, object_size, kVolumeBlocks);
  CheckRoundTrip(meta, data_start);

  for (size_t i = 0; i < std::min(meta.units.size(), kMaxUnitsRead); ++i) {
    bp::Bytes unit;
    bp::Status read =
        bp::ReadUnit(store, key, seq, static_cast<uint32_t>(i), meta.units[i], *chain, &unit);
    if (read.ok()) {
      FUZZ_CHECK(unit.size() == meta.units[i].logical_length, "unit decoded to the wrong size");
    } else {
      FUZZ_CHECK(read.IsCorrupt(), read.ToString());
    }
  }

  bp::VolumeState state;
  state.ApplySegment(meta, object_size);
  bptest::CheckVolumeState(state, kVolumeBlocks);
  return 0;
}
