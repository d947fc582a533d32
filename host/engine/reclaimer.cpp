// Reclaimer implementation (see reclaimer.h).
#include "engine/reclaimer.h"

#include <algorithm>
#include <atomic>

#include <spdlog/spdlog.h>

#include "engine/object_format.h"
#include "util/metrics.h"

namespace bp {

uint64_t Reclaimer::BeginFetch() {
  fetches_by_epoch_[epoch_]++;
  return epoch_;
}

void Reclaimer::EndFetch(uint64_t epoch) {
  auto it = fetches_by_epoch_.find(epoch);
  if (it != fetches_by_epoch_.end() && --it->second == 0) fetches_by_epoch_.erase(it);
}

void Reclaimer::RecordCheckpoint(uint64_t seq, const VolumeState& state) {
  LiveSet& record = live_sets_[seq];
  record.epoch = ++epoch_;
  record.live.clear();
  record.live.reserve(state.segments.size());
  for (const auto& [segment, info] : state.segments) record.live.push_back(segment);
}

void Reclaimer::RecordOpened(uint64_t seq, std::vector<uint64_t> live) {
  live_sets_[seq] = LiveSet{0, std::move(live)};
}

std::optional<ReclaimPass> Reclaimer::Schedule(uint64_t reference) {
  reference_ = std::max(reference_, reference);
  if (state_ == State::kRunning || reference_ == 0) return std::nullopt;
  auto record = live_sets_.find(reference_);
  if (record == live_sets_.end()) {
    reference_ = 0;  // live set unknown: never guess
    return std::nullopt;
  }
  if (!fetches_by_epoch_.empty() && fetches_by_epoch_.begin()->first < record->second.epoch) {
    return std::nullopt;  // a read planned before the checkpoint may still need a dying segment
  }
  ReclaimPass pass{reference_, record->second.live, {}};  // sorted: state.segments is a std::map
  reference_ = 0;
  // Older records can never be the reference again.
  live_sets_.erase(live_sets_.begin(), record);
  state_ = State::kRunning;
  return pass;
}

void ReclaimDeadSegments(ObjectStore& store, const std::string& name, const ReclaimPass& pass,
                         std::vector<uint64_t>* deleted_seqs,
                         const std::function<bool(uint64_t seq)>& keep) {
  static std::atomic<int64_t>& reclaimed_counter = Metrics::Global().Counter(
      "segments_reclaimed_total", "Segment objects deleted because no checkpoint needs them");
  const std::string prefix = SegmentPrefix(name);
  std::vector<ObjectInfo> objects;
  Status s = store.List(prefix, &objects);
  if (!s.ok()) {
    spdlog::warn("volume {}: listing segments to reclaim: {}", name, s.ToString());
    return;
  }
  size_t deleted = 0;
  for (const ObjectInfo& o : objects) {
    uint64_t seq;
    if (!ParseSeqKey(o.key, prefix, &seq) || seq > pass.reference_seq) continue;
    if (std::binary_search(pass.live.begin(), pass.live.end(), seq)) continue;
    if (std::binary_search(pass.current.begin(), pass.current.end(), seq)) continue;
    if (keep && keep(seq)) continue;
    s = store.Delete(o.key);
    if (!s.ok()) {
      // Harmless: the object stays until the next checkpoint's pass.
      spdlog::warn("volume {}: deleting dead segment {}: {}", name, o.key, s.ToString());
      continue;
    }
    ++deleted;
    if (deleted_seqs != nullptr) deleted_seqs->push_back(seq);
  }
  if (deleted > 0) {
    reclaimed_counter += static_cast<int64_t>(deleted);
    spdlog::debug("volume {}: deleted {} dead segment(s) at or below {}", name, deleted,
                  pass.reference_seq);
  }
}

}  // namespace bp
