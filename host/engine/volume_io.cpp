// Volume request path: bounds checks, reads served from the write buffers, the unit cache or
// the backend, writes/trims/zeroes into the active buffer with read-modify-write of partial
// edge blocks, backpressure, CACHE prefetch and sequential read-ahead.
#include <algorithm>
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "engine/volume.h"
#include "util/crc32c.h"

namespace bp {
namespace {

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

// Copy the part of blocks [block, block+n) that falls in the request [offset, offset+length)
// from src (the data of `block` onward; nullptr = zeros) into the request buffer.
void CopyBlocks(uint64_t offset, uint64_t length, uint8_t* buf, uint64_t block, uint64_t n,
                const uint8_t* src) {
  uint64_t start = std::max(offset, block << kBlockShift);
  uint64_t end = std::min(offset + length, (block + n) << kBlockShift);
  if (start >= end) return;
  uint8_t* dst = buf + (start - offset);
  if (src) {
    std::memcpy(dst, src + (start - (block << kBlockShift)), end - start);
  } else {
    std::memset(dst, 0, end - start);
  }
}

// Blocks read ahead at most, and units prefetched at most, per sequential request.
constexpr uint64_t kReadAheadMaxBlocks = 256;
constexpr size_t kReadAheadMaxUnits = 16;
// Re-resolution attempts of a read-modify-write before giving up with EIO.
constexpr int kMaxMergeAttempts = 16;

}  // namespace

void Volume::Info(bp_volume_info* info, bool ref_read_only) const {
  bp_volume_info full{};
  full.flags = BP_VOLUME_CAN_FLUSH | BP_VOLUME_CAN_FUA | BP_VOLUME_CAN_TRIM |
               BP_VOLUME_CAN_ZERO | BP_VOLUME_CAN_FAST_ZERO | BP_VOLUME_CAN_CACHE |
               BP_VOLUME_CAN_MULTI_CONN;
  if (ref_read_only || read_only()) full.flags |= BP_VOLUME_READ_ONLY;
  full.size = meta_.size;
  full.min_block = 1;
  full.preferred_block = kBlockSize;
  full.max_request = kMaxRequestBytes;
  size_t n = info->struct_size == 0 ? sizeof(full)
                                    : std::min<size_t>(info->struct_size, sizeof(full));
  full.struct_size = static_cast<uint32_t>(n);
  std::memcpy(info, &full, n);
}

void Volume::Submit(bp_io* io, bool ref_read_only) {
  const uint64_t size = meta_.size;
  const bool in_bounds = io->offset <= size && io->length <= size - io->offset;
  switch (io->op) {
    case BP_IO_READ:
      if (!in_bounds || io->length > kMaxRequestBytes) return Complete(io, EINVAL);
      if (io->length == 0) return Complete(io, 0);
      return SubmitRead(io);
    case BP_IO_WRITE:
    case BP_IO_TRIM:
    case BP_IO_WRITE_ZEROES:
      if (ref_read_only || !writable_) return Complete(io, EROFS);  // fenced: SubmitModify
      if (!in_bounds) return Complete(io, ENOSPC);
      if (io->op == BP_IO_WRITE && io->length > kMaxRequestBytes) return Complete(io, EINVAL);
      if (io->length == 0) {
        if (io->flags & BP_IO_FUA) return SubmitFlush(io);
        return Complete(io, 0);
      }
      return SubmitModify(io);
    case BP_IO_FLUSH:
      return SubmitFlush(io);
    case BP_IO_CACHE:
      if (!in_bounds) return Complete(io, EINVAL);
      return SubmitCache(io);
    default:
      return Complete(io, EINVAL);
  }
}

UnitKey Volume::KeyFor(uint64_t seq, uint32_t unit_index) const {
  UnitKey key;
  key.volume = meta_.uuid;
  key.seq = seq;
  key.index = unit_index;
  return key;
}

WriteBuffer::Hit Volume::LookupBuffersLocked(uint64_t lba, const uint8_t** data) const {
  WriteBuffer::Hit hit = active_->Lookup(lba, data);
  if (hit != WriteBuffer::Hit::kMiss) return hit;
  for (auto it = pending_.rbegin(); it != pending_.rend(); ++it) {
    hit = (*it)->buffer->Lookup(lba, data);
    if (hit != WriteBuffer::Hit::kMiss) return hit;
  }
  return WriteBuffer::Hit::kMiss;
}

// ---------------------------------------------------------------------------------------------
// Reads

bool Volume::PlanReadLocked(uint64_t offset, uint64_t length, uint8_t* buf,
                            std::vector<UnitFetch>* plan, std::vector<CachedSpan>* hits) {
  const uint64_t first = offset >> kBlockShift;
  const uint64_t last = (offset + length - 1) >> kBlockShift;
  const bool buffers_empty = active_->empty() && pending_.empty();
  UnitKey cached_key;
  UnitData cached;  // the last unit found in the cache, reused for its neighbours
  uint64_t b = first;
  while (b <= last) {
    uint64_t run = last - b + 1;
    if (!buffers_empty) {
      const uint8_t* data = nullptr;
      WriteBuffer::Hit hit = LookupBuffersLocked(b, &data);
      if (hit != WriteBuffer::Hit::kMiss) {
        CopyBlocks(offset, length, buf, b, 1, hit == WriteBuffer::Hit::kData ? data : nullptr);
        ++b;
        continue;
      }
      run = 1;  // the next block may be buffered again
    }
    MapPiece piece = state_.map.Lookup(b, run);
    uint64_t n = std::min(piece.blocks, run);
    if (!piece.mapped || piece.kind != ExtentKind::kData) {
      CopyBlocks(offset, length, buf, b, n, nullptr);
      b += n;
      continue;
    }
    uint64_t index = piece.index;
    while (n > 0) {
      uint32_t unit_index = 0;
      const UnitLoc* loc = state_.FindUnit(piece.seq, index, &unit_index);
      if (!loc) {
        spdlog::error("volume {}: map points to segment {} block {} which has no unit",
                      meta_.name, piece.seq, index);
        return false;
      }
      uint64_t in_unit = index - loc->first_block;
      uint64_t k = std::min<uint64_t>(n, loc->logical_length / kBlockSize - in_unit);
      UnitKey key = KeyFor(piece.seq, unit_index);
      if (!cached || !(cached_key == key)) {
        cached = svc_.cache->Lookup(key);
        cached_key = key;
      }
      uint64_t start = std::max(offset, b << kBlockShift);
      uint64_t end = std::min(offset + length, (b + k) << kBlockShift);
      ReadSpan span{start - offset, (in_unit << kBlockShift) + (start - (b << kBlockShift)),
                    end - start};
      if (cached) {
        // Copied after the lock is released: a 1 MiB read must not hold writers for its copy.
        if (!hits->empty() && hits->back().unit == cached &&
            hits->back().span.dst + hits->back().span.len == span.dst &&
            hits->back().span.src + hits->back().span.len == span.src) {
          hits->back().span.len += span.len;
        } else {
          hits->push_back(CachedSpan{cached, span});
        }
      } else {
        auto same = std::find_if(plan->begin(), plan->end(),
                                 [&](const UnitFetch& f) { return f.unit.key == key; });
        if (same == plan->end()) {
          UnitFetch fetch;
          fetch.unit = UnitNeed{key, piece.seq, unit_index, *loc, false};
          plan->push_back(std::move(fetch));
          same = plan->end() - 1;
        }
        same->spans.push_back(span);
      }
      b += k;
      n -= k;
      index += k;
    }
  }
  return true;
}

void Volume::ReadAheadLocked(uint64_t next_block, uint64_t blocks, std::vector<UnitNeed>* out) {
  if (next_block >= volume_blocks_) return;
  blocks = std::min(blocks, volume_blocks_ - next_block);
  state_.map.Visit(next_block, blocks, [&](const MapPiece& p) {
    if (!p.mapped || p.kind != ExtentKind::kData) return;
    uint64_t index = p.index;
    uint64_t n = p.blocks;
    while (n > 0 && out->size() < kReadAheadMaxUnits) {
      uint32_t unit_index = 0;
      const UnitLoc* loc = state_.FindUnit(p.seq, index, &unit_index);
      if (!loc) return;
      uint64_t k = std::min<uint64_t>(n, loc->first_block + loc->logical_length / kBlockSize - index);
      UnitKey key = KeyFor(p.seq, unit_index);
      bool listed = std::any_of(out->begin(), out->end(),
                                [&](const UnitNeed& u) { return u.key == key; });
      if (!listed && !svc_.cache->ContainsOrLoading(key)) {
        out->push_back(UnitNeed{key, p.seq, unit_index, *loc, false});
      }
      n -= k;
      index += k;
    }
  });
}

void Volume::SubmitRead(bp_io* io) {
  std::vector<UnitFetch> plan;
  std::vector<CachedSpan> hits;
  std::vector<UnitNeed> ahead;
  bool ok = false;
  int error = ESHUTDOWN;
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_) {
      error = EIO;
      ok = PlanReadLocked(io->offset, io->length, static_cast<uint8_t*>(io->buf), &plan, &hits);
      const uint64_t first = io->offset >> kBlockShift;
      const uint64_t end_block = (io->offset + io->length + kBlockSize - 1) >> kBlockShift;
      if (first == sequential_next_block_) {
        uint64_t span = std::max<uint64_t>(end_block - first, meta_.unit_size / kBlockSize);
        ReadAheadLocked(end_block, std::min(span, kReadAheadMaxBlocks), &ahead);
      }
      sequential_next_block_ = end_block;
      epoch = fetch_epoch_;
      if (ok && !plan.empty()) {
        background_++;
        BeginFetchLocked();
      }
      if (!ahead.empty()) {
        background_++;
        BeginFetchLocked();
      }
    }
  }
  if (!ahead.empty()) {
    auto self = shared_from_this();
    svc_.pool->Submit([self, units = std::move(ahead), epoch] {
      self->Prefetch(units);
      std::lock_guard<std::mutex> lock(self->mu_);
      self->EndFetchLocked(epoch);
      self->BackgroundDoneLocked();
    });
  }
  if (!ok) return Complete(io, error);
  uint8_t* buf = static_cast<uint8_t*>(io->buf);
  for (const CachedSpan& hit : hits) {
    std::memcpy(buf + hit.span.dst, hit.unit->data() + hit.span.src, hit.span.len);
  }
  if (plan.empty()) return Complete(io, 0);
  RunFetches(io, std::move(plan), epoch);
}

Status Volume::LoadUnit(const UnitNeed& unit, UnitData* out) {
  Status s = svc_.cache->GetOrLoad(
      unit.key,
      [&](Bytes* bytes) {
        return ReadUnit(*svc_.store, SegmentKey(meta_.name, unit.seq), unit.seq, unit.unit_index,
                        unit.loc, *chain_, bytes);
      },
      out);
  if (!s.ok()) spdlog::error("volume {}: {}", meta_.name, s.ToString());
  return s;
}

// Fetches of one read run in parallel on the pool; the last one to finish completes the io.
void Volume::RunFetches(bp_io* io, std::vector<UnitFetch> plan, uint64_t epoch) {
  struct Shared {
    std::vector<UnitFetch> plan;
    std::atomic<size_t> remaining;
    std::atomic<int> error{0};
  };
  auto shared = std::make_shared<Shared>();
  shared->remaining = plan.size();
  shared->plan = std::move(plan);
  auto self = shared_from_this();
  for (size_t i = 0; i < shared->plan.size(); ++i) {
    svc_.pool->Submit([self, shared, io, i, epoch] {
      const UnitFetch& f = shared->plan[i];
      UnitData data;
      if (self->LoadUnit(f.unit, &data).ok()) {
        uint8_t* buf = static_cast<uint8_t*>(io->buf);
        for (const ReadSpan& s : f.spans) std::memcpy(buf + s.dst, data->data() + s.src, s.len);
      } else {
        shared->error = EIO;
      }
      if (shared->remaining.fetch_sub(1) == 1) {
        Complete(io, shared->error.load());
        std::lock_guard<std::mutex> lock(self->mu_);
        self->EndFetchLocked(epoch);
        self->BackgroundDoneLocked();
      }
    });
  }
}

void Volume::Prefetch(const std::vector<UnitNeed>& units) {
  for (const UnitNeed& u : units) {
    UnitData ignored;
    LoadUnit(u, &ignored);  // failures are logged; the real read will report them
  }
}

void Volume::SubmitCache(bp_io* io) {
  // CACHE is advisory: warm the unit cache with the mapped units of the range, at most half of
  // the cache so a whole-device CACHE cannot evict everything else.
  std::vector<UnitNeed> units;
  int error = 0;
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) {
      error = ESHUTDOWN;
    } else if (io->length > 0) {
      uint64_t first = io->offset >> kBlockShift;
      uint64_t last = (io->offset + io->length - 1) >> kBlockShift;
      uint64_t budget = svc_.cache->capacity() / 2;
      uint64_t planned = 0;
      state_.map.Visit(first, last - first + 1, [&](const MapPiece& p) {
        if (!p.mapped || p.kind != ExtentKind::kData || planned >= budget) return;
        uint64_t index = p.index, n = p.blocks;
        while (n > 0 && planned < budget) {
          uint32_t unit_index = 0;
          const UnitLoc* loc = state_.FindUnit(p.seq, index, &unit_index);
          if (!loc) return;
          uint64_t k =
              std::min<uint64_t>(n, loc->first_block + loc->logical_length / kBlockSize - index);
          UnitKey key = KeyFor(p.seq, unit_index);
          if ((units.empty() || !(units.back().key == key)) &&
              !svc_.cache->ContainsOrLoading(key)) {
            units.push_back(UnitNeed{key, p.seq, unit_index, *loc, false});
            planned += loc->logical_length;
          }
          n -= k;
          index += k;
        }
      });
      if (!units.empty()) {
        background_++;
        epoch = BeginFetchLocked();
      }
    }
  }
  if (units.empty()) return Complete(io, error);
  auto self = shared_from_this();
  svc_.pool->Submit([self, io, units = std::move(units), epoch] {
    self->Prefetch(units);
    Complete(io, 0);
    std::lock_guard<std::mutex> lock(self->mu_);
    self->EndFetchLocked(epoch);
    self->BackgroundDoneLocked();
  });
}

// ---------------------------------------------------------------------------------------------
// Writes, trims, zeroes

bool Volume::HasRoomLocked(uint64_t length) const {
  uint64_t buffered = active_->memory_bytes() + pending_bytes_;
  if (buffered == 0) return true;  // a single request larger than the limit still proceeds
  return buffered + length <= svc_.options.write_buffer_limit;
}

void Volume::DeferLocked(bp_io* io) {
  deferred_.push_back(DeferredWrite{io, svc_.clock->Now()});
  // Room comes back when pending segments upload; if none is pending, make one.
  if (pending_.empty() && !active_->empty()) SealLocked();
}

void Volume::SubmitModify(bp_io* io) {
  Completions done;
  std::unique_lock<std::mutex> lock(mu_);
  if (closed_ || !accepting_writes_) return done.Add(io, ESHUTDOWN);
  if (fenced_) return done.Add(io, EROFS);
  const uint64_t cost = io->op == BP_IO_WRITE ? io->length + kBlockSize : 2 * kBlockSize;
  if (!deferred_.empty() || !HasRoomLocked(cost)) return DeferLocked(io);
  UnitNeed need;
  if (TryModifyLocked(io, HeldUnits{}, &need)) return AfterModifyLocked(io, &done);
  background_++;
  lock.unlock();
  auto self = shared_from_this();
  svc_.pool->Submit([self, io] {
    self->ModifySlow(io);
    std::lock_guard<std::mutex> relock(self->mu_);
    self->BackgroundDoneLocked();
  });
}

void Volume::ModifySlow(bp_io* io) {
  Completions done;
  HeldUnits held;
  const uint64_t cost = io->op == BP_IO_WRITE ? io->length + kBlockSize : 2 * kBlockSize;
  for (int attempt = 0; attempt < kMaxMergeAttempts; ++attempt) {
    UnitNeed need;
    uint64_t epoch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (closed_ || !accepting_writes_) return done.Add(io, ESHUTDOWN);
      if (fenced_) return done.Add(io, EROFS);
      if (!HasRoomLocked(cost)) return DeferLocked(io);
      if (TryModifyLocked(io, held, &need)) return AfterModifyLocked(io, &done);
      if (need.map_broken) return done.Add(io, EIO);
      epoch = BeginFetchLocked();
    }
    UnitData data;
    const bool loaded = LoadUnit(need, &data).ok();
    {
      std::lock_guard<std::mutex> lock(mu_);
      EndFetchLocked(epoch);
    }
    if (!loaded) return done.Add(io, EIO);
    held.emplace_back(need.key, std::move(data));
  }
  spdlog::error("volume {}: read-modify-write at offset {} kept racing with other writes",
                meta_.name, io->offset);
  done.Add(io, EIO);
}

bool Volume::BlockForMergeLocked(uint64_t lba, const HeldUnits& held, uint8_t* out,
                                 UnitNeed* need) {
  const uint8_t* data = nullptr;
  switch (LookupBuffersLocked(lba, &data)) {
    case WriteBuffer::Hit::kData:
      std::memcpy(out, data, kBlockSize);
      return true;
    case WriteBuffer::Hit::kZeros:
      std::memset(out, 0, kBlockSize);
      return true;
    case WriteBuffer::Hit::kMiss:
      break;
  }
  MapPiece piece = state_.map.Lookup(lba, 1);
  if (!piece.mapped || piece.kind != ExtentKind::kData) {
    std::memset(out, 0, kBlockSize);
    return true;
  }
  uint32_t unit_index = 0;
  const UnitLoc* loc = state_.FindUnit(piece.seq, piece.index, &unit_index);
  if (!loc) {
    spdlog::error("volume {}: map points to segment {} block {} which has no unit", meta_.name,
                  piece.seq, piece.index);
    need->map_broken = true;
    return false;
  }
  UnitKey key = KeyFor(piece.seq, unit_index);
  const uint64_t at = static_cast<uint64_t>(piece.index - loc->first_block) << kBlockShift;
  for (const auto& [held_key, held_data] : held) {
    if (held_key == key) {
      std::memcpy(out, held_data->data() + at, kBlockSize);
      return true;
    }
  }
  if (UnitData cached = svc_.cache->Lookup(key)) {
    std::memcpy(out, cached->data() + at, kBlockSize);
    return true;
  }
  *need = UnitNeed{key, piece.seq, unit_index, *loc, false};
  return false;
}

void Volume::StoreBlockLocked(uint64_t lba, const uint8_t* data) {
  if (IsZeroBlock(data)) {
    active_->SetRange(lba, 1, ExtentKind::kZero);
  } else {
    std::memcpy(active_->PutBlock(lba), data, kBlockSize);
  }
}

bool Volume::TryModifyLocked(const bp_io* io, const HeldUnits& held, UnitNeed* need) {
  const uint64_t off = io->offset;
  const uint64_t end = io->offset + io->length;
  const uint8_t* src = io->op == BP_IO_WRITE ? static_cast<const uint8_t*>(io->buf) : nullptr;
  ExtentKind range_kind = ExtentKind::kHole;
  if (io->op == BP_IO_WRITE_ZEROES && (io->flags & BP_IO_NO_HOLE)) range_kind = ExtentKind::kZero;

  const uint64_t first = off >> kBlockShift;
  const uint64_t last = (end - 1) >> kBlockShift;
  const bool head_partial = (off & (kBlockSize - 1)) != 0 || end < ((first + 1) << kBlockShift);
  const bool tail_partial = last != first && (end & (kBlockSize - 1)) != 0;

  // Resolve both edges before changing anything, so a retry starts from a clean state.
  alignas(64) uint8_t head[kBlockSize];
  alignas(64) uint8_t tail[kBlockSize];
  if (head_partial && !BlockForMergeLocked(first, held, head, need)) return false;
  if (tail_partial && !BlockForMergeLocked(last, held, tail, need)) return false;

  if (active_->empty()) active_since_ = svc_.clock->Now();
  auto overlay = [&](uint64_t block, uint8_t* content) {
    uint64_t start = std::max(off, block << kBlockShift);
    uint64_t stop = std::min(end, (block + 1) << kBlockShift);
    uint8_t* dst = content + (start - (block << kBlockShift));
    if (src) {
      std::memcpy(dst, src + (start - off), stop - start);
    } else {
      std::memset(dst, 0, stop - start);
    }
    StoreBlockLocked(block, content);
  };
  if (head_partial) overlay(first, head);
  uint64_t mid_first = head_partial ? first + 1 : first;
  uint64_t mid_end = tail_partial ? last : last + 1;
  if (head_partial && last == first) mid_end = mid_first;
  if (mid_end > mid_first) {
    if (src) {
      const uint8_t* p = src + ((mid_first << kBlockShift) - off);
      uint64_t zero_start = 0, zero_count = 0;
      // A lone codec may store a unit unchanged (lz4's or zstd's raw frame for data that does
      // not compress; never one behind another codec, such as encrypt): then the stored unit's
      // checksum is made of its blocks' CRCs, taken here in the copy's pass while the bytes are
      // in the CPU cache. Left to the segment encoder, it would read them back from memory
      // long after. Where the codec compresses instead, the CRC was a wasted pass over hot
      // data: a few percent of what compressing the block costs.
      const bool checksum_blocks = chain_->MayKeepInput();
      uint32_t* crc = nullptr;
      // Each block is copied into the buffer while it is checked; an all-zero one is dropped
      // again when its run of zeros becomes a ZERO range (which erases the buffered blocks).
      for (uint64_t b = mid_first; b < mid_end; ++b, p += kBlockSize) {
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
    } else {
      active_->SetRange(mid_first, mid_end - mid_first, range_kind);
    }
  }
  if (tail_partial) overlay(last, tail);
  return true;
}

void Volume::AfterModifyLocked(bp_io* io, Completions* done) {
  if (io->flags & BP_IO_FUA) {
    AddWaiterLocked(io, done);  // seals if needed; may complete at once
  } else {
    done->Add(io, 0);
  }
  MaybeSealFullLocked();
}

}  // namespace bp
