// SegmentPins: the one rule for when a segment object may be deleted, and the books it needs.
//
// A segment object may be deleted only when nothing can read it again:
//
//   * the live map — the volume's current map points into no block of it;
//   * retained checkpoints — recovery may start from any of the Checkpointer::kKept newest
//     checkpoints and replays the segments after it, so the segment must be at or below the
//     oldest of them and not listed among that checkpoint's live segments (an older checkpoint
//     a snapshot keeps is never a recovery fallback: recovery_plan.h);
//   * in-flight reads — a unit fetch planned before that checkpoint was taken may still be
//     reading a segment that has died since (client reads, read-modify-write, GC's own reads);
//   * snapshots and clone references — a snapshot or a clone's base names a checkpoint C and a
//     last segment S, and needs C's live segments and C+1..S. The volume asks KeptSegments
//     (snapshot_catalog.h) for exactly that set, plus the live set of every checkpoint in the
//     store, before each deletion pass, without the volume lock; a pass that cannot tell
//     deletes nothing. A read-only export of a snapshot reads only segments its snapshot pins.
//
// Without snapshots, liveness in the map and in checkpoints only decreases (a block is
// overwritten, trimmed or relocated by GC, never pointed back into an old segment), so a
// segment dead in the oldest kept checkpoint is dead in every newer one and in the live map.
// Restoring a snapshot brings an old map back; the pass therefore also keeps every segment the
// live map points into, and KeptSegments every segment a stored checkpoint does.
//
// The reclaimer (reclaimer.h) decides *when* a deletion pass runs; this file decides *what* it
// may delete. SegmentPins is not thread-safe: the Volume holds its mutex around every call
// (volume.h).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

#include "engine/volume_state.h"

namespace bp {

// One deletion pass: the segments at or below `reference_seq` that are not in `keep`, minus
// what snapshots, clone references and stored checkpoints need when the pass runs.
struct ReclaimPass {
  uint64_t reference_seq = 0;
  std::vector<uint64_t> keep;  // ascending: the reference checkpoint's live set and the live
                               // map's segments
};

class SegmentPins {
 public:
  // ---- in-flight reads ----
  // A unit fetch is being planned now; returns its epoch for EndFetch.
  uint64_t BeginFetch();
  void EndFetch(uint64_t epoch);
  // The epoch fetches planned now belong to.
  uint64_t epoch() const { return epoch_; }

  // ---- retained checkpoints ----
  // Checkpoint `seq` is being serialized from `state` (a new epoch begins).
  void RecordCheckpoint(uint64_t seq, const VolumeState& state);
  // Checkpoint `seq`, read at open, lists `live` (ascending); no fetch predates it.
  void RecordOpened(uint64_t seq, std::vector<uint64_t> live);
  // Whether this process knows checkpoint `seq`'s live set (it can be a pass's reference).
  bool Knows(uint64_t seq) const { return live_sets_.count(seq) != 0; }

  // ---- the rule ----
  enum class Verdict { kReady, kWait, kUnknown };
  // With checkpoint `reference` the oldest kept one and `live` the current map: the pass that
  // may run now (kReady), or kWait (a read planned before that checkpoint is still running;
  // ask again later), or kUnknown (this process does not know the checkpoint's live set:
  // nothing may be deleted on a guess). On kReady, records of checkpoints older than the
  // reference are forgotten.
  Verdict Plan(uint64_t reference, const VolumeState& live, ReclaimPass* pass);

 private:
  struct LiveSet {
    uint64_t epoch = 0;
    std::vector<uint64_t> live;  // ascending segment seqs with live data
  };

  uint64_t epoch_ = 0;                             // bumped when a checkpoint is serialized
  std::map<uint64_t, uint32_t> fetches_by_epoch_;  // planned unit fetches still running
  std::map<uint64_t, LiveSet> live_sets_;          // by checkpoint seq
};

}  // namespace bp
