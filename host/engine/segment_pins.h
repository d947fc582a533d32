// SegmentPins: the one rule for when a segment object may be deleted, and the books it needs.
//
// A segment object may be deleted only when nothing can read it again:
//
//   * the live map — the volume's current map points into no block of it;
//   * retained checkpoints — recovery may start from any kept checkpoint and replays the
//     segments after it, so the segment must be at or below the OLDEST kept checkpoint and not
//     listed among that checkpoint's live segments;
//   * in-flight reads — a unit fetch planned before that checkpoint was taken may still be
//     reading a segment that has died since (client reads, read-modify-write, GC's own reads);
//   * holders outside the volume's own map — snapshots, clone bases, a read-only export of a
//     snapshot: whatever another map still references. Two hooks carry these:
//       - Pin(holder, seqs) / Unpin(holder): in-process pins, e.g. a snapshot export while it is
//         being served (Volume::PinSegments / UnpinSegments take the volume's lock);
//       - a PinSource (Volume::Services::pin_source): pins that outlive the process (snapshots
//         and clone bases recorded in the store), asked before every deletion pass, without any
//         volume lock held. A source that cannot answer cancels the pass: nothing is deleted on
//         a guess.
//
// Liveness in the map and in checkpoints only decreases (a block is overwritten, trimmed or
// relocated by GC, never pointed back into an old segment), so a segment dead in the oldest
// kept checkpoint is dead in every newer one and in the live map. A holder that brings an old
// map back (restoring a snapshot) must keep its segments pinned for as long as that map can be
// the live one: that is what the hooks are for.
//
// The reclaimer (reclaimer.h) decides *when* a deletion pass runs; this file decides *what* it
// may delete. SegmentPins is not thread-safe: the Volume holds its mutex around every call
// (volume.h). PinSource implementations must be thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/volume_state.h"
#include "util/status.h"

namespace bp {

// Segments of a volume that something other than the volume's own map and checkpoints still
// needs (snapshots, clone bases). Filled by the snapshot and clone code.
class PinSource {
 public:
  virtual ~PinSource() = default;
  // Append to *out the seqs of volume `volume`'s segments that must not be deleted. Called on
  // the executor before every deletion pass, with no volume lock held; may do store I/O. An
  // error cancels the pass (it is retried after the next checkpoint).
  [[nodiscard]] virtual Status PinnedSegments(const std::string& volume,
                                              std::vector<uint64_t>* out) const = 0;
};

// One deletion pass: the segments at or below `reference_seq` that are not in `keep`, minus
// whatever the PinSource pins when the pass runs.
struct ReclaimPass {
  uint64_t reference_seq = 0;
  std::vector<uint64_t> keep;  // ascending: the reference checkpoint's live set, the live map's
                               // segments and in-process pins
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

  // ---- holders (snapshot exports, anything else that reads an older map) ----
  // Pin `seqs` under `holder`, replacing that holder's earlier pins.
  void Pin(const std::string& holder, std::vector<uint64_t> seqs);
  void Unpin(const std::string& holder);

  // ---- the rule ----
  enum class Verdict { kReady, kWait, kUnknown };
  // With checkpoint `reference` the oldest kept one and `live` the current map: the pass that
  // may run now (kReady), or kWait (a read planned before that checkpoint is still running;
  // ask again later), or kUnknown (this process does not know the checkpoint's live set:
  // nothing may be deleted on a guess). On kReady, records of checkpoints older than the
  // reference are forgotten.
  Verdict Plan(uint64_t reference, const VolumeState& live, ReclaimPass* pass);

  // Holders and their pin counts, for `stats` and tests.
  size_t holder_count() const { return holders_.size(); }

 private:
  struct LiveSet {
    uint64_t epoch = 0;
    std::vector<uint64_t> live;  // ascending segment seqs with live data
  };

  uint64_t epoch_ = 0;                             // bumped when a checkpoint is serialized
  std::map<uint64_t, uint32_t> fetches_by_epoch_;  // planned unit fetches still running
  std::map<uint64_t, LiveSet> live_sets_;          // by checkpoint seq
  std::map<std::string, std::vector<uint64_t>> holders_;
};

// Remove from `candidates` (ascending) every seq in `pinned` (any order). Returns how many
// were removed.
size_t RemovePinned(std::vector<uint64_t> pinned, std::vector<uint64_t>* candidates);

}  // namespace bp
