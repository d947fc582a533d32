// WritePath implementation: applying writes, trims and zeroes to the active buffer, deferred
// writes, and FLUSH/FUA waiters (see write_path.h).
#include "engine/write_path.h"

#include <algorithm>
#include <cstring>

#include "engine/object_format.h"
#include "util/crc32c.h"

namespace bp {
namespace {

// Copy one block and tell whether it was all zeros, in one pass over the source: the check
// looks at each 64-byte line as it is copied and stops at the first non-zero one (the usual
// case, at once), after which the rest is a plain copy.
bool CopyBlockIsZero(uint8_t* dst, const uint8_t* src) {
  for (size_t i = 0; i < kBlockSize; i += 64) {
    uint64_t w[8];
    std::memcpy(w, src + i, 64);
    std::memcpy(dst + i, w, 64);
    if ((w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]) != 0) {
      std::memcpy(dst + i + 64, src + i + 64, kBlockSize - i - 64);
      return false;
    }
  }
  return true;
}

}  // namespace

bool IsZeroBlock(const uint8_t* p) {
  uint64_t acc = 0;
  for (size_t i = 0; i < kBlockSize; i += 64) {
    uint64_t w[8];
    std::memcpy(w, p + i, 64);
    acc |= w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
    if (acc) return false;
  }
  return true;
}

WritePath::WritePath(const CodecChain* chain, bool log_changes)
    : chain_(chain), active_(std::make_unique<WriteBuffer>()), log_changes_(log_changes) {}

void WritePath::StoreBlock(uint64_t lba, const uint8_t* data) {
  if (IsZeroBlock(data)) {
    active_->SetRange(lba, 1, ExtentKind::kZero);
  } else {
    std::memcpy(active_->PutBlock(lba), data, kBlockSize);
  }
}

bool WritePath::PutRelocated(uint64_t lba, const uint8_t* data, Clock::TimePoint now, bool warm) {
  const uint8_t* existing = nullptr;
  if (active_->Lookup(lba, &existing) != WriteBuffer::Hit::kMiss) return false;
  if (active_->empty()) active_since_ = now;
  StoreBlock(lba, data);
  if (warm) active_->MarkWarm(lba);
  ++stamp_;
  if (log_changes_) changes_.Note(lba, 1, /*data=*/true);
  return true;
}

// Whole blocks [first, end) of a write, from src.
void WritePath::CopyRun(uint64_t first, uint64_t end, const uint8_t* src) {
  const uint8_t* p = src;
  uint64_t zero_start = 0, zero_count = 0;
  // A lone codec may store a unit unchanged (lz4's or zstd's raw frame for data that does not
  // compress; never one behind another codec, such as encrypt): then the stored unit's
  // checksum is made of its blocks' CRCs, taken here in the copy's pass while the bytes are in
  // the CPU cache. Left to the segment encoder, it would read them back from memory long after.
  // Where the codec compresses instead, the CRC was a wasted pass over hot data: a few percent
  // of what compressing the block costs.
  const bool checksum_blocks = chain_->MayKeepInput();
  uint32_t* crc = nullptr;
  // Each block is copied into the buffer while it is checked; an all-zero one is dropped again
  // when its run of zeros becomes a ZERO range (which erases the buffered blocks).
  for (uint64_t b = first; b < end; ++b, p += kBlockSize) {
    uint8_t* block = active_->PutBlock(b, checksum_blocks ? &crc : nullptr);
    const bool zero = checksum_blocks ? IsZeroBlock(p) : CopyBlockIsZero(block, p);
    if (zero) {
      // Dropped with its run below; until then the buffer holds what was written.
      if (checksum_blocks) std::memset(block, 0, kBlockSize);
      if (zero_count == 0) zero_start = b;
      ++zero_count;
      continue;
    }
    // One pass copies and checksums (the zero check stopped at the first non-zero line).
    if (checksum_blocks) *crc = Crc32cCopy(block, p, kBlockSize);
    if (zero_count) {
      active_->SetRange(zero_start, zero_count, ExtentKind::kZero);
      zero_count = 0;
    }
  }
  if (zero_count) active_->SetRange(zero_start, zero_count, ExtentKind::kZero);
}

bool WritePath::TryApply(const bp_io* io, Clock::TimePoint now, const EdgeSource& edges,
                         UnitRef* need, bool* map_broken) {
  const uint64_t off = io->offset;
  const uint64_t end = io->offset + io->length;
  const uint8_t* src = io->op == BP_IO_OP_WRITE ? static_cast<const uint8_t*>(io->buf) : nullptr;
  ExtentKind range_kind = ExtentKind::kHole;
  if (io->op == BP_IO_OP_WRITE_ZEROES && (io->flags & BP_IO_FLAG_NO_HOLE))
    range_kind = ExtentKind::kZero;

  const uint64_t first = off >> kBlockShift;
  const uint64_t last = (end - 1) >> kBlockShift;
  const bool head_partial = (off & (kBlockSize - 1)) != 0 || end < ((first + 1) << kBlockShift);
  const bool tail_partial = last != first && (end & (kBlockSize - 1)) != 0;

  // Resolve both edges before changing anything, so a retry starts from a clean state.
  alignas(64) uint8_t head[kBlockSize];
  alignas(64) uint8_t tail[kBlockSize];
  if (head_partial && !edges(first, head, need, map_broken)) return false;
  if (tail_partial && !edges(last, tail, need, map_broken)) return false;

  if (active_->empty()) active_since_ = now;
  auto overlay = [&](uint64_t block, uint8_t* content) {
    uint64_t start = std::max(off, block << kBlockShift);
    uint64_t stop = std::min(end, (block + 1) << kBlockShift);
    uint8_t* dst = content + (start - (block << kBlockShift));
    if (src) {
      std::memcpy(dst, src + (start - off), stop - start);
    } else {
      std::memset(dst, 0, stop - start);
    }
    StoreBlock(block, content);
  };
  if (head_partial) overlay(first, head);
  uint64_t mid_first = head_partial ? first + 1 : first;
  uint64_t mid_end = tail_partial ? last : last + 1;
  if (head_partial && last == first) mid_end = mid_first;
  if (mid_end > mid_first) {
    if (src) {
      CopyRun(mid_first, mid_end, src + ((mid_first << kBlockShift) - off));
    } else {
      active_->SetRange(mid_first, mid_end - mid_first, range_kind);
    }
  }
  if (tail_partial) overlay(last, tail);
  ++stamp_;
  if (log_changes_) changes_.Note(first, last - first + 1, /*data=*/src != nullptr);
  return true;
}

std::unique_ptr<WriteBuffer> WritePath::TakeActive(std::unique_ptr<WriteBuffer> fresh) {
  std::unique_ptr<WriteBuffer> sealed = std::move(active_);
  active_ = std::move(fresh);
  active_has_waiters_ = false;
  changes_.Reset();
  active_deltas_ = 0;
  active_journaled_stamp_ = 0;
  return sealed;
}

uint32_t WritePath::TakeDelta(WriteBuffer* delta) {
  for (const BlockRun& run : changes_.Take()) active_->CopyRunTo(run.lba, run.blocks, delta);
  return active_deltas_ + 1;
}

std::deque<WritePath::Deferred> WritePath::TakeDeferred() {
  std::deque<Deferred> taken;
  taken.swap(deferred_);
  return taken;
}

std::vector<bp_io*> WritePath::ExpireDeferred(Clock::TimePoint now, Clock::Duration max_wait) {
  std::vector<bp_io*> expired;
  while (!deferred_.empty() && now - deferred_.front().since >= max_wait) {
    expired.push_back(deferred_.front().io);
    deferred_.pop_front();
  }
  return expired;
}

void WritePath::AddWaiter(uint64_t target, bp_io* io, bool covers_active) {
  waiters_.push_back(Waiter{target, stamp_, io});
  if (covers_active) active_has_waiters_ = true;
}

uint64_t WritePath::max_waiter_target() const {
  uint64_t target = 0;
  for (const Waiter& w : waiters_) target = std::max(target, w.target);
  return target;
}

void WritePath::CompleteWaiters(uint64_t frontier, uint64_t next_stamp, Completions* done) {
  auto keep = std::remove_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
    const bool covered =
        w.target <= frontier || (w.target == frontier + 1 && w.stamp <= next_stamp);
    if (!covered) return false;
    done->Add(w.io, 0);
    return true;
  });
  waiters_.erase(keep, waiters_.end());
}

void WritePath::FailWaiters(int error, Completions* done) {
  for (const Waiter& w : waiters_) done->Add(w.io, error);
  waiters_.clear();
}

bool WritePath::RemoveWaiter(const bp_io* io) {
  auto it =
      std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.io == io; });
  if (it == waiters_.end()) return false;
  waiters_.erase(it);
  return true;
}

}  // namespace bp
