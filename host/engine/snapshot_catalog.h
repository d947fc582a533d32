// Snapshot catalog: reading and writing the snapshot records and clone references of a volume
// (snapshot_format.h), and what they pin.
//
// The pin rule. A snapshot or clone reference names a checkpoint C and a last segment S; its
// map is C's map with segments C+1..S replayed. So it needs checkpoint C (which pruning must
// keep), every segment C lists as live, and every segment C+1..S. PinnedSegments computes that
// set for every pin of a volume: it is the one function through which deletion of segments
// (the reclaimer's passes, which garbage collection's settling also runs, and volume deletion)
// learns what snapshots and clones need. A pinned checkpoint is kept but is not a recovery
// fallback, so segments after it that no pin needs are reclaimed as usual (segment_pins.h).
//
// CheckpointPins is the in-memory copy of a volume's pins that pruning consults without the
// volume's lock; it is thread-safe. The store functions are thread-safe (store calls only).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <blockpipe/bp_thread_safety.h>

#include "engine/object_format.h"
#include "engine/snapshot_format.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

class VolumeLayers;

// One thing that keeps part of a volume's history alive.
struct Pin {
  enum class Kind { kSnapshot, kClone };
  Kind kind = Kind::kSnapshot;
  std::string id;  // the snapshot's name, or the clone's uuid in hex
  uint64_t checkpoint_seq = 0;
  uint64_t through_seq = 0;
};

// Every pin of one volume, as read from the store.
struct VolumePins {
  std::vector<Pin> pins;
  // A record that could not be decoded: what it pins is unknown, so nothing may be pruned or
  // reclaimed on a guess (logged; fsck reports it).
  bool unknown = false;
};

class CheckpointPins {
 public:
  void Reset(VolumePins pins) BP_EXCLUDES(mu_);
  void Add(const Pin& pin) BP_EXCLUDES(mu_);
  void Remove(Pin::Kind kind, const std::string& id) BP_EXCLUDES(mu_);
  // The checkpoints pruning must keep (0, the initial state, is not a checkpoint object).
  std::set<uint64_t> Checkpoints() const BP_EXCLUDES(mu_);
  // The pins now; *generation (optional) receives generation() as of this copy.
  VolumePins Snapshot(uint64_t* generation = nullptr) const BP_EXCLUDES(mu_);
  // Changes with every Reset, Add and Remove: whoever derived something from the pins can tell
  // whether it is still current.
  uint64_t generation() const BP_EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  VolumePins pins_ BP_GUARDED_BY(mu_);
  uint64_t generation_ BP_GUARDED_BY(mu_) = 0;
};

// The segments a set of pins needs, as ranges and single seqs.
struct PinnedSegmentSet {
  std::vector<uint64_t> live;                         // ascending: live in a pinned checkpoint
  std::vector<std::pair<uint64_t, uint64_t>> ranges;  // [first, last] replayed by a pin
  bool everything = false;                            // a pin could not be read: keep all
  bool Contains(uint64_t seq) const;
};

// Live sets of checkpoints (the segments each one's map points into, ascending), read once:
// checkpoints never change. Thread-safe.
class CheckpointLiveSets {
 public:
  // The live set of checkpoint seq of `layers`' own volume (own segments only).
  Status Get(ObjectStore& store, const VolumeLayers& layers, uint64_t volume_blocks, uint64_t seq,
             std::vector<uint64_t>* out) BP_EXCLUDES(mu_);
  void Put(uint64_t seq, std::vector<uint64_t> live) BP_EXCLUDES(mu_);
  // Forget checkpoints that are no longer in the store.
  void Retain(const std::set<uint64_t>& seqs) BP_EXCLUDES(mu_);

 private:
  mutable Mutex mu_;
  std::map<uint64_t, std::vector<uint64_t>> sets_ BP_GUARDED_BY(mu_);
};

// ---- store operations ----

Status ReadSnapshot(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                    const std::string& snapshot, SnapshotRecord* out);
// Snapshots of the volume, by name. Records of another uuid (left by an earlier volume of the
// name) are skipped; undecodable ones set *unreadable (if given) and are skipped.
Status ListSnapshots(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                     std::vector<SnapshotRecord>* out, bool* unreadable = nullptr);
// if_absent: Precondition when a snapshot of that name exists.
Status PutSnapshot(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                   const SnapshotRecord& record, bool if_absent);
Status DeleteSnapshotRecord(ObjectStore& store, const std::string& volume,
                            const std::string& snapshot);

Status ListCloneRefs(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                     std::vector<CloneRef>* out, bool* unreadable = nullptr);
Status PutCloneRef(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                   const CloneRef& ref, bool if_absent);
Status DeleteCloneRef(ObjectStore& store, const std::string& volume, const Uuid& clone_uuid);

// Every pin of the volume: its snapshots and the clone references it holds.
Status LoadPins(ObjectStore& store, const std::string& volume, const Uuid& uuid, VolumePins* out);

// The exact segments of `layers`' own volume that `pins` need (see the rule above): reads each
// pinned checkpoint's live set. volume_blocks bounds the maps read.
Status PinnedSegments(ObjectStore& store, const VolumeLayers& layers, uint64_t volume_blocks,
                      const VolumePins& pins, PinnedSegmentSet* out,
                      CheckpointLiveSets* cache = nullptr);

// What a deletion of segments must keep besides the live map: PinnedSegments plus the live set
// of every checkpoint in the store (any of them is a recovery fallback). Reclaim passes use it,
// which keeps them exact after a snapshot is restored (liveness is then not monotonic).
// *pinned (optional) receives the PinnedSegments part alone (what garbage collection leaves be).
Status KeptSegments(ObjectStore& store, const VolumeLayers& layers, uint64_t volume_blocks,
                    const VolumePins& pins, CheckpointLiveSets* cache, PinnedSegmentSet* out,
                    PinnedSegmentSet* pinned = nullptr);

}  // namespace bp
