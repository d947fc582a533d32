// Volume write path: WRITE, TRIM and WRITE_ZEROES into the active buffer (WritePath does the
// applying; this file supplies partial edge blocks and loads the units they need without the
// lock), backpressure, and FLUSH/FUA, which wait for group commit (volume_commit.cpp).
#include <cerrno>
#include <cstring>

#include <spdlog/spdlog.h>

#include "engine/sync_io.h"
#include "engine/volume.h"

namespace bp {
namespace {
// Re-resolution attempts of a read-modify-write before giving up with EIO.
constexpr int kMaxMergeAttempts = 16;

// Buffer memory a request may add: its data and a block of index and edge overhead.
uint64_t CostOf(const bp_io* io) {
  return io->op == BP_IO_OP_WRITE ? io->length + kBlockSize : 2 * kBlockSize;
}
}  // namespace

bool Volume::HasRoom(uint64_t length) const {
  const uint64_t buffered = write_.active_bytes() + committer_.pending_bytes();
  if (buffered == 0) return true;  // a single request larger than the limit still proceeds
  return buffered + length <= svc_.options.write_buffer_limit;
}

// The current content of block lba for a read-modify-write: the newest buffer that has it,
// else the map (a unit in `held` or the cache, or *need to load).
bool Volume::EdgeBlock(const HeldUnits& held, uint64_t lba, uint8_t* out, UnitRef* need,
                       bool* map_broken) const {
  const uint8_t* data = nullptr;
  WriteBuffer::Hit hit = write_.active().Lookup(lba, &data);
  if (hit == WriteBuffer::Hit::kMiss) hit = committer_.Lookup(lba, &data);
  switch (hit) {
    case WriteBuffer::Hit::kData: std::memcpy(out, data, kBlockSize); return true;
    case WriteBuffer::Hit::kZeros: std::memset(out, 0, kBlockSize); return true;
    case WriteBuffer::Hit::kMiss: break;
  }
  return read_.MergeBlock(state_, held, lba, out, need, map_broken);
}

Volume::Applied Volume::TryModify(bp_io* io, const HeldUnits& held, UnitRef* need,
                                  Completions* done) {
  if (!HasRoom(CostOf(io))) {
    DeferWrite(io);
    return Applied::kDeferred;
  }
  bool map_broken = false;
  // TryApply calls this synchronously, within this function's hold of mu_ (which the analysis
  // cannot follow into a lambda).
  auto edges = [&](uint64_t lba, uint8_t* out, UnitRef* unit, bool* broken)
                   BP_NO_THREAD_SAFETY_ANALYSIS { return EdgeBlock(held, lba, out, unit, broken); };
  if (!write_.TryApply(io, svc_.clock->Now(), edges, need, &map_broken)) {
    if (!map_broken) return Applied::kNeedUnit;
    done->Add(io, EIO);
    return Applied::kDone;
  }
  if (io->op == BP_IO_OP_WRITE) gc_.ClientWrote(io->length);
  if (io->flags & BP_IO_FLAG_FUA) {
    AddWaiter(io, done);  // seals if needed; may complete at once
  } else {
    done->Add(io, 0);
  }
  SealIfFull();
  return Applied::kDone;
}

void Volume::SubmitModify(bp_io* io) {
  Completions done;
  MutexLock lock(&mu_);
  if (phase_ != Phase::kServing) return done.Add(io, ESHUTDOWN);
  if (access_ == Access::kFenced) return done.Add(io, EROFS);
  if (write_.has_deferred()) return DeferWrite(io);  // keep arrival order
  UnitRef need;
  if (TryModify(io, HeldUnits{}, &need, &done) != Applied::kNeedUnit) return;
  auto self = shared_from_this();
  RunInBackground([self, io] {
    self->ModifySlow(io);
    MutexLock relock(&self->mu_);
    self->BackgroundDone();
  });
}

void Volume::ModifySlow(bp_io* io) {
  Completions done;
  HeldUnits held;
  for (int attempt = 0; attempt < kMaxMergeAttempts; ++attempt) {
    UnitRef need;
    uint64_t epoch;
    {
      MutexLock lock(&mu_);
      if (phase_ != Phase::kServing) return done.Add(io, ESHUTDOWN);
      if (access_ == Access::kFenced) return done.Add(io, EROFS);
      if (TryModify(io, held, &need, &done) != Applied::kNeedUnit) return;
      epoch = pins_.BeginFetch();
    }
    UnitData data;
    const bool loaded = loader_.Load(need, &data).ok();
    {
      MutexLock lock(&mu_);
      pins_.EndFetch(epoch);
    }
    if (!loaded) return done.Add(io, EIO);
    held.emplace_back(need.key, std::move(data));
  }
  spdlog::error("volume {}: read-modify-write at offset {} kept racing with other writes",
                meta_.name, io->offset);
  done.Add(io, EIO);
}

void Volume::DeferWrite(bp_io* io) {
  write_.Defer(io, svc_.clock->Now());
  // Room comes back when pending segments upload; if none is pending, make one.
  if (!committer_.has_pending() && !write_.active_empty()) Seal();
}

void Volume::ResumeDeferred() {
  if (!write_.has_deferred()) return;
  auto self = shared_from_this();
  // Retried on the executor in arrival order; each re-checks room and defers again if needed.
  for (const WritePath::Deferred& d : write_.TakeDeferred()) {
    bp_io* io = d.io;
    RunInBackground([self, io] {
      self->ModifySlow(io);
      MutexLock lock(&self->mu_);
      self->BackgroundDone();
    });
  }
}

void Volume::SubmitFlush(bp_io* io) {
  Completions done;
  MutexLock lock(&mu_);
  if (phase_ == Phase::kClosed) return done.Add(io, ESHUTDOWN);
  if (access_ == Access::kFenced) return done.Add(io, EIO);
  AddWaiter(io, &done);
}

// Group commit: a flush waits for the seq its covered writes will land in (the active buffer's
// future seq when it holds data). The active buffer is sealed for waiting flushes only when no
// sealed segment is pending, so every flush arriving while an upload is in flight shares the
// next segment instead of producing one small segment each.
void Volume::AddWaiter(bp_io* io, Completions* done) {
  const bool dirty = !write_.active_empty();
  const uint64_t target = dirty ? committer_.next_seq() : committer_.next_seq() - 1;
  const uint64_t frontier = committer_.AckFrontier();
  if (target <= frontier) return done->Add(io, 0);
  // Everything it covers is in the journal as deltas already (nothing was written since).
  if (target == frontier + 1 && write_.stamp() <= JournaledStampOf(target)) {
    return done->Add(io, 0);
  }
  if (access_ == Access::kFenced) return done->Add(io, EIO);
  if (svc_.options.sabotage & Sabotage::kAckFlushOnSeal) {
    Seal();  // broken on purpose (engine_options.h): acknowledged before the upload
    Pump(/*retry_now=*/true);
    return done->Add(io, 0);
  }
  write_.AddWaiter(target, io, dirty);
  if (write_.active_has_waiters() && SealForWaitersNow()) Seal();
  // A flush is also the signal to retry a failed upload now.
  Pump(/*retry_now=*/true);
  MaybeJournal();
  // Segments already uploaded but not yet durable (deferred durability): sync them now.
  MaybeSync(/*force=*/false);
}

Status Volume::FlushSync() {
  SyncIo w(BP_IO_OP_FLUSH);
  SubmitFlush(&w.io);
  const Clock::TimePoint limit = svc_.clock->Now() +
                                 std::chrono::milliseconds(svc_.options.retry_deadline_ms) +
                                 std::chrono::seconds(30);
  int error = 0;
  if (!w.WaitUntil(svc_.clock, limit, &error)) {
    bool removed;
    {
      MutexLock lock(&mu_);
      removed = write_.RemoveWaiter(&w.io);
    }
    if (removed) return Status::Transient("volume " + meta_.name + ": flush timed out");
    // Completion is being delivered right now; it cannot take long.
    error = w.Wait();
  }
  if (error == 0) return Status::Ok();
  if (error == ESHUTDOWN) return Status::Permanent("volume " + meta_.name + " is closed");
  bool fenced;
  {
    MutexLock lock(&mu_);
    fenced = access_ == Access::kFenced;
  }
  return Status::Permanent(
      "volume " + meta_.name + ": flush failed (" +
      (fenced ? std::string("fenced by another writer") : std::string("backend error, see log")) +
      ")");
}

}  // namespace bp
