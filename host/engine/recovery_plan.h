// RecoveryPlan: the one definition of how a volume is rebuilt from its objects, used by
// Volume's open (volume_open.cpp) and by fsck (volume_fsck.cpp), so the two can never disagree
// about what the volume is.
//
// The rule. Start from the newest checkpoint that validates, among the kRecoveryCheckpoints
// newest in the store; one that is corrupt or vanished is skipped for the next older one
// (always safe: segments are deleted only at or below the oldest of those, and only when it
// does not need them, so replay reaches the same state), any other error stops the open. An
// older checkpoint a snapshot or clone reference keeps is never a fallback: the segments after
// it that the snapshot does not need may be gone.
// Then replay the segments after it in seq order, stopping at the first one that is missing or
// fails validation: the volume is the longest valid prefix of its log. Segments listed past
// that point are not part of the volume. With no usable checkpoint, replay starts at segment
// 1; if segment 1 is gone (reclaimed on the strength of checkpoints that are now all
// unusable), the volume cannot be rebuilt, and serving a partial replay would present old data
// as current.
//
// Writer runs. Segments upload several at a time, so a crash can leave segment N+1 in the store
// without N. Each segment names the writer run (one writable open) that wrote it and the first
// seq of that run. Replay also stops at a segment of a different run than its predecessor's
// unless it is its run's first: that segment was left past a gap by an earlier run and
// overtaken by a later one (which claimed the gap), so it was never part of the log. Segments
// that do not name their run (older writers) and the first one after the checkpoint are not
// checked.
//
// Clones. A clone's log continues its base's snapshot (snapshot_format.h): its own segments
// start at base_through + 1, and with no usable checkpoint of its own replay starts from its
// base's state (RecoveryReaders::base) instead of an empty map.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/volume_state.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

// How many of the newest checkpoints recovery may start from (the writer keeps this many:
// Checkpointer::kKept).
constexpr size_t kRecoveryCheckpoints = 2;

// The most segment uploads a writer keeps in flight ([engine] uploads_in_flight is capped here):
// how far past a gap a crash can leave segments.
constexpr uint64_t kMaxUploadsInFlight = 64;

// What the store lists for one volume: seq -> listed object size.
struct RecoveryListing {
  std::map<uint64_t, uint64_t> checkpoints;
  std::map<uint64_t, uint64_t> segments;
};

// List the checkpoints and segments of volume `name`.
Status ListForRecovery(ObjectStore& store, const std::string& name, RecoveryListing* out);

// How the plan reads objects (the open reads the store; fsck answers from what it read).
struct RecoveryReaders {
  // Decode checkpoint seq into *state. Corrupt or NotFound: skipped; other errors stop.
  std::function<Status(uint64_t seq, VolumeState* state)> checkpoint;
  // Decode the header and map delta of segment seq (listed_size: its size in the listing).
  // Corrupt or NotFound: replay stops before it; other errors stop the plan.
  std::function<Status(uint64_t seq, uint64_t listed_size, SegmentMeta* meta,
                       uint64_t* object_size)>
      segment;
  // A clone's initial state (its base at the snapshot, through base_through); unset for a
  // volume that is no clone.
  std::function<Status(VolumeState* state)> base;
  uint64_t base_through = 0;
  // A restore marker's target: the volume's state at checkpoint `checkpoint` replayed through
  // `through` (VolumeLayers::LoadStateAt). Corrupt or NotFound: replay stops before the marker.
  std::function<Status(uint64_t checkpoint, uint64_t through, VolumeState* state)> restore;
};

struct RecoveryPlan {
  VolumeState state;            // the rebuilt state (through_seq: end of the valid prefix)
  uint64_t checkpoint_seq = 0;  // where replay started; 0: no usable checkpoint
  // Checkpoints newer than checkpoint_seq that could not be used, newest first, and why.
  std::vector<std::pair<uint64_t, Status>> skipped_checkpoints;
  // The segments checkpoint_seq lists as live (ascending), before replay.
  std::vector<uint64_t> checkpoint_live;
  uint64_t replayed = 0;  // segments applied after the checkpoint
  // The newest restore marker among them (its seq), 0 for none: until a checkpoint at or past
  // it is stored, rebuilding the map from an older checkpoint needs the restored snapshot's
  // objects too.
  uint64_t restore_marker = 0;
  // Why replay stopped at through_seq + 1 when later segments exist: NotFound (missing), the
  // validation error, or Precondition (a segment of an earlier writer run). Ok when the log
  // simply ends there.
  Status stop;
  // The stop is what a crash leaves with uploads in flight (a missing seq, or a stale segment
  // of an earlier run), not damage: past_prefix then holds only segments no FLUSH covered.
  bool stop_after_crash = false;
  // The seq after through_seq is missing from the store (a writer claims it before deleting
  // what lies past it).
  bool next_missing = false;
  // Listed segments after the valid prefix, ascending (the one that failed validation, if
  // any, included): not part of the volume.
  std::vector<uint64_t> past_prefix;
  // Not Ok when the volume cannot be rebuilt at all (see the rule above).
  Status unrecoverable;
};

// Apply the rule. Returns an error only when a reader failed with an error that is not
// Corrupt or NotFound (the store is unreachable): then the plan is incomplete.
Status PlanRecovery(const RecoveryListing& listing, const RecoveryReaders& read,
                    RecoveryPlan* plan);

}  // namespace bp
