// Reclaimer: the volume's part that deletes segment objects no reader can need any more.
//
// Without it, every overwrite stays in the object store forever. What may be deleted is decided
// in one place, SegmentPins (segment_pins.h): a segment at or below the oldest kept checkpoint,
// dead in it and in the live map, needed by no snapshot, clone reference or stored checkpoint
// (snapshot_catalog.h), once every read planned before that checkpoint is done. This part decides *when* a pass runs: after each
// checkpoint that leaves at least two kept, and again from the volume's Tick when a pass had to
// wait for reads. Garbage collection (collector.h) empties mostly-dead segments by rewriting
// their live blocks; the next passes here delete them.
//
// Reclaimer keeps the books and is not thread-safe (the Volume holds its mutex around every
// call); ReclaimDeadSegments does the I/O without the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "engine/segment_pins.h"
#include "pipeline/object_store.h"

namespace bp {

class Reclaimer {
 public:
  // Checkpoint `reference` is now the oldest kept: reclaim below it when `pins` allow (0: retry
  // a pass that had to wait). Returns the pass to run now, if any; the caller runs it and
  // calls PassDone.
  std::optional<ReclaimPass> Schedule(uint64_t reference, SegmentPins* pins,
                                      const VolumeState& live);
  // The pass ran (deleted or not); `reference` was its reference checkpoint.
  void PassDone(uint64_t reference);
  // A pass is waiting for older fetches to finish.
  bool waiting() const { return reference_ != 0; }
  bool running() const { return state_ == State::kRunning; }
  // The reference checkpoint of the newest pass that ran to its end (0: none yet): every
  // segment dead at or below it is gone unless something pins it.
  uint64_t reclaimed_through() const { return reclaimed_through_; }

 private:
  enum class State { kIdle, kRunning };
  uint64_t reference_ = 0;  // a pass waiting to run, 0 = none
  uint64_t reclaimed_through_ = 0;
  State state_ = State::kIdle;
};

// What a deletion pass did.
struct ReclaimResult {
  std::vector<uint64_t> deleted;  // segment seqs whose objects are gone
  bool complete = false;          // every candidate was considered (listing and deletes answered)
};

// Delete the segments of volume `name` that `pass` allows, except those `keep` (if set) says
// something else needs: what snapshots, clone references and every stored checkpoint need
// (KeptSegments, snapshot_catalog.h). Failures are logged and left for the next pass.
// Thread-safe (store calls only).
ReclaimResult ReclaimDeadSegments(ObjectStore& store, const std::string& name,
                                  const ReclaimPass& pass,
                                  const std::function<bool(uint64_t seq)>& keep = nullptr);

}  // namespace bp
