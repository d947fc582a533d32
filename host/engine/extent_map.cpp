// ExtentMap implementation: split at the range edges, drop what lies between, insert, merge.
#include "engine/extent_map.h"

namespace bp {

void ExtentMap::Account(const Extent& e, int64_t sign, uint64_t blocks) {
  if (e.kind != ExtentKind::kData) return;
  if (sign > 0) {
    data_blocks_ += blocks;
    live_[e.seq] += blocks;
    return;
  }
  data_blocks_ -= blocks;
  auto it = live_.find(e.seq);
  if (it == live_.end()) return;
  it->second -= blocks;
  if (it->second == 0) {
    live_.erase(it);
    emptied_.push_back(e.seq);
  }
}

void ExtentMap::SplitAt(uint64_t at) {
  auto it = map_.lower_bound(at);
  if (it != map_.end() && it->first == at) return;
  if (it == map_.begin()) return;
  auto prev = std::prev(it);
  uint64_t prev_end = prev->first + prev->second.blocks;
  if (prev_end <= at) return;
  Extent tail = prev->second;
  uint64_t head_blocks = at - prev->first;
  tail.blocks = prev_end - at;
  if (tail.kind == ExtentKind::kData) tail.index += head_blocks;
  prev->second.blocks = head_blocks;
  map_.insert(it, at, tail);
}

bool ExtentMap::Continues(uint64_t prev_lba, const Extent& prev, uint64_t lba, const Extent& next) {
  if (prev_lba + prev.blocks != lba || prev.kind != next.kind) return false;
  if (prev.kind != ExtentKind::kData) return true;
  return prev.seq == next.seq && prev.index + prev.blocks == next.index;
}

void ExtentMap::MergeAround(uint64_t at) {
  // Positions are looked up again after each erase: the map's iterators do not survive changes.
  auto it = map_.lower_bound(at);
  auto next = std::next(it);
  if (next != map_.end() && Continues(it->first, it->second, next->first, next->second)) {
    it->second.blocks += next->second.blocks;
    map_.erase(next);
    it = map_.lower_bound(at);
  }
  if (it == map_.begin()) return;
  auto prev = std::prev(it);
  if (Continues(prev->first, prev->second, it->first, it->second)) {
    prev->second.blocks += it->second.blocks;
    map_.erase(it);
  }
}

void ExtentMap::Erase(uint64_t lba, uint64_t blocks) {
  if (blocks == 0) return;
  const uint64_t end = lba + blocks;
  SplitAt(lba);
  SplitAt(end);
  auto first = map_.lower_bound(lba);
  auto last = map_.lower_bound(end);
  for (auto it = first; it != last; ++it) Account(it->second, -1, it->second.blocks);
  map_.erase(first, last);
}

void ExtentMap::Assign(uint64_t lba, uint64_t blocks, ExtentKind kind, uint64_t seq,
                       uint64_t index) {
  if (blocks == 0) return;
  Extent e{blocks, kind, kind == ExtentKind::kData ? seq : 0,
           kind == ExtentKind::kData ? index : 0};
  // Overwriting exactly one existing extent (random rewrites of a fragmented map) replaces it
  // in place: one lookup instead of two splits, an erase and an insert.
  auto it = map_.lower_bound(lba);
  if (it != map_.end() && it->first == lba && it->second.blocks == blocks) {
    Account(it->second, -1, blocks);
    it->second = e;
    Account(e, +1, blocks);
    // Usually neither neighbour continues the new extent: then there is nothing to merge and no
    // second lookup to pay for.
    if (!ContinuedByNeighbour(it)) return;
  } else {
    Erase(lba, blocks);
    map_.insert(map_.lower_bound(lba), lba, e);
    Account(e, +1, blocks);
  }
  MergeAround(lba);
}

bool ExtentMap::ContinuedByNeighbour(Map::const_iterator it) const {
  auto next = std::next(it);
  if (next != map_.end() && Continues(it->first, it->second, next->first, next->second)) {
    return true;
  }
  if (it == map_.begin()) return false;
  auto prev = std::prev(it);
  return Continues(prev->first, prev->second, it->first, it->second);
}

void ExtentMap::Clear() {
  map_.clear();
  data_blocks_ = 0;
  live_.clear();
  emptied_.clear();
}

MapPiece ExtentMap::Lookup(uint64_t lba, uint64_t limit) const {
  auto it = map_.upper_bound(lba);
  if (it != map_.begin()) {
    auto prev = std::prev(it);
    uint64_t prev_end = prev->first + prev->second.blocks;
    if (prev_end > lba) {
      const Extent& e = prev->second;
      uint64_t skip = lba - prev->first;
      return MapPiece{lba,    prev_end - lba, true,
                      e.kind, e.seq,          e.kind == ExtentKind::kData ? e.index + skip : 0};
    }
  }
  uint64_t gap = (it == map_.end() || it->first > lba + limit) ? limit : it->first - lba;
  return MapPiece{lba, gap, false, ExtentKind::kHole, 0, 0};
}

uint64_t ExtentMap::LiveBlocks(uint64_t seq) const {
  auto it = live_.find(seq);
  return it == live_.end() ? 0 : it->second;
}

std::vector<uint64_t> ExtentMap::TakeEmptiedSegments() {
  std::vector<uint64_t> out;
  out.swap(emptied_);
  return out;
}

}  // namespace bp
