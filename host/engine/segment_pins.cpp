// SegmentPins implementation (see segment_pins.h).
#include "engine/segment_pins.h"

#include <algorithm>
#include <iterator>

namespace bp {

uint64_t SegmentPins::BeginFetch() {
  fetches_by_epoch_[epoch_]++;
  return epoch_;
}

void SegmentPins::EndFetch(uint64_t epoch) {
  auto it = fetches_by_epoch_.find(epoch);
  if (it != fetches_by_epoch_.end() && --it->second == 0) fetches_by_epoch_.erase(it);
}

void SegmentPins::RecordCheckpoint(uint64_t seq, const VolumeState& state) {
  LiveSet& record = live_sets_[seq];
  record.epoch = ++epoch_;
  record.live.clear();
  record.live.reserve(state.segments.size());
  for (const auto& [segment, info] : state.segments) record.live.push_back(segment);
}

void SegmentPins::RecordOpened(uint64_t seq, std::vector<uint64_t> live) {
  live_sets_[seq] = LiveSet{0, std::move(live)};
}

SegmentPins::Verdict SegmentPins::Plan(uint64_t reference, const VolumeState& live,
                                       ReclaimPass* pass) {
  auto record = live_sets_.find(reference);
  if (record == live_sets_.end()) return Verdict::kUnknown;
  if (!fetches_by_epoch_.empty() && fetches_by_epoch_.begin()->first < record->second.epoch) {
    return Verdict::kWait;  // a read planned before the checkpoint may still need a dying segment
  }
  pass->reference_seq = reference;
  std::vector<uint64_t>& keep = pass->keep;
  keep = record->second.live;
  // The live map's segments are a subset of the reference checkpoint's whenever liveness only
  // decreased since; listing them anyway keeps a map restored from elsewhere safe.
  for (const auto& [seq, info] : live.segments) {
    if (seq <= reference) keep.push_back(seq);
  }
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  // Older records can never be the reference again.
  live_sets_.erase(live_sets_.begin(), record);
  return Verdict::kReady;
}

}  // namespace bp
