// Reclaimer: the volume's part that deletes segment objects no recovery path can need any more.
//
// Without it, every overwrite stays in the object store forever, and a volume that is rewritten
// in place grows without bound. Full garbage collection (rewriting the live units of
// mostly-dead segments) grows from here; this is the part that needs no rewriting: a segment
// none of whose blocks is live is deleted once it is safe to.
//
// The rule. Recovery starts from the newest valid checkpoint and falls back to the older kept
// one, then replays the segments after it. A segment S can therefore be deleted when S is at or
// below the OLDEST checkpoint still in the store (so no replay starts before it) and that
// checkpoint does not list S among its live segments (so its map never points into S). Liveness
// only decreases — a segment's blocks are overwritten, never revived — so S is then dead in
// every newer checkpoint too. The live set of a checkpoint is remembered when this process
// writes it, or reads it at open; a checkpoint whose live set is unknown is never used as a
// reference, so nothing is deleted on a guess.
//
// Reads in flight: a read planned before that checkpoint was taken may still be fetching a unit
// of a segment that has died since. Each planned fetch registers the checkpoint epoch it was
// planned in; deletion waits until every fetch older than the reference checkpoint is done
// (the volume's Tick retries it).
//
// Reclaimer keeps the books and is not thread-safe (the Volume holds its mutex around every
// call); ReclaimDeadSegments does the I/O without the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/volume_state.h"
#include "pipeline/object_store.h"

namespace bp {

// One deletion pass: the segments at or below `reference_seq` that are not in `live`.
struct ReclaimPass {
  uint64_t reference_seq = 0;
  std::vector<uint64_t> live;  // ascending
  // The volume's current map (ascending), filled in by the volume: with snapshots restored,
  // liveness is no longer monotonic, so the pass keeps these too (snapshot_catalog.h).
  std::vector<uint64_t> current;
};

class Reclaimer {
 public:
  // A unit fetch is being planned now; returns its epoch for EndFetch.
  uint64_t BeginFetch();
  void EndFetch(uint64_t epoch);
  // The epoch fetches planned now belong to.
  uint64_t epoch() const { return epoch_; }

  // Checkpoint `seq` is being serialized from `state` (a new epoch begins).
  void RecordCheckpoint(uint64_t seq, const VolumeState& state);
  // Checkpoint `seq`, read at open, lists `live` (ascending); no fetch predates it.
  void RecordOpened(uint64_t seq, std::vector<uint64_t> live);

  // Checkpoint `reference` is now the oldest kept: reclaim below it when safe (0: retry a pass
  // that had to wait). Returns the pass to run now, if any; the caller runs it and calls
  // PassDone.
  std::optional<ReclaimPass> Schedule(uint64_t reference);
  void PassDone() { state_ = State::kIdle; }
  // A pass is waiting for older fetches to finish.
  bool waiting() const { return reference_ != 0; }

 private:
  struct LiveSet {
    uint64_t epoch = 0;
    std::vector<uint64_t> live;  // ascending segment seqs with live data
  };
  enum class State { kIdle, kRunning };

  uint64_t epoch_ = 0;                             // bumped when a checkpoint is serialized
  std::map<uint64_t, uint32_t> fetches_by_epoch_;  // planned unit fetches still running
  std::map<uint64_t, LiveSet> live_sets_;          // by checkpoint seq
  uint64_t reference_ = 0;                         // a pass waiting to run, 0 = none
  State state_ = State::kIdle;
};

// Delete the segments of volume `name` that `pass` says are dead, except those `keep` (if set)
// says something else needs: snapshots, clone references and kept checkpoints (the volume's
// pins, snapshot_catalog.h). Failures are logged and left for the next pass. deleted
// (optional) receives the seqs deleted (for the disk cache). Thread-safe (store calls only).
void ReclaimDeadSegments(ObjectStore& store, const std::string& name, const ReclaimPass& pass,
                         std::vector<uint64_t>* deleted = nullptr,
                         const std::function<bool(uint64_t seq)>& keep = nullptr);

}  // namespace bp
