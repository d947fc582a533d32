// Volume checkpoints and reclaim: starting a periodic (or forced, see collector.h) checkpoint
// when the Checkpointer says one is due, serializing the map without the lock while the upload slot is borrowed, storing and
// pruning checkpoints (CheckpointStore), and running the reclaim passes the Reclaimer allows.
#include <cerrno>

#include <spdlog/spdlog.h>

#include "engine/checkpoint_format.h"
#include "engine/object_format.h"
#include "engine/volume.h"

namespace bp {

void Volume::MaybeCheckpoint() {
  // The serialization below borrows the map from the committer; a segment being applied calls
  // back here when it is done.
  if (access_ != Access::kWritable || phase_ == Phase::kClosed || !committer_.can_borrow()) return;
  if (!checkpointer_.Due(committer_.durable_seq())) return;
  const uint64_t covered_bytes = checkpointer_.Begin();
  const uint64_t seq = state_.through_seq;
  // Segments through seq that a crash of the machine could still take away (deferred
  // durability): the task syncs them before it stores the checkpoint that refers to them.
  std::vector<uint64_t> unsynced = committer_.UnsyncedThrough(seq);
  pins_.RecordCheckpoint(seq, state_);
  {
    std::vector<uint64_t> live;
    live.reserve(state_.segments.size());
    for (const auto& [segment, info] : state_.segments) {
      if (segment > layers_.base_through()) live.push_back(segment);
    }
    checkpoint_live_.Put(seq, std::move(live));
  }
  // The state changes only when an uploaded segment is applied, and the committer applies none
  // while the map is borrowed. Borrowing it while serializing lets the serialization (tens of
  // MB for a fragmented map) run without the lock and still be exactly the state through
  // `seq`: requests keep flowing, uploads keep running, and concurrent readers of the state
  // only read; just the application of finished uploads waits.
  committer_.Borrow();
  auto self = shared_from_this();
  RunInBackground([self, seq, covered_bytes, unsynced = std::move(unsynced)]() mutable {
    Bytes plain = SerializeCheckpoint(self->StateWhileSlotBorrowed());
    {
      Completions done;
      MutexLock lock(&self->mu_);
      self->committer_.ReturnBorrow();
      self->ApplyDurableHeads(&done);
      self->Pump(/*retry_now=*/false);
    }
    self->WriteCheckpoint(seq, std::move(plain), covered_bytes, std::move(unsynced));
  });
}

void Volume::WriteCheckpoint(uint64_t seq, Bytes plain, uint64_t covered_bytes,
                             std::vector<uint64_t> unsynced) {
  // A put whose reply was lost is resolved by the store layer (RetryingStore): Precondition
  // here means another writer stored this checkpoint. The segments it refers to are made
  // durable first (volume_sync.cpp).
  const Status synced = SyncNow(unsynced);
  Status s = synced;
  if (s.ok()) s = checkpoints_.Put(seq, plain);
  std::vector<uint64_t> kept;
  uint64_t kept_bytes = 0;
  const bool listed = s.ok() && checkpoints_.PruneOld(&kept, &kept_bytes);
  Completions done;
  MutexLock lock(&mu_);
  checkpointer_.Finished(s.ok(), seq, covered_bytes, plain.size());
  if (s.IsPrecondition()) {
    Fence("checkpoint " + CheckpointKey(meta_.name, seq) + " already exists", &done);
  } else if (!s.ok() && access_ != Access::kFenced) {
    spdlog::warn("volume {}: checkpoint {} failed: {} (will retry after the next segment)",
                 meta_.name, seq, s.ToString());
  }
  if (s.ok()) last_checkpoint_bytes_ = plain.size();
  if (synced.ok() && !unsynced.empty()) SegmentsSynced(unsynced.back(), &done);
  if (listed) {
    usage_.CheckpointsKept(kept_bytes);
    // With fewer checkpoints than kept, recovery may fall back to replaying from segment 1.
    oldest_kept_checkpoint_ = kept.size() >= Checkpointer::kKept ? kept.back() : 0;
    if (oldest_kept_checkpoint_ != 0) ScheduleReclaim(oldest_kept_checkpoint_);
  }
  idle_cv_.SignalAll();
  // Segments that became durable while this checkpoint was written did not start one; if they
  // made the next one due, take it now rather than at the next segment, which an idle volume
  // may never write.
  if (s.ok()) MaybeCheckpoint();
  BackgroundDone();
}

void Volume::ScheduleReclaim(uint64_t reference) {
  if (phase_ == Phase::kClosed || access_ != Access::kWritable) return;
  std::optional<ReclaimPass> pass = reclaimer_.Schedule(reference, &pins_, state_);
  if (!pass) return;
  auto self = shared_from_this();
  RunInBackground([self, pass = std::move(*pass)] {
    // What snapshots, clone references and every stored checkpoint need stays (exact, so a
    // restored snapshot's revived segments are safe too); a pass that cannot tell deletes
    // nothing.
    PinnedSegmentSet kept;
    PinnedSegmentSet pinned;
    uint64_t generation = 0;
    VolumePins pins = self->snapshot_pins_.Snapshot(&generation);
    if (self->svc_.options.sabotage & Sabotage::kReclaimIgnoresPins) pins = VolumePins{};
    Status s = KeptSegments(*self->svc_.store, self->layers_, self->meta_.max_size() / kBlockSize,
                            pins, &self->checkpoint_live_, &kept, &pinned);
    ReclaimResult result;
    if (s.ok()) {
      result = ReclaimDeadSegments(*self->svc_.store, self->meta_.name, pass,
                                   [&kept](uint64_t seq) { return kept.Contains(seq); });
    } else {
      spdlog::warn("volume {}: reclaim skipped: {}", self->meta_.name, s.ToString());
    }
    if (self->svc_.disk_cache != nullptr && !result.deleted.empty()) {
      self->svc_.disk_cache->EraseSegments(self->meta_.uuid, result.deleted);
    }
    MutexLock lock(&self->mu_);
    if (s.ok()) self->SetHeld(std::move(pinned), generation);
    for (uint64_t seq : result.deleted) self->usage_.SegmentDeleted(seq);
    self->reclaimer_.PassDone(result.complete ? pass.reference_seq : 0);
    self->BackgroundDone();
  });
}

}  // namespace bp
