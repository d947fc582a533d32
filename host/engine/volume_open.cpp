// Volume recovery at open: the RecoveryPlan (recovery_plan.h) rebuilds the state from the
// newest valid checkpoint and the valid prefix of the log after it. A writable open then
// uploads what the local journal holds past that prefix (ReplayJournal) and plans again, clears
// what a crash left past the prefix (ClearOrphans: claim the gap, delete the orphans), and
// moves damaged objects that would block its own writes aside to quarantine/.
#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>

#include <blockpipe/bp_backend.h>

#include "engine/checkpoint_format.h"
#include "engine/object_format.h"
#include "engine/recovery_plan.h"
#include "engine/segment_format.h"
#include "engine/volume.h"

namespace bp {

Status Volume::Recover() {
  ObjectStore& store = *svc_.store;
  const std::string& name = meta_.name;
  // Objects written before a shrink may name blocks up to the largest size the volume had.
  const uint64_t volume_blocks = meta_.max_size() / kBlockSize;

  RecoveryReaders readers;
  readers.checkpoint = [&](uint64_t seq, VolumeState* state) {
    return ReadCheckpoint(store, CheckpointKey(name, seq), seq, meta_.uuid, *chain_, volume_blocks,
                          state);
  };
  // On a store with deferred durability a crash of the machine may leave a segment that was
  // uploaded and never synced torn (its meta intact, some of its units not), so the segments
  // replayed after the checkpoint are checked unit by unit; checkpoints and what they refer to
  // were synced before they were written (volume_sync.cpp).
  const bool check_units = (store.Capabilities() & BP_BACKEND_CAP_DEFER_SYNC) != 0;
  readers.segment = [&](uint64_t seq, uint64_t listed, SegmentMeta* meta, uint64_t* size) {
    const std::string key = SegmentKey(name, seq);
    BP_RETURN_IF_ERROR(
        ReadSegmentMeta(store, key, seq, meta_.uuid, *chain_, volume_blocks, listed, meta, size));
    return check_units ? CheckStoredUnits(store, key, *meta) : Status::Ok();
  };
  if (!layers_.bases().empty()) {
    readers.base = [&](VolumeState* state) {
      return layers_.LoadBaseState(store, volume_blocks, state);
    };
    readers.base_through = layers_.base_through();
  }
  readers.restore = [&](uint64_t checkpoint, uint64_t through, VolumeState* state) {
    return layers_.LoadStateAt(store, volume_blocks, checkpoint, through, state);
  };
  // Pins first: nothing this open writes (checkpoints, their pruning) may drop what a snapshot
  // or clone needs. A record that cannot be read pins everything until it is repaired.
  VolumePins pins;
  BP_RETURN_IF_ERROR(LoadPins(store, name, meta_.uuid, &pins));
  if (pins.unknown) {
    spdlog::error(
        "volume {}: a snapshot or clone reference record is unreadable; no checkpoint or "
        "segment is deleted until it is repaired or removed (see blockpipe fsck)",
        name);
  }
  snapshot_pins_.Reset(std::move(pins));
  auto plan_once = [&](RecoveryPlan* plan) -> Status {
    RecoveryListing listing;
    BP_RETURN_IF_ERROR(ListForRecovery(store, name, &listing));
    *plan = RecoveryPlan{};
    BP_RETURN_IF_ERROR(PlanRecovery(listing, readers, plan));
    if (!listing.checkpoints.empty() && plan->checkpoint_seq == 0) {
      spdlog::warn("volume {}: no valid checkpoint; replaying every segment", name);
    }
    return Status::Ok();
  };
  RecoveryPlan plan;
  BP_RETURN_IF_ERROR(plan_once(&plan));
  BP_RETURN_IF_ERROR(plan.unrecoverable);
  // A crashed process may have uploaded the segments after the checkpoint without syncing them
  // (deferred durability): make them durable before the journal forgets what it holds of them
  // (ReplayJournal) and before anything is acknowledged on top of them. What this open puts
  // itself (replayed segments, a claim) is put durably.
  if (opened_writable_) {
    BP_RETURN_IF_ERROR(SyncRecovered(std::max(plan.checkpoint_seq, layers_.base_through()),
                                     plan.state.through_seq));
  }
  if (svc_.journal != nullptr) {
    if (opened_writable_) {
      uint64_t replayed = 0;
      BP_RETURN_IF_ERROR(ReplayJournal(plan.state.through_seq, &replayed));
      if (replayed != 0) {
        BP_RETURN_IF_ERROR(plan_once(&plan));
        BP_RETURN_IF_ERROR(plan.unrecoverable);
        // The log may now go on past what the journal held, with segments a crashed process
        // left unsynced: they too must be durable before anything is acknowledged on them.
        BP_RETURN_IF_ERROR(SyncRecovered(std::max(plan.checkpoint_seq, layers_.base_through()),
                                         plan.state.through_seq));
      }
    } else {
      std::vector<JournalRow> rows;
      if (svc_.journal->List(&meta_.uuid, &rows).ok() && !rows.empty()) {
        spdlog::warn(
            "volume {}: the local journal holds {} segment(s) the store may lack, but the "
            "volume is opened read-only and cannot upload them",
            name, rows.size());
      }
    }
  }
  for (const auto& [seq, why] : plan.skipped_checkpoints) {
    spdlog::warn("volume {}: checkpoint {} is unusable ({}); trying an older one", name, seq,
                 why.ToString());
  }
  uint64_t through = plan.state.through_seq;
  if (!plan.stop.ok()) {
    spdlog::warn("volume {}: {}; replay stops at segment {}", name, plan.stop.ToString(), through);
  }

  // Objects past the prefix are not part of the volume, but a writer's put-if-absent of the
  // next seq would find them and fence itself. With several uploads in flight a crash leaves
  // such segments routinely: they hold only writes no FLUSH covered, and ClearOrphans removes
  // them safely. Anything else past the prefix comes from damage, tampering or manual
  // deletion: move it aside (copy, then delete) rather than delete it, since opening for
  // writing must never destroy bytes an operator may still want. A damaged checkpoint would
  // likewise block the writer's own later checkpoint of the same seq.
  if (opened_writable_ && plan.stop_after_crash && !plan.past_prefix.empty()) {
    BP_RETURN_IF_ERROR(ClearOrphans(plan, &through));
    plan.state.through_seq = through;  // the claim is an empty segment: only the seq moves
  } else {
    const uint64_t now = svc_.clock->UnixMs() / 1000;
    auto move_aside = [&](const std::string& key, const std::string& aside) -> Status {
      Bytes bytes;
      Status got = store.Get(key, &bytes);
      if (got.IsNotFound()) return Status::Ok();
      BP_RETURN_IF_ERROR(got.WithContext("reading " + key + " to quarantine it"));
      BP_RETURN_IF_ERROR(store.Put(aside, bytes.data(), bytes.size(), /*if_absent=*/false)
                             .WithContext("quarantining " + key));
      return store.Delete(key).WithContext("removing quarantined " + key);
    };
    for (uint64_t seq : plan.past_prefix) {
      const std::string key = SegmentKey(name, seq);
      if (!opened_writable_) {
        spdlog::warn("volume {}: ignoring {} past the valid prefix (read-only)", name, key);
        continue;
      }
      const std::string aside = QuarantineKey(name, "seg", seq, now);
      spdlog::error(
          "volume {}: {} lies past the valid prefix (through segment {}); moving it to {}", name,
          key, through, aside);
      BP_RETURN_IF_ERROR(move_aside(key, aside));
    }
    for (const auto& [bad, why] : plan.skipped_checkpoints) {
      if (!opened_writable_ || !why.IsCorrupt()) continue;
      const std::string key = CheckpointKey(name, bad);
      const std::string aside = QuarantineKey(name, "ckpt", bad, now);
      spdlog::error("volume {}: checkpoint {} failed validation; moving it to {}", name, key,
                    aside);
      BP_RETURN_IF_ERROR(move_aside(key, aside));
    }
  }

  // What the store holds for the volume, exactly (store_usage.h): one listing of its prefix,
  // after the orphans and quarantined objects above have moved.
  std::vector<ObjectInfo> objects;
  BP_RETURN_IF_ERROR(store.List(VolumePrefix(name), &objects)
                         .WithContext("listing the objects of volume " + name));

  MutexLock lock(&mu_);
  usage_.Reset(name, objects);
  state_ = std::move(plan.state);
  committer_.Reset(state_.through_seq);
  committer_.set_defer_sync(defer_sync_);
  if (run_first_seq_ == 0) run_first_seq_ = state_.through_seq + 1;
  checkpointer_.Reset(plan.checkpoint_seq);
  restore_marker_seq_ = plan.restore_marker;
  if (plan.checkpoint_seq != 0) {
    pins_.RecordOpened(plan.checkpoint_seq, std::move(plan.checkpoint_live));
  }
  if (svc_.disk_cache != nullptr) {
    // Entries of segments the volume no longer has (deleted while this daemon was down, left
    // out by recovery) go; a segment number written again later gets new identities anyway.
    std::vector<uint64_t> live;
    live.reserve(state_.segments.size());
    for (const auto& [seq, info] : state_.segments) live.push_back(seq);
    svc_.disk_cache->RetainSegments(meta_.uuid, std::move(live));
  }
  spdlog::info(
      "volume {}: opened{} (checkpoint {}, {} segment(s) replayed, next segment {}, "
      "codecs {})",
      name, opened_writable_ ? "" : " read-only", plan.checkpoint_seq, plan.replayed,
      committer_.next_seq(), chain_->Describe());
  return Status::Ok();
}

Status Volume::RecoverView() {
  const SnapshotRecord& snap = *view_;
  VolumeState state;
  BP_RETURN_IF_ERROR(layers_.LoadStateAt(*svc_.store, meta_.max_size() / kBlockSize,
                                         snap.checkpoint_seq, snap.through_seq, &state));
  MutexLock lock(&mu_);
  state_ = std::move(state);
  committer_.Reset(state_.through_seq);
  checkpointer_.Reset(snap.checkpoint_seq);
  spdlog::info("volume {}: snapshot {} opened read-only (checkpoint {}, through segment {})",
               meta_.name, snap.name, snap.checkpoint_seq, snap.through_seq);
  return Status::Ok();
}

Status Volume::ClearOrphans(const RecoveryPlan& plan, uint64_t* through) {
  ObjectStore& store = *svc_.store;
  const std::string& name = meta_.name;
  // Claim the gap first: an empty segment of this run at the first missing seq. Once it is
  // there, the writer that left the orphans (should it still be running after a take-over) can
  // never complete its own segment at that seq, so it never acknowledges a flush covering the
  // orphans, and deleting them below cannot take an acknowledged write away. A crash between
  // the claim and the deletions leaves orphans of an earlier run after this run's segment,
  // which replay refuses (recovery_plan.h) and the next open deletes.
  if (plan.next_missing) {
    const uint64_t gap = *through + 1;
    WriteBuffer empty;
    BuiltSegment built;
    BP_RETURN_IF_ERROR(
        BuildSegment(empty, gap, meta_.uuid, *chain_, meta_.unit_size, &built, run_id_, gap));
    const std::string key = SegmentKey(name, gap);
    Status put = store.Put(key, built.object.data(), built.object.size(), fenced_puts_);
    if (put.IsPrecondition()) {
      return Status::Precondition("volume " + name + ": segment " + key +
                                  " appeared while the volume was opening: another writer is "
                                  "active");
    }
    BP_RETURN_IF_ERROR(put.WithContext("claiming " + key + " past a crash"));
    *through = gap;
    run_first_seq_ = gap;
  }
  for (uint64_t seq : plan.past_prefix) {
    const std::string key = SegmentKey(name, seq);
    spdlog::warn(
        "volume {}: deleting {}: left past segment {} by uploads in flight at a crash (it "
        "holds only writes no flush covered)",
        name, key, *through);
    Status s = store.Delete(key);
    if (!s.ok() && !s.IsNotFound()) return s.WithContext("deleting " + key);
  }
  return Status::Ok();
}

}  // namespace bp
