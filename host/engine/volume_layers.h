// VolumeLayers: where the segments of a volume live. A volume's own segments are under its own
// prefix, read with its uuid and codec chain. A clone (snapshot_format.h) also has bases: its
// map points at a base's segments for seqs up to that base's through_seq, which are read from
// the base volume's prefix with the base's uuid and codec chain — the uuid its segment headers
// and the encrypt codec's associated data were bound to when the base wrote them, so a shared
// segment is read exactly as its writer wrote it and never re-encoded.
//
// Seqs identify segments across layers because a clone's log continues its last base's: its
// first own segment is the last base's through_seq + 1.
//
// Immutable after construction and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/object_format.h"
#include "engine/snapshot_format.h"
#include "engine/volume_state.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// Where one segment is read from.
struct SegmentSource {
  const std::string* volume = nullptr;  // the volume whose prefix holds it
  const Uuid* uuid = nullptr;           // that volume's uuid
  const CodecChain* chain = nullptr;    // its codec chain
};

class VolumeLayers {
 public:
  struct Base {
    CloneBase base;
    std::unique_ptr<CodecChain> chain;  // opened with base.uuid and base.codecs
  };

  // own_chain must outlive this. bases: oldest first, through_seqs increasing.
  VolumeLayers(std::string name, const Uuid& uuid, const CodecChain* own_chain,
               std::vector<Base> bases);

  // Open the chains of `meta`'s clone bases (none for a volume that is no clone).
  static Status OpenBases(CodecFactory& codecs, const std::vector<Extension>& meta_extensions,
                          std::vector<Base>* out);

  SegmentSource For(uint64_t seq) const;
  // The last seq of the bases (0 for a volume that is no clone): own segments come after it.
  uint64_t base_through() const { return bases_.empty() ? 0 : bases_.back().base.through_seq; }
  const std::vector<Base>& bases() const { return bases_; }
  const std::string& name() const { return name_; }
  const Uuid& uuid() const { return uuid_; }
  const CodecChain& chain() const { return *own_chain_; }

  // The volume's state at `through_seq` rebuilt from checkpoint `checkpoint_seq` (0: its
  // initial state, empty or its base's snapshot) and its segments after it, strictly: a segment
  // that is missing or invalid is an error (Corrupt naming it), never a shorter replay.
  // volume_blocks bounds the map.
  Status LoadStateAt(ObjectStore& store, uint64_t volume_blocks, uint64_t checkpoint_seq,
                     uint64_t through_seq, VolumeState* out) const;
  // The initial state of a clone: its last base at that base's snapshot (empty for others).
  Status LoadBaseState(ObjectStore& store, uint64_t volume_blocks, VolumeState* out) const;

 private:
  // The same for layer `layer` (bases_.size() is the volume itself).
  Status LoadLayerAt(ObjectStore& store, size_t layer, uint64_t volume_blocks,
                     uint64_t checkpoint_seq, uint64_t through_seq, VolumeState* out) const;

  const std::string name_;
  const Uuid uuid_;
  const CodecChain* const own_chain_;
  const std::vector<Base> bases_;
};

}  // namespace bp
