// WriteBuffer implementation.
#include "engine/write_buffer.h"

#include <algorithm>
#include <cstring>

#include "engine/object_format.h"

namespace bp {

WriteBuffer::WriteBuffer() = default;

uint8_t* WriteBuffer::PutBlock(uint64_t lba, uint32_t** crc) {
  bool inserted = false;
  uint32_t* slot_of = index_.FindOrInsert(lba, &inserted);
  if (!inserted) {
    crc_known_[*slot_of] = crc != nullptr;
    if (crc != nullptr) *crc = &crcs_[*slot_of];
    return Slot(*slot_of);
  }
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    slot = next_slot_++;
    if (slot / kBlocksPerSlab >= slabs_.size()) {
      slabs_.emplace_back(new uint8_t[static_cast<size_t>(kBlocksPerSlab) * kBlockSize]);
      crcs_.resize(slabs_.size() * kBlocksPerSlab);
      crc_known_.resize(slabs_.size() * kBlocksPerSlab);
      block_of_.resize(slabs_.size() * kBlocksPerSlab, BlockIndex::kEmpty);
    }
  }
  *slot_of = slot;
  block_of_[slot] = lba;
  crc_known_[slot] = crc != nullptr;
  if (crc != nullptr) *crc = &crcs_[slot];
  return Slot(slot);
}

void WriteBuffer::EraseBlock(uint64_t lba) {
  uint32_t slot;
  if (index_.Erase(lba, &slot)) {
    free_slots_.push_back(slot);
    block_of_[slot] = BlockIndex::kEmpty;
  }
}

void WriteBuffer::SetRange(uint64_t lba, uint64_t blocks, ExtentKind kind) {
  if (blocks == 0) return;
  if (blocks <= index_.size()) {
    for (uint64_t b = lba; b < lba + blocks; ++b) EraseBlock(b);
  } else {
    std::vector<uint64_t> doomed;
    index_.ForEach([&](uint64_t block, uint32_t) {
      if (block >= lba && block < lba + blocks) doomed.push_back(block);
    });
    for (uint64_t block : doomed) EraseBlock(block);
  }
  ranges_.Assign(lba, blocks, kind);
}

WriteBuffer::Hit WriteBuffer::Lookup(uint64_t lba, const uint8_t** data) const {
  if (!index_.empty()) {
    if (const uint32_t* slot = index_.Find(lba)) {
      *data = Slot(*slot);
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
      if (index_.Find(b)) return false;
    }
    return true;
  }
  bool touched = false;
  index_.ForEach([&](uint64_t block, uint32_t) {
    if (block >= lba && block < lba + blocks) touched = true;
  });
  return !touched;
}

void WriteBuffer::CopyRunTo(uint64_t lba, uint64_t blocks, WriteBuffer* to) const {
  if (!ranges_.empty()) {
    ranges_.Visit(lba, blocks, [&](const MapPiece& piece) {
      if (piece.mapped) to->SetRange(piece.lba, piece.blocks, piece.kind);
    });
  }
  if (index_.empty()) return;
  auto copy = [&](uint64_t block, uint32_t slot) {
    std::memcpy(to->PutBlock(block), Slot(slot), kBlockSize);
  };
  if (blocks <= index_.size()) {
    for (uint64_t b = lba; b < lba + blocks; ++b) {
      if (const uint32_t* slot = index_.Find(b)) copy(b, *slot);
    }
  } else {
    index_.ForEach([&](uint64_t block, uint32_t slot) {
      if (block >= lba && block < lba + blocks) copy(block, slot);
    });
  }
}

uint64_t WriteBuffer::memory_bytes() const {
  // Ranges and index entries are small but not free; count them so a buffer of millions of
  // tiny trims still gets sealed.
  return static_cast<uint64_t>(index_.size()) * kBlockSize + ranges_.extent_count() * 64 +
         index_.size() * 32;
}

std::vector<std::pair<uint64_t, const uint8_t*>> WriteBuffer::SortedBlocks(
    std::vector<const uint32_t*>* crcs) const {
  std::vector<std::pair<uint64_t, uint32_t>> slots;  // block, slot
  slots.reserve(index_.size());
  // In slot order, which is write order: sorted already when the writes were sequential.
  for (uint32_t slot = 0; slot < next_slot_; ++slot) {
    if (block_of_[slot] != BlockIndex::kEmpty) slots.emplace_back(block_of_[slot], slot);
  }
  auto by_block = [](const auto& a, const auto& b) { return a.first < b.first; };
  if (!std::is_sorted(slots.begin(), slots.end(), by_block)) {
    std::sort(slots.begin(), slots.end(), by_block);
  }
  std::vector<std::pair<uint64_t, const uint8_t*>> out;
  out.reserve(slots.size());
  for (const auto& [block, slot] : slots) out.emplace_back(block, Slot(slot));
  if (crcs != nullptr) {
    crcs->assign(slots.size(), nullptr);
    for (size_t i = 0; i < slots.size(); ++i) {
      if (crc_known_[slots[i].second]) (*crcs)[i] = &crcs_[slots[i].second];
    }
  }
  return out;
}

void WriteBuffer::Reset() {
  index_.Clear();
  free_slots_.clear();
  next_slot_ = 0;  // block_of_ is read below next_slot_ only, where PutBlock set it afresh
  ranges_.Clear();
  warm_.clear();
}

}  // namespace bp
