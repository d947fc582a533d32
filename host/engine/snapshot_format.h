// Snapshot records, clone references and the clone-base extension of a volume's metadata: the
// three small objects that snapshots and clones add to the volume format (docs/format.md,
// "Snapshots and clones").
//
// A snapshot costs one small object whatever the volume's size: it names a checkpoint C that the
// volume already stored and the last segment S it covers. The snapshot's map is checkpoint C with
// segments C+1..S replayed, exactly as recovery would rebuild the volume at S; the engine keeps
// checkpoint C and every segment that map needs (snapshot_catalog.h).
//
// A clone is a volume whose log continues another volume's snapshot: its metadata lists its
// bases (the snapshot it was made from, and that volume's own bases if it is a clone too), its
// map points at the bases' segments for seqs up to the last base's through_seq and at its own
// segments after it. Each base volume holds a clone reference record for the clone, which pins
// what the clone needs there even after the snapshot or the base volume itself is deleted.
//
// Everything here is a pure function of its arguments and thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/object_format.h"
#include "engine/volume_meta.h"
#include "pipeline/codec_chain.h"
#include "util/status.h"

namespace bp {

// volumes/<name>/snap/<snapshot>. Header: magic BPSN, the volume's uuid, seq = through_seq.
struct SnapshotRecord {
  std::string name;              // the snapshot's name (the key's last part)
  uint64_t created_unix_ms = 0;  // when it was taken
  // The checkpoint its map starts from (a kept checkpoint of the volume while the snapshot
  // exists), or 0: the volume's initial state (empty, or a clone's base).
  uint64_t checkpoint_seq = 0;
  uint64_t through_seq = 0;  // the last segment it covers (>= checkpoint_seq)
  uint64_t size = 0;         // the volume's size in bytes when it was taken
  std::vector<Extension> extensions;
};

Bytes EncodeSnapshotObject(const Uuid& volume_uuid, const SnapshotRecord& record);
// Corrupt for anything malformed; *volume_uuid receives the header's uuid (the caller checks it).
Status DecodeSnapshotObject(const uint8_t* p, size_t n, Uuid* volume_uuid, SnapshotRecord* out);

// volumes/<base>/refs/<clone uuid>. Header: magic BPCR, the BASE volume's uuid,
// seq = through_seq. It pins in the base what the clone's map may still point at: checkpoint
// checkpoint_seq, the segments its map lists, and segments checkpoint_seq+1..through_seq.
struct CloneRef {
  Uuid clone_uuid{};
  std::string clone_name;  // for messages; the clone's uuid is what identifies it
  std::string snapshot;    // the snapshot of the base it was made from, for messages
  uint64_t checkpoint_seq = 0;
  uint64_t through_seq = 0;
  uint64_t created_unix_ms = 0;
  std::vector<Extension> extensions;
};

Bytes EncodeCloneRefObject(const Uuid& base_uuid, const CloneRef& ref);
Status DecodeCloneRefObject(const uint8_t* p, size_t n, Uuid* base_uuid, CloneRef* out);

// Metadata extension record listing a clone's bases (critical: a reader that does not know it
// would read the clone without its base).
constexpr uint16_t kMetaExtCloneBases = kMetaExtCloneBasesTag;

// One base of a clone, oldest first. Segments with seq <= through_seq (and above the previous
// base's through_seq) are read from volumes/<volume>/seg/ with this base's uuid and codec chain.
struct CloneBase {
  std::string volume;  // the base volume's name
  Uuid uuid{};         // its uuid: segment headers and the codecs' associated data carry it
  std::string snapshot;
  uint64_t checkpoint_seq = 0;  // where the base's map at the snapshot starts (0: its own base)
  uint64_t through_seq = 0;
  uint32_t unit_size = 0;
  // The base's codec chain as recorded when the clone was made (the encrypt codec's header
  // wraps the base's data key, bound to the base's uuid).
  std::vector<CodecRecord> codecs;
};

Extension EncodeCloneBases(const std::vector<CloneBase>& bases);
// The bases listed in a metadata extension list (empty for a volume that is no clone).
// Corrupt when the record is malformed or its through_seqs do not increase.
Status DecodeCloneBases(const std::vector<Extension>& extensions, std::vector<CloneBase>* out);

}  // namespace bp
