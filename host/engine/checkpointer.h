// Checkpointer: the volume's part that decides when the full map is written as a checkpoint
// object, and CheckpointStore, which writes and prunes them.
//
// Pacing. A periodic checkpoint is due when checkpoint_every_segments segments have become
// durable since the last one and, because a checkpoint rewrites the whole map (tens of MB for a
// fragmented one), once the bytes of segments made durable since then reach kWriteRatio times
// the last checkpoint's size: checkpoints stay under 1/8 of what a volume writes on any map.
// One checkpoint is written at a time; one that came due meanwhile starts when it is stored.
//
// Retention. The two newest checkpoints are kept (recovery falls back to the older one if the
// newest fails validation); older ones are deleted after each new one is stored, except those a
// snapshot or clone reference pins (snapshot_catalog.h).
//
// Checkpointer only keeps books and is not thread-safe (the Volume holds its mutex around every
// call). CheckpointStore is immutable after construction and thread-safe: its calls do I/O and
// run without the volume's lock.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/recovery_plan.h"
#include "engine/snapshot_catalog.h"
#include "engine/volume_meta.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

class Checkpointer {
 public:
  // Checkpoints kept in the store as recovery fallbacks (older ones stay only while a snapshot
  // or clone reference pins them).
  static constexpr size_t kKept = kRecoveryCheckpoints;
  static constexpr uint64_t kWriteRatio = 8;

  explicit Checkpointer(uint32_t every_segments) : every_segments_(every_segments) {}

  // After recovery: the newest checkpoint in the store covers segments through `seq`.
  void Reset(uint64_t seq) { last_seq_ = seq; }
  uint64_t last_seq() const { return last_seq_; }
  bool writing() const { return state_ == State::kWriting; }

  // A segment of `bytes` became durable.
  void SegmentDurable(uint64_t bytes) { durable_bytes_ += bytes; }
  // A periodic checkpoint is due with segments through durable_seq durable.
  bool Due(uint64_t durable_seq) const;
  // Start one; returns the durable byte count it covers (for Finished).
  uint64_t Begin();
  // The checkpoint through `seq` (covering `covered_bytes`, `size` bytes serialized) was stored
  // (stored=true) or failed.
  void Finished(bool stored, uint64_t seq, uint64_t covered_bytes, uint64_t size);
  // A checkpoint the volume wrote outside the periodic pacing (the final one at close).
  void Stored(uint64_t seq);
  // The next checkpoint is due as soon as a segment newer than the last one is durable,
  // whatever the pacing says: garbage collection needs two checkpoints past the segments it
  // emptied before they may be deleted (segment_pins.h), and an idle volume writes no more
  // segments to make one due.
  void Force() { forced_ = true; }
  bool forced() const { return forced_; }

 private:
  enum class State { kIdle, kWriting };
  const uint32_t every_segments_;
  State state_ = State::kIdle;
  uint64_t last_seq_ = 0;
  uint64_t durable_bytes_ = 0;  // bytes of the segments this process made durable
  uint64_t due_bytes_ = 0;      // no periodic checkpoint before durable_bytes_ reaches it
  bool forced_ = false;         // Force(): due regardless of pacing
};

class CheckpointStore {
 public:
  // All must outlive this. fenced_puts: checkpoints are created with put-if-absent. pins
  // (thread-safe; may be null): checkpoints that are never pruned.
  CheckpointStore(ObjectStore* store, const VolumeMeta* meta, const CodecChain* chain,
                  bool fenced_puts, const CheckpointPins* pins = nullptr)
      : store_(store), meta_(meta), chain_(chain), fenced_puts_(fenced_puts), pins_(pins) {}

  // Encode and store the checkpoint of the state through segment `seq` (plain: its serialized
  // map). Precondition: another writer holds that checkpoint seq (the caller fences).
  Status Put(uint64_t seq, const Bytes& plain) const;
  // Delete every checkpoint but the newest Checkpointer::kKept and the pinned ones. *kept
  // (optional) receives the newest kKept seqs, newest first: the recovery fallbacks
  // (recovery_plan.h); a pinned older checkpoint is kept for its snapshot only, and one that
  // failed to delete is left for the next pass. *kept_bytes (optional): the object sizes of
  // every checkpoint still in the store, summed. False when the listing failed.
  bool PruneOld(std::vector<uint64_t>* kept = nullptr, uint64_t* kept_bytes = nullptr) const;

 private:
  ObjectStore* const store_;
  const VolumeMeta* const meta_;
  const CodecChain* const chain_;
  const bool fenced_puts_;
  const CheckpointPins* const pins_;
};

}  // namespace bp
