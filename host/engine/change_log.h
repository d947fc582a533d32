// ChangeLog: the blocks of the active write buffer changed since its last delta went to the
// local journal (durability = "local"). A FLUSH that the journal takes commits only those
// blocks, as a delta of the segment the buffer will become (journal/local_journal.h), and the
// buffer keeps filling; without this log the only way to make the flush safe would be to seal
// the buffer into a segment of its own and upload one small object per FLUSH.
//
// It records ranges, not data: the delta copies the buffer's current content of the ranges
// when it is taken, which is what replay must rebuild. Bounded: past kMaxRanges distinct runs
// it gives up (overflow) and the buffer is sealed and journaled whole when a flush needs it.
// Not thread-safe: WritePath's owner locks.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bp {

struct BlockRun {
  uint64_t lba = 0;
  uint64_t blocks = 0;
};

class ChangeLog {
 public:
  // Runs tracked before the log gives up (an overwrite of the run before costs nothing).
  static constexpr size_t kMaxRuns = 16384;
  // Bytes a range costs a delta (a record, no data).
  static constexpr uint64_t kRangeBytes = 64;

  // [lba, lba+blocks) changed; data: the change wrote data blocks (not a trim or zero range).
  void Note(uint64_t lba, uint64_t blocks, bool data) {
    if (overflow_) return;
    bytes_ += data ? blocks * 4096 : kRangeBytes;
    if (!runs_.empty()) {
      BlockRun& last = runs_.back();
      if (lba >= last.lba && lba <= last.lba + last.blocks) {  // continues or overlaps its end
        if (lba + blocks > last.lba + last.blocks) last.blocks = lba + blocks - last.lba;
        return;
      }
    }
    if (runs_.size() == kMaxRuns) return GiveUp();
    runs_.push_back(BlockRun{lba, blocks});
  }
  // Too much to track: the buffer must be journaled whole.
  void GiveUp() {
    overflow_ = true;
    runs_.clear();
    runs_.shrink_to_fit();
    bytes_ = 0;
  }
  bool overflow() const { return overflow_; }
  bool empty() const { return runs_.empty() && !overflow_; }
  // An upper bound of the bytes a delta of the changes carries.
  uint64_t delta_bytes() const { return bytes_; }
  // The changed runs, sorted and merged; the log forgets them.
  std::vector<BlockRun> Take();
  // A new buffer: nothing changed yet.
  void Reset() {
    runs_.clear();
    bytes_ = 0;
    overflow_ = false;
  }

 private:
  std::vector<BlockRun> runs_;
  uint64_t bytes_ = 0;
  bool overflow_ = false;
};

}  // namespace bp
