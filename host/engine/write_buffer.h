// WriteBuffer: acknowledged writes not yet in a durable segment. Data blocks are kept whole
// (4 KiB, keyed by block number, an overwrite replaces the block in place) in slabs that are
// recycled between buffers so the steady state allocates nothing. ZERO and HOLE ranges (trim,
// write-zeroes, all-zero writes) live in an ExtentMap overlay; a range erases the buffered
// blocks it covers, so within one buffer a data block is always newer than any range over it.
// That gives the one rule used both by reads and by sealing: data first, then ranges.
// Not thread-safe: the volume locks it while active; once sealed it is immutable and read
// concurrently by the encoder and by readers.
#pragma once

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include "engine/block_index.h"
#include "engine/extent_map.h"

namespace bp {

class WriteBuffer {
 public:
  WriteBuffer();
  WriteBuffer(const WriteBuffer&) = delete;
  WriteBuffer& operator=(const WriteBuffer&) = delete;

  // Storage for block `lba` (existing or new); the caller fills all 4096 bytes. With `crc`, the
  // caller also stores the block's Crc32c through *crc (the segment encoder then checksums a
  // unit stored unchanged from these instead of reading its bytes again); without, the block's
  // CRC is unknown.
  uint8_t* PutBlock(uint64_t lba, uint32_t** crc = nullptr);
  // Make [lba, lba+blocks) a ZERO or HOLE range, dropping buffered blocks in it. Cost is bounded
  // by the number of buffered blocks, not by the range length.
  void SetRange(uint64_t lba, uint64_t blocks, ExtentKind kind);

  enum class Hit { kMiss, kData, kZeros };
  // What this buffer says about block lba: its data, zeros (a range covers it), or nothing.
  Hit Lookup(uint64_t lba, const uint8_t** data) const;
  // True when nothing in this buffer touches [lba, lba+blocks).
  bool Untouched(uint64_t lba, uint64_t blocks) const;

  bool empty() const { return index_.empty() && ranges_.empty(); }
  uint64_t data_blocks() const { return index_.size(); }
  // Memory this buffer holds, for the write-buffer limit and the segment size trigger.
  uint64_t memory_bytes() const;
  // Memory it keeps allocated for reuse after Reset (its slabs and index table).
  uint64_t retained_bytes() const {
    return static_cast<uint64_t>(slabs_.size()) * kBlocksPerSlab * 4096 + index_.memory_bytes();
  }

  // Copy what this buffer says about [lba, lba+blocks) — its ZERO/HOLE ranges, then its data
  // blocks — into *to, so that *to then says the same about them (a journal delta).
  void CopyRunTo(uint64_t lba, uint64_t blocks, WriteBuffer* to) const;

  // Buffered blocks sorted by block number (for sealing). crcs (optional) receives, in the same
  // order, each block's CRC-32C or nullptr where it is unknown (valid while the buffer is).
  std::vector<std::pair<uint64_t, const uint8_t*>> SortedBlocks(
      std::vector<const uint32_t*>* crcs = nullptr) const;
  const ExtentMap& ranges() const { return ranges_; }

  // Blocks garbage collection relocated from a unit the memory cache held: once the segment is
  // stored, the units holding them enter the cache too, so that moving a block does not turn
  // its next read into a miss. In the order marked; may repeat and may name blocks since
  // overwritten (harmless: the units cached are the segment's own).
  void MarkWarm(uint64_t lba) { warm_.push_back(lba); }
  const std::vector<uint64_t>& warm() const { return warm_; }

  // Forget everything but keep the slabs for reuse.
  void Reset();

 private:
  static constexpr uint32_t kBlocksPerSlab = 64;
  uint8_t* Slot(uint32_t slot) const {
    return slabs_[slot / kBlocksPerSlab].get() + static_cast<size_t>(slot % kBlocksPerSlab) * 4096;
  }
  void EraseBlock(uint64_t lba);

  BlockIndex index_;  // block → slot
  std::vector<std::unique_ptr<uint8_t[]>> slabs_;
  std::vector<uint32_t> free_slots_;
  std::vector<uint32_t> crcs_;      // by slot
  std::vector<uint8_t> crc_known_;  // by slot
  // By slot: the block it holds, or BlockIndex::kEmpty when free. Slots are handed out in
  // order, so for sequential writes this lists the blocks sorted already and sealing needs no
  // sort (SortedBlocks).
  std::vector<uint64_t> block_of_;
  uint32_t next_slot_ = 0;  // slots below this have been handed out at least once
  ExtentMap ranges_;
  std::vector<uint64_t> warm_;
};

}  // namespace bp
