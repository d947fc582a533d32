// StoreUsage implementation (see store_usage.h).
#include "engine/store_usage.h"

#include "engine/object_format.h"
#include "engine/store_layout.h"

namespace bp {

uint64_t SegmentBlocks(const SegmentInfo& info) {
  if (info.units.empty()) return 0;
  return info.units.back().first_block + info.units.back().logical_length / kBlockSize;
}

void StoreUsage::Reset(const std::string& name, const std::vector<ObjectInfo>& objects) {
  segments_.clear();
  others_.clear();
  segment_bytes_ = checkpoint_bytes_ = other_bytes_ = 0;
  const std::string seg_prefix = SegmentPrefix(name);
  const std::string ckpt_prefix = CheckpointPrefix(name);
  for (const ObjectInfo& o : objects) {
    uint64_t seq;
    if (ParseSeqKey(o.key, seg_prefix, &seq)) {
      SegmentStored(seq, o.size);
    } else if (ParseSeqKey(o.key, ckpt_prefix, &seq)) {
      checkpoint_bytes_ += o.size;
    } else {
      ObjectStored(o.key, o.size);
    }
  }
}

void StoreUsage::ObjectStored(const std::string& key, uint64_t size) {
  auto [it, added] = others_.emplace(key, size);
  if (!added) {
    other_bytes_ -= it->second;
    it->second = size;
  }
  other_bytes_ += size;
}

void StoreUsage::ObjectDeleted(const std::string& key) {
  auto it = others_.find(key);
  if (it == others_.end()) return;
  other_bytes_ -= it->second;
  others_.erase(it);
}

void StoreUsage::SegmentStored(uint64_t seq, uint64_t size) {
  auto [it, added] = segments_.emplace(seq, size);
  if (!added) {
    segment_bytes_ -= it->second;
    it->second = size;
  }
  segment_bytes_ += size;
}

void StoreUsage::SegmentDeleted(uint64_t seq) {
  auto it = segments_.find(seq);
  if (it == segments_.end()) return;
  segment_bytes_ -= it->second;
  segments_.erase(it);
}

uint64_t StoreUsage::DeadSegmentBytes(const VolumeState& state, size_t* count) const {
  uint64_t bytes = 0;
  size_t n = 0;
  for (const auto& [seq, size] : segments_) {
    if (state.segments.count(seq) != 0) continue;
    bytes += size;
    ++n;
  }
  if (count) *count = n;
  return bytes;
}

uint64_t StoreUsage::GarbageBytes(const VolumeState& state) const {
  uint64_t garbage = DeadSegmentBytes(state);
  for (const auto& [seq, info] : state.segments) {
    const uint64_t total = SegmentBlocks(info);
    const uint64_t live = state.map.LiveBlocks(seq);
    if (total == 0 || live >= total) continue;
    garbage +=
        static_cast<uint64_t>(static_cast<double>(info.object_size) *
                              static_cast<double>(total - live) / static_cast<double>(total));
  }
  return garbage;
}

}  // namespace bp
