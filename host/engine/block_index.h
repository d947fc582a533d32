// BlockIndex: the write buffer's map from block number to slab slot, as one flat open-addressed
// table (linear probing, at most half full, backward-shift deletion). Every 4 KiB write inserts
// here on the request path, so it must not allocate per entry as a node-based map does; Clear()
// keeps the table for the next buffer, so a recycled buffer allocates nothing at all.
// Not thread-safe (the WriteBuffer's owner locks).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bp {

class BlockIndex {
 public:
  static constexpr uint64_t kEmpty =
      UINT64_MAX;  // never a block number (volumes are < 2^52 blocks)

  struct Slot {
    uint64_t block = kEmpty;
    uint32_t value = 0;
  };

  BlockIndex() { slots_.resize(kInitialSlots); }

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The value stored for block, or nullptr.
  const uint32_t* Find(uint64_t block) const {
    for (size_t i = Home(block);; i = Next(i)) {
      if (slots_[i].block == block) return &slots_[i].value;
      if (slots_[i].block == kEmpty) return nullptr;
    }
  }

  // The value slot for block; *inserted tells whether it was created (then its value is 0).
  uint32_t* FindOrInsert(uint64_t block, bool* inserted) {
    if ((size_ + 1) * 2 > slots_.size()) Grow();
    for (size_t i = Home(block);; i = Next(i)) {
      if (slots_[i].block == block) {
        *inserted = false;
        return &slots_[i].value;
      }
      if (slots_[i].block == kEmpty) {
        slots_[i].block = block;
        slots_[i].value = 0;
        ++size_;
        *inserted = true;
        return &slots_[i].value;
      }
    }
  }

  // Remove block; returns false if it was absent. *value receives what was stored.
  bool Erase(uint64_t block, uint32_t* value) {
    size_t i = Home(block);
    for (;; i = Next(i)) {
      if (slots_[i].block == kEmpty) return false;
      if (slots_[i].block == block) break;
    }
    *value = slots_[i].value;
    // Backward shift: pull later entries of the probe chain into the hole, so lookups never
    // need tombstones.
    size_t hole = i;
    for (size_t j = Next(hole); slots_[j].block != kEmpty; j = Next(j)) {
      const size_t home = Home(slots_[j].block);
      // Move j into the hole unless its home lies cyclically in (hole, j].
      const bool home_after_hole =
          hole <= j ? (home > hole && home <= j) : (home > hole || home <= j);
      if (!home_after_hole) {
        slots_[hole] = slots_[j];
        hole = j;
      }
    }
    slots_[hole] = Slot{};
    --size_;
    return true;
  }

  // Calls fn(block, value) for every entry, in no particular order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (const Slot& s : slots_) {
      if (s.block != kEmpty) fn(s.block, s.value);
    }
  }

  // Forget every entry, keeping the table (up to a bound, so one huge buffer does not pin it).
  void Clear() {
    if (slots_.size() > kKeptSlots) {
      slots_.assign(kKeptSlots, Slot{});
    } else if (size_ != 0) {
      for (Slot& s : slots_) s = Slot{};
    }
    size_ = 0;
  }

  // Bytes of memory the table holds.
  size_t memory_bytes() const { return slots_.size() * sizeof(Slot); }

 private:
  static constexpr size_t kInitialSlots = 1024;
  static constexpr size_t kKeptSlots = 1u << 16;  // 1 MiB: a 16 MiB segment of 4 KiB blocks

  size_t Home(uint64_t block) const {
    uint64_t h = block * 0x9E3779B97F4A7C15ull;
    return static_cast<size_t>(h >> 32) & (slots_.size() - 1);
  }
  size_t Next(size_t i) const { return (i + 1) & (slots_.size() - 1); }

  void Grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    size_ = 0;
    for (const Slot& s : old) {
      if (s.block == kEmpty) continue;
      bool inserted;
      *FindOrInsert(s.block, &inserted) = s.value;
    }
  }

  std::vector<Slot> slots_;
  size_t size_ = 0;
};

}  // namespace bp
