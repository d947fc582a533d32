// RecoveryPlan implementation (see recovery_plan.h).
#include "engine/recovery_plan.h"

#include <algorithm>

#include "engine/object_format.h"

namespace bp {

Status ListForRecovery(ObjectStore& store, const std::string& name, RecoveryListing* out) {
  std::vector<ObjectInfo> objects;
  const std::string ckpt_prefix = CheckpointPrefix(name);
  BP_RETURN_IF_ERROR(store.List(ckpt_prefix, &objects));
  for (const auto& o : objects) {
    uint64_t seq;
    if (ParseSeqKey(o.key, ckpt_prefix, &seq)) out->checkpoints[seq] = o.size;
  }
  const std::string seg_prefix = SegmentPrefix(name);
  BP_RETURN_IF_ERROR(store.List(seg_prefix, &objects));
  for (const auto& o : objects) {
    uint64_t seq;
    if (ParseSeqKey(o.key, seg_prefix, &seq)) out->segments[seq] = o.size;
  }
  return Status::Ok();
}

Status PlanRecovery(const RecoveryListing& listing, const RecoveryReaders& read,
                    RecoveryPlan* plan) {
  // 1. The newest checkpoint that validates, among the recovery fallbacks.
  size_t tried = 0;
  for (auto it = listing.checkpoints.rbegin();
       it != listing.checkpoints.rend() && tried < kRecoveryCheckpoints; ++it, ++tried) {
    VolumeState candidate;
    Status s = read.checkpoint(it->first, &candidate);
    if (s.ok()) {
      plan->state = std::move(candidate);
      plan->checkpoint_seq = it->first;
      break;
    }
    if (!s.IsCorrupt() && !s.IsNotFound()) return s;
    plan->skipped_checkpoints.emplace_back(it->first, s);
  }
  for (const auto& [segment, info] : plan->state.segments) plan->checkpoint_live.push_back(segment);
  const uint64_t first_own = read.base_through + 1;
  if (plan->checkpoint_seq == 0 && read.base) {
    Status s = read.base(&plan->state);
    if (!s.ok()) {
      if (!s.IsCorrupt() && !s.IsNotFound()) return s;
      plan->unrecoverable = s.WithContext("the clone's base cannot be read");
      return Status::Ok();
    }
    plan->state.through_seq = read.base_through;
  }

  // 2. Replay the segments after it in order; the volume is the longest valid prefix.
  const auto& segments = listing.segments;
  // With uploads in flight a crash before segment 1 landed leaves only later ones, within the
  // upload window: that is an ordinary gap (below), not a reclaimed log.
  const bool crash_before_first = listing.checkpoints.empty() && !segments.empty() &&
                                  segments.rbegin()->first < first_own + kMaxUploadsInFlight;
  if (plan->checkpoint_seq == 0 && !segments.empty() && segments.begin()->first != first_own &&
      !crash_before_first) {
    plan->unrecoverable = Status::Corrupt(
        "no usable checkpoint, and segments " + std::to_string(first_own) + " to " +
        std::to_string(segments.begin()->first - 1) +
        " are gone (reclaimed or deleted); refusing to rebuild the volume from a partial log");
    return Status::Ok();
  }
  uint64_t seq = std::max(plan->checkpoint_seq, read.base_through) + 1;
  uint64_t previous_run = 0;  // the run of segment seq - 1 when replay read it, else 0
  for (;; ++seq) {
    auto it = segments.find(seq);
    if (it == segments.end()) {
      if (segments.upper_bound(seq) != segments.end()) {
        plan->stop = Status::NotFound("segment " + std::to_string(seq) + " is missing");
        plan->stop_after_crash = true;
        plan->next_missing = true;
      }
      break;
    }
    SegmentMeta meta;
    uint64_t object_size = 0;
    Status s = read.segment(seq, it->second, &meta, &object_size);
    if (!s.ok()) {
      if (!s.IsCorrupt() && !s.IsNotFound()) return s;
      plan->stop = s;
      break;
    }
    if (meta.run_id != 0 && previous_run != 0 && meta.run_id != previous_run &&
        meta.run_first_seq != seq) {
      plan->stop = Status::Precondition(
          "segment " + std::to_string(seq) +
          " was left by an earlier writer run after a later one took over from segment " +
          std::to_string(seq - 1));
      plan->stop_after_crash = true;
      break;
    }
    if (meta.restore) {
      VolumeState restored;
      s = read.restore ? read.restore(meta.restore_checkpoint, meta.restore_through, &restored)
                       : Status::Unsupported("restore marker without a reader");
      if (!s.ok()) {
        if (!s.IsCorrupt() && !s.IsNotFound()) return s;
        plan->stop = s.WithContext("segment " + std::to_string(seq) + " restores a snapshot");
        break;
      }
      plan->state = std::move(restored);
      plan->restore_marker = seq;
    }
    previous_run = meta.run_id;
    plan->state.ApplySegment(meta, object_size);
    ++plan->replayed;
  }
  plan->state.through_seq = std::max(plan->state.through_seq, seq - 1);
  for (auto it = segments.lower_bound(seq); it != segments.end(); ++it) {
    plan->past_prefix.push_back(it->first);
  }
  // Uploads in flight span at most kMaxUploadsInFlight seqs: anything further past the stop is
  // not what a crash leaves, so it is treated as damage (kept aside, never deleted).
  if (plan->stop_after_crash && !plan->past_prefix.empty() &&
      plan->past_prefix.back() - plan->state.through_seq > kMaxUploadsInFlight) {
    plan->stop_after_crash = false;
    plan->next_missing = false;
  }
  return Status::Ok();
}

}  // namespace bp
