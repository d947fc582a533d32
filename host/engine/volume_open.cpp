// Volume recovery at open: the RecoveryPlan (recovery_plan.h) rebuilds the state from the
// newest valid checkpoint and the valid prefix of the log after it; a writable open then moves
// objects that would block its own writes (segments past the prefix, checkpoints that failed
// validation) aside to quarantine/.
#include <spdlog/spdlog.h>

#include "engine/checkpoint_format.h"
#include "engine/object_format.h"
#include "engine/recovery_plan.h"
#include "engine/volume.h"

namespace bp {

Status Volume::Recover() {
  ObjectStore& store = *svc_.store;
  const std::string& name = meta_.name;
  const uint64_t volume_blocks = meta_.size / kBlockSize;

  RecoveryListing listing;
  BP_RETURN_IF_ERROR(ListForRecovery(store, name, &listing));
  RecoveryReaders readers;
  readers.checkpoint = [&](uint64_t seq, VolumeState* state) {
    return ReadCheckpoint(store, CheckpointKey(name, seq), seq, meta_.uuid, *chain_, volume_blocks,
                          state);
  };
  readers.segment = [&](uint64_t seq, uint64_t listed, SegmentMeta* meta, uint64_t* size) {
    return ReadSegmentMeta(store, SegmentKey(name, seq), seq, meta_.uuid, *chain_, volume_blocks,
                           listed, meta, size);
  };
  RecoveryPlan plan;
  BP_RETURN_IF_ERROR(PlanRecovery(listing, readers, &plan));
  for (const auto& [seq, why] : plan.skipped_checkpoints) {
    spdlog::warn("volume {}: checkpoint {} is unusable ({}); trying an older one", name, seq,
                 why.ToString());
  }
  if (!listing.checkpoints.empty() && plan.checkpoint_seq == 0) {
    spdlog::warn("volume {}: no valid checkpoint; replaying every segment", name);
  }
  BP_RETURN_IF_ERROR(plan.unrecoverable);
  const uint64_t through = plan.state.through_seq;
  if (!plan.stop.ok()) {
    spdlog::warn("volume {}: {}; replay stops at segment {}", name, plan.stop.ToString(), through);
  }

  // Objects past the prefix are not part of the volume, but a writer's put-if-absent of the
  // next seq would find them and fence itself. Uploads are sequential and atomic, so a crash
  // never leaves such objects: they come from damage, tampering or manual deletion. Move them
  // aside (copy, then delete) rather than delete them: opening for writing must never destroy
  // bytes an operator may still want. A damaged checkpoint would likewise block the writer's
  // own later checkpoint of the same seq.
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
    spdlog::error("volume {}: {} lies past the valid prefix (through segment {}); moving it to {}",
                  name, key, through, aside);
    BP_RETURN_IF_ERROR(move_aside(key, aside));
  }
  for (const auto& [bad, why] : plan.skipped_checkpoints) {
    if (!opened_writable_ || !why.IsCorrupt()) continue;
    const std::string key = CheckpointKey(name, bad);
    const std::string aside = QuarantineKey(name, "ckpt", bad, now);
    spdlog::error("volume {}: checkpoint {} failed validation; moving it to {}", name, key, aside);
    BP_RETURN_IF_ERROR(move_aside(key, aside));
  }

  MutexLock lock(&mu_);
  state_ = std::move(plan.state);
  committer_.Reset(state_.through_seq);
  checkpointer_.Reset(plan.checkpoint_seq);
  if (plan.checkpoint_seq != 0) {
    reclaimer_.RecordOpened(plan.checkpoint_seq, std::move(plan.checkpoint_live));
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

}  // namespace bp
