// Fuzz target: checkpoint objects as a volume open reads them. The first input byte selects
// checksum repair (object_fixups.h) and, with bit 3, ParseCheckpoint on the rest alone; else the
// rest is a whole checkpoint object read back with ReadCheckpoint from an in-memory store through
// the identity chain, with uuid and seq taken from the object's own header. An accepted
// checkpoint must yield a VolumeState the read path can trust (state_properties.h), and
// serializing that state must give a body that parses back to the same serialization.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "engine/checkpoint_format.h"
#include "engine/object_format.h"
#include "engine/volume_state.h"
#include "support/fuzz_check.h"
#include "support/identity_volumes.h"
#include "support/memory_store.h"
#include "support/object_fixups.h"
#include "support/state_properties.h"

namespace {

constexpr uint64_t kVolumeBlocks = 1ull << 20;

void CheckAccepted(const bp::VolumeState& state) {
  bptest::CheckVolumeState(state, kVolumeBlocks);
  bp::Bytes body = bp::SerializeCheckpoint(state);
  bp::VolumeState again;
  bp::Status st = bp::ParseCheckpoint(body.data(), body.size(), kVolumeBlocks, &again);
  FUZZ_CHECK(st.ok(), "serialized checkpoint does not parse: " + st.ToString());
  FUZZ_CHECK(bp::SerializeCheckpoint(again) == body, "checkpoint round trip changes it");
}

void CheckRefusal(const bp::Status& st) {
  FUZZ_CHECK(st.IsCorrupt() || st.code() == bp::Status::Code::kUnsupported, st.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  if (mode & 8) {
    bp::VolumeState state;
    bp::Status st = bp::ParseCheckpoint(data + 1, size - 1, kVolumeBlocks, &state);
    if (st.ok()) CheckAccepted(state);
    else CheckRefusal(st);
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
  const std::string key = bp::CheckpointKey("fuzz", seq);
  bp::MemoryStore store;
  store.Poke(key, object);
  auto chain = bptest::IdentityChain(uuid.data());
  bp::VolumeState state;
  bp::Status st = bp::ReadCheckpoint(store, key, seq, uuid, *chain, kVolumeBlocks, &state);
  if (!st.ok()) {
    CheckRefusal(st);
    return 0;
  }
  FUZZ_CHECK(state.through_seq == seq, "checkpoint accepted for another seq");
  CheckAccepted(state);
  return 0;
}
