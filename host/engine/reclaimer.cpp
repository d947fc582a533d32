// Reclaimer implementation (see reclaimer.h).
#include "engine/reclaimer.h"

#include <algorithm>
#include <atomic>

#include <spdlog/spdlog.h>

#include "engine/object_format.h"
#include "util/metrics.h"

namespace bp {

std::optional<ReclaimPass> Reclaimer::Schedule(uint64_t reference, SegmentPins* pins,
                                               const VolumeState& live) {
  reference_ = std::max(reference_, reference);
  if (state_ == State::kRunning || reference_ == 0) return std::nullopt;
  ReclaimPass pass;
  switch (pins->Plan(reference_, live, &pass)) {
    case SegmentPins::Verdict::kUnknown: reference_ = 0; return std::nullopt;  // never guess
    case SegmentPins::Verdict::kWait: return std::nullopt;                     // Tick asks again
    case SegmentPins::Verdict::kReady: break;
  }
  reference_ = 0;
  state_ = State::kRunning;
  return pass;
}

void Reclaimer::PassDone(uint64_t reference) {
  state_ = State::kIdle;
  reclaimed_through_ = std::max(reclaimed_through_, reference);
}

ReclaimResult ReclaimDeadSegments(ObjectStore& store, const std::string& name,
                                  const ReclaimPass& pass,
                                  const std::function<bool(uint64_t seq)>& keep) {
  static std::atomic<int64_t>& reclaimed_counter = Metrics::Global().Counter(
      "segments_reclaimed_total", "Segment objects deleted because nothing needs them");
  ReclaimResult result;
  const std::string prefix = SegmentPrefix(name);
  std::vector<ObjectInfo> objects;
  Status s = store.List(prefix, &objects);
  if (!s.ok()) {
    spdlog::warn("volume {}: listing segments to reclaim: {}", name, s.ToString());
    return result;
  }
  std::vector<uint64_t> candidates;
  for (const ObjectInfo& o : objects) {
    uint64_t seq;
    if (!ParseSeqKey(o.key, prefix, &seq) || seq > pass.reference_seq) continue;
    if (std::binary_search(pass.keep.begin(), pass.keep.end(), seq)) continue;
    if (keep && keep(seq)) continue;
    candidates.push_back(seq);
  }
  std::sort(candidates.begin(), candidates.end());
  bool all = true;
  for (uint64_t seq : candidates) {
    const std::string key = SegmentKey(name, seq);
    s = store.Delete(key);
    if (!s.ok() && !s.IsNotFound()) {
      // Harmless: the object stays until the next pass.
      spdlog::warn("volume {}: deleting dead segment {}: {}", name, key, s.ToString());
      all = false;
      continue;
    }
    result.deleted.push_back(seq);
  }
  result.complete = all;
  if (!result.deleted.empty()) {
    reclaimed_counter += static_cast<int64_t>(result.deleted.size());
    spdlog::debug("volume {}: deleted {} dead segment(s) at or below {}", name,
                  result.deleted.size(), pass.reference_seq);
  }
  return result;
}

}  // namespace bp
