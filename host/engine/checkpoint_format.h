// Checkpoint objects: the whole VolumeState (extent map and the unit tables of segments with
// live data) through one segment seq, encoded through the codec chain as a BP_UNIT_CHECKPOINT
// unit behind the plain header. Opening a volume starts from the newest checkpoint that
// validates and replays only later segments.
#pragma once

#include <cstdint>
#include <string>

#include "engine/object_format.h"
#include "engine/volume_state.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"

namespace bp {

// The plain body (before encoding) of a checkpoint of `state` through state.through_seq.
Bytes SerializeCheckpoint(const VolumeState& state);
Status ParseCheckpoint(const uint8_t* p, size_t n, uint64_t volume_blocks, VolumeState* out);

// Encode a serialized body into a whole checkpoint object for seq.
Status BuildCheckpointObject(const Bytes& plain, uint64_t seq, const Uuid& uuid,
                             const CodecChain& chain, Bytes* object);
// Fetch, validate and decode checkpoint `seq` into its plain body; Corrupt for anything invalid.
Status ReadCheckpointBody(ObjectStore& store, const std::string& key, uint64_t seq,
                          const Uuid& uuid, const CodecChain& chain, Bytes* plain);
// Fetch and validate checkpoint `seq`; Corrupt for anything invalid.
Status ReadCheckpoint(ObjectStore& store, const std::string& key, uint64_t seq, const Uuid& uuid,
                      const CodecChain& chain, uint64_t volume_blocks, VolumeState* out);

}  // namespace bp
