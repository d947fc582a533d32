// Reclaiming dead segments: deleting segment objects that no recovery path can need any more.
//
// Without this, every overwrite stays in the object store forever, and a volume that is
// rewritten in place grows without bound. Full garbage collection (rewriting the live units of
// mostly-dead segments) comes later; this is the part that needs no rewriting: a segment none of
// whose blocks is live is deleted once it is safe to.
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
// (Tick retries it).
#include <algorithm>

#include <spdlog/spdlog.h>

#include "engine/volume.h"
#include "util/metrics.h"

namespace bp {

uint64_t Volume::BeginFetchLocked() {
  fetches_by_epoch_[fetch_epoch_]++;
  return fetch_epoch_;
}

void Volume::EndFetchLocked(uint64_t epoch) {
  auto it = fetches_by_epoch_.find(epoch);
  if (it != fetches_by_epoch_.end() && --it->second == 0) fetches_by_epoch_.erase(it);
}

void Volume::RecordCheckpointLocked(uint64_t seq, uint64_t epoch) {
  CheckpointLiveSet& record = checkpoint_live_[seq];
  record.epoch = epoch;
  record.live.clear();
  record.live.reserve(state_.segments.size());
  for (const auto& [segment, info] : state_.segments) record.live.push_back(segment);
}

void Volume::ScheduleReclaimLocked(uint64_t reference) {
  reclaim_reference_ = std::max(reclaim_reference_, reference);
  if (reclaiming_ || closed_ || fenced_ || reclaim_reference_ == 0) return;
  auto record = checkpoint_live_.find(reclaim_reference_);
  if (record == checkpoint_live_.end()) {
    reclaim_reference_ = 0;  // live set unknown: never guess
    return;
  }
  if (!fetches_by_epoch_.empty() && fetches_by_epoch_.begin()->first < record->second.epoch) {
    return;  // a read planned before the checkpoint may still need a dying segment; Tick retries
  }
  const uint64_t reference_seq = reclaim_reference_;
  std::vector<uint64_t> live = record->second.live;  // sorted: state_.segments is a std::map
  reclaim_reference_ = 0;
  // Older records can never be the reference again.
  checkpoint_live_.erase(checkpoint_live_.begin(), record);
  reclaiming_ = true;
  background_++;
  auto self = shared_from_this();
  svc_.pool->Submit([self, reference_seq, live = std::move(live)] {
    self->ReclaimDeadSegments(reference_seq, live);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->reclaiming_ = false;
    self->BackgroundDoneLocked();
  });
}

void Volume::ReclaimDeadSegments(uint64_t reference_seq, const std::vector<uint64_t>& live) {
  static std::atomic<int64_t>& reclaimed_counter = Metrics::Global().Counter(
      "segments_reclaimed_total", "Segment objects deleted because no checkpoint needs them");
  const std::string prefix = SegmentPrefix(meta_.name);
  std::vector<ObjectInfo> objects;
  Status s = svc_.store->List(prefix, &objects);
  if (!s.ok()) {
    spdlog::warn("volume {}: listing segments to reclaim: {}", meta_.name, s.ToString());
    return;
  }
  size_t deleted = 0;
  for (const ObjectInfo& o : objects) {
    uint64_t seq;
    if (!ParseSeqKey(o.key, prefix, &seq) || seq > reference_seq) continue;
    if (std::binary_search(live.begin(), live.end(), seq)) continue;
    s = svc_.store->Delete(o.key);
    if (!s.ok()) {
      // Harmless: the object stays until the next checkpoint's pass.
      spdlog::warn("volume {}: deleting dead segment {}: {}", meta_.name, o.key, s.ToString());
      continue;
    }
    ++deleted;
  }
  if (deleted > 0) {
    reclaimed_counter += static_cast<int64_t>(deleted);
    spdlog::debug("volume {}: deleted {} dead segment(s) at or below {}", meta_.name, deleted,
                  reference_seq);
  }
}

}  // namespace bp
