// WriteBuffer implementation.
#include "engine/write_buffer.h"

#include <algorithm>

#include "engine/object_format.h"

namespace bp {

WriteBuffer::WriteBuffer() { index_.reserve(1024); }

uint8_t* WriteBuffer::PutBlock(uint64_t lba) {
  auto [it, inserted] = index_.try_emplace(lba, 0);
  if (!inserted) return Slot(it->second);
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = next_slot_++;
    if (slot / kBlocksPerSlab >= slabs_.size()) {
      slabs_.emplace_back(new uint8_t[static_cast<size_t>(kBlocksPerSlab) * kBlockSize]);
    }
  }
  it->second = slot;
  return Slot(slot);
}

void WriteBuffer::EraseBlock(std::unordered_map<uint64_t, uint32_t>::iterator it) {
  free_slots_.push_back(it->second);
  index_.erase(it);
}

void WriteBuffer::SetRange(uint64_t lba, uint64_t blocks, ExtentKind kind) {
  if (blocks == 0) return;
  if (blocks <= index_.size()) {
    for (uint64_t b = lba; b < lba + blocks; ++b) {
      auto it = index_.find(b);
      if (it != index_.end()) EraseBlock(it);
    }
  } else {
    for (auto it = index_.begin(); it != index_.end();) {
      if (it->first >= lba && it->first < lba + blocks) {
        free_slots_.push_back(it->second);
        it = index_.erase(it);
      } else {
        ++it;
      }
    }
  }
  ranges_.Assign(lba, blocks, kind);
}

WriteBuffer::Hit WriteBuffer::Lookup(uint64_t lba, const uint8_t** data) const {
  if (!index_.empty()) {
    auto it = index_.find(lba);
    if (it != index_.end()) {
      *data = Slot(it->second);
      return Hit::kData;
    }
  }
  if (!ranges_.empty() && ranges_.Lookup(lba, 1).mapped) return Hit::kZeros;
  return Hit::kMiss;
}

bool WriteBuffer::Untouched(uint64_t lba, uint64_t blocks) const {
  if (!ranges_.empty()) {
    MapPiece p = ranges_.Lookup(lba, blocks);
    if (p.mapped || p.blocks < blocks) return false;
  }
  if (index_.empty()) return true;
  if (blocks <= index_.size()) {
    for (uint64_t b = lba; b < lba + blocks; ++b) {
      if (index_.count(b)) return false;
    }
    return true;
  }
  for (const auto& [block, slot] : index_) {
    if (block >= lba && block < lba + blocks) return false;
  }
  return true;
}

uint64_t WriteBuffer::memory_bytes() const {
  // Ranges and index entries are small but not free; count them so a buffer of millions of
  // tiny trims still gets sealed.
  return static_cast<uint64_t>(index_.size()) * kBlockSize + ranges_.extent_count() * 64 +
         index_.size() * 32;
}

std::vector<std::pair<uint64_t, const uint8_t*>> WriteBuffer::SortedBlocks() const {
  std::vector<std::pair<uint64_t, const uint8_t*>> out;
  out.reserve(index_.size());
  for (const auto& [block, slot] : index_) out.emplace_back(block, Slot(slot));
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

void WriteBuffer::Reset() {
  index_.clear();
  free_slots_.clear();
  next_slot_ = 0;
  ranges_.Clear();
}

}  // namespace bp
