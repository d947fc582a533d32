// Volume commit path: sealing the active buffer into a segment, encoding it on the pool,
// uploading segments strictly one at a time in seq order, group commit of FLUSH/FUA, fencing
// when another writer owns the next seq, retries of failed uploads, checkpoints, and the timer.
//
// Group commit: a flush waits for the seq its covered writes will land in (the active buffer's
// future seq when it holds data). The active buffer is sealed for waiting flushes only when no
// sealed segment is pending, so every flush arriving while an upload is in flight shares the
// next segment instead of producing one small segment each.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "engine/checkpoint_format.h"
#include "engine/volume.h"

namespace bp {
namespace {
constexpr uint32_t kFirstRetryMs = 500;
constexpr uint32_t kMaxRetryMs = 30000;
constexpr size_t kCheckpointsKept = 2;
// A periodic checkpoint rewrites the whole map, so on a large fragmented map it can cost more
// than the segments it follows: it also waits until they hold this many times the previous
// checkpoint's size, which keeps checkpoints under 1/8 of the bytes a volume writes.
constexpr uint64_t kCheckpointWriteRatio = 8;
// Map updates applied per lock hold when a segment becomes durable.
constexpr size_t kApplySlice = 256;
}  // namespace

void Volume::Completions::Fire() {
  auto items = std::move(items_);
  items_.clear();
  for (auto& [io, error] : items) io->done(io, error);
}

void Volume::BackgroundDoneLocked() {
  if (--background_ == 0) idle_cv_.notify_all();
}

void Volume::SubmitFlush(bp_io* io) {
  Completions done;
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return done.Add(io, ESHUTDOWN);
  if (fenced_) return done.Add(io, EIO);
  AddWaiterLocked(io, &done);
}

void Volume::AddWaiterLocked(bp_io* io, Completions* done) {
  const bool dirty = !active_->empty();
  const uint64_t target = dirty ? next_seq_ : next_seq_ - 1;
  if (target <= durable_seq_) return done->Add(io, 0);
  if (fenced_) return done->Add(io, EIO);
  waiters_.push_back(FlushWaiter{target, io});
  if (dirty) active_has_waiters_ = true;
  if (active_has_waiters_ && pending_.empty()) SealLocked();
  // A flush is also the signal to retry a failed upload now.
  PumpLocked(/*retry_now=*/true);
}

void Volume::MaybeSealFullLocked() {
  if (active_->memory_bytes() >= svc_.options.segment_size) SealLocked();
}

void Volume::SealLocked() {
  if (active_->empty()) return;
  auto seg = std::make_shared<PendingSegment>();
  seg->seq = next_seq_++;
  seg->buffer = std::move(active_);
  seg->bytes = seg->buffer->memory_bytes();
  pending_bytes_ += seg->bytes;
  if (!spare_buffers_.empty()) {
    active_ = std::move(spare_buffers_.back());
    spare_buffers_.pop_back();
    spare_bytes_ -= active_->retained_bytes();
  } else {
    active_ = std::make_unique<WriteBuffer>();
  }
  if (!spare_images_.empty()) {
    seg->image.storage = std::move(spare_images_.back());
    spare_images_.pop_back();
    spare_bytes_ -= seg->image.storage.capacity();
  }
  active_has_waiters_ = false;
  pending_.push_back(seg);
  background_++;
  auto self = shared_from_this();
  svc_.pool->Submit([self, seg] { self->EncodeSegment(seg); });
}

void Volume::EncodeSegment(std::shared_ptr<PendingSegment> seg) {
  // The sealed buffer is immutable now and the image is this task's alone until `encoded` is
  // set under the lock: encode without the lock.
  Status s = EncodeSegmentImage(*seg->buffer, seg->seq, meta_.uuid, *chain_, meta_.unit_size,
                                &seg->image, svc_.store->TakesParts());
  Completions done;
  std::lock_guard<std::mutex> lock(mu_);
  seg->encoded = true;
  seg->encode_status = s;
  if (s.ok()) {
    // The encoded object waits for its upload too: count the memory it holds of its own (the
    // parts it keeps in the buffer are counted already) against the buffer limit.
    seg->bytes += seg->image.owned_size();
    pending_bytes_ += seg->image.owned_size();
  } else {
    spdlog::error("volume {}: encoding segment {} failed: {}", meta_.name, seg->seq, s.ToString());
    seg->failed = true;
    retry_at_ = svc_.clock->Now() + std::chrono::milliseconds(kMaxRetryMs);
    FailWaitersLocked(EIO, &done);
  }
  PumpLocked(false);
  BackgroundDoneLocked();
}

void Volume::PumpLocked(bool retry_now) {
  if (uploading_ || fenced_ || closed_ || pending_.empty()) return;
  auto head = pending_.front();
  if (!head->encoded) return;  // EncodeSegment pumps when done
  if (head->failed) {
    if (!retry_now && svc_.clock->Now() < retry_at_) return;
    head->failed = false;
    if (!head->encode_status.ok()) {
      head->encoded = false;
      head->encode_status = Status::Ok();
      background_++;
      auto self = shared_from_this();
      svc_.pool->Submit([self, head] { self->EncodeSegment(head); });
      return;
    }
  }
  uploading_ = true;
  background_++;
  auto self = shared_from_this();
  svc_.pool->Submit([self, head] { self->UploadSegment(head); });
}

void Volume::UploadSegment(std::shared_ptr<PendingSegment> seg) {
  const std::string key = SegmentKey(meta_.name, seg->seq);
  const SegmentImage& object = seg->image;
  const ObjectParts parts = object.Parts();
  Status s = svc_.store->PutParts(key, parts, fenced_puts_);
  if (s.IsPrecondition()) {
    // An earlier attempt may have succeeded without us hearing back: the object is ours if it
    // holds exactly our bytes.
    Bytes existing;
    if (svc_.store->Get(key, &existing).ok() &&
        PartsEqual(parts, existing.data(), existing.size())) {
      s = Status::Ok();
    }
  }
  if (s.ok() && cache_written_units_) CacheScatteredUnits(*seg);
  Completions done;
  std::unique_lock<std::mutex> lock(mu_);
  if (s.ok()) {
    // A segment of scattered 4 KiB writes is thousands of map updates. Apply them in slices and
    // let requests in between: until the segment leaves pending_ below, its buffer answers for
    // every block it touches, so a half-applied map is never visible.
    VolumeState::ApplyCursor cursor;
    while (!state_.ApplySegmentSlice(seg->image.meta, object.size(), &cursor, kApplySlice)) {
      lock.unlock();
      std::this_thread::yield();
      lock.lock();
    }
  }
  uploading_ = false;
  if (s.ok()) {
    durable_seq_ = seg->seq;
    durable_bytes_ += object.size();
    pending_.pop_front();
    pending_bytes_ -= seg->bytes;
    RecycleLocked(seg.get());
    if (retry_backoff_ms_ != 0) {
      spdlog::info("volume {}: segment {} uploaded after retrying", meta_.name, seg->seq);
    }
    retry_backoff_ms_ = 0;
    auto keep = std::remove_if(waiters_.begin(), waiters_.end(), [&](const FlushWaiter& w) {
      if (w.target > durable_seq_) return false;
      done.Add(w.io, 0);
      return true;
    });
    waiters_.erase(keep, waiters_.end());
    MaybeCheckpointLocked();
    ResumeDeferredLocked();
    if (active_has_waiters_ && pending_.empty()) SealLocked();
    PumpLocked(false);
  } else if (s.IsPrecondition()) {
    FenceLocked("segment " + key + " already exists", &done);
  } else {
    seg->failed = true;
    retry_backoff_ms_ = retry_backoff_ms_ == 0 ? kFirstRetryMs
                                               : std::min(kMaxRetryMs, retry_backoff_ms_ * 2);
    retry_at_ = svc_.clock->Now() + std::chrono::milliseconds(retry_backoff_ms_);
    spdlog::error("volume {}: uploading segment {} failed: {} (data kept in memory; retrying "
                  "in {} ms or at the next flush)",
                  meta_.name, seg->seq, s.ToString(), retry_backoff_ms_);
    FailWaitersLocked(EIO, &done);
  }
  BackgroundDoneLocked();
}

// Fresh memory is expensive here: every page of a new segment-sized buffer is faulted in and
// cleared by the kernel, and freeing it returns the pages. So a durable segment's write buffer
// (its slabs) and image storage are kept for the next segments: always one encoding's and one
// upload's worth, and more while they, with the segments still in flight, fit in the
// write-buffer limit. At full speed every segment then reuses memory that is already there,
// and an idle volume holds no more than the limit allows.
void Volume::RecycleLocked(PendingSegment* seg) {
  constexpr size_t kAlwaysKept = 2;
  const uint64_t limit = svc_.options.write_buffer_limit;
  auto keep = [&](size_t spares, uint64_t bytes) {
    return spares < kAlwaysKept || pending_bytes_ + spare_bytes_ + bytes <= limit;
  };
  if (seg->buffer) {
    seg->buffer->Reset();
    const uint64_t kept = seg->buffer->retained_bytes();
    if (keep(spare_buffers_.size(), kept)) {
      spare_buffers_.push_back(std::move(seg->buffer));
      spare_bytes_ += kept;
    }
    seg->buffer.reset();
  }
  const uint64_t image = seg->image.storage.capacity();
  if (image != 0 && keep(spare_images_.size(), image)) {
    spare_images_.push_back(std::move(seg->image.storage));
    spare_bytes_ += image;
  }
  seg->image = SegmentImage{};
}

void Volume::CacheScatteredUnits(const PendingSegment& seg) {
  // Units smaller than a full unit come from scattered writes. Reading one of their blocks back
  // later would cost a backend read, a checksum and a decode for a few KiB, so they enter the
  // cache as they become durable (the sealed buffer still holds their plain data; the buffer is
  // immutable and stays alive until this task returns). Full units, from sequential writes, are
  // left to read-ahead: copying every written byte would tax streaming writes for little gain.
  // Not called for backends that read locally: there a miss is a read from the page cache,
  // which holds the segment just written, and the copy would cost random writes about a tenth
  // of their rate (docs/benchmarks.md).
  const SegmentImage& image = seg.image;
  std::vector<size_t> sizes;
  std::vector<uint32_t> unit_of;
  for (size_t u = 0; u < image.meta.units.size(); ++u) {
    const uint32_t logical = image.meta.units[u].logical_length;
    if (logical >= meta_.unit_size) continue;
    sizes.push_back(logical);
    unit_of.push_back(static_cast<uint32_t>(u));
  }
  if (sizes.empty()) return;
  std::vector<std::shared_ptr<Bytes>> buffers;
  svc_.cache->TakeBuffers(sizes, &buffers);
  std::vector<std::pair<UnitKey, UnitData>> units;
  units.reserve(sizes.size());
  for (size_t i = 0; i < sizes.size(); ++i) {
    const UnitLoc& loc = image.meta.units[unit_of[i]];
    uint8_t* out = buffers[i]->data();
    for (uint32_t k = 0; k < loc.logical_length / kBlockSize; ++k) {
      std::memcpy(out + size_t{k} * kBlockSize, image.block_data[loc.first_block + k], kBlockSize);
    }
    units.emplace_back(KeyFor(seg.seq, unit_of[i]), std::move(buffers[i]));
  }
  svc_.cache->InsertMany(&units);
}

void Volume::FailWaitersLocked(int error, Completions* done) {
  for (const FlushWaiter& w : waiters_) done->Add(w.io, error);
  waiters_.clear();
}

void Volume::FenceLocked(const std::string& why, Completions* done) {
  if (!fenced_) {
    spdlog::error("volume {}: {}: another writer owns this volume; it is now read-only here "
                  "(buffered writes that were not flushed are lost)",
                  meta_.name, why);
  }
  fenced_ = true;
  FailWaitersLocked(EIO, done);
  for (const DeferredWrite& d : deferred_) done->Add(d.io, EROFS);
  deferred_.clear();
}

void Volume::ResumeDeferredLocked() {
  if (deferred_.empty()) return;
  auto self = shared_from_this();
  // Retried on the pool in arrival order; each re-checks room and defers again if needed.
  std::deque<DeferredWrite> resumed;
  resumed.swap(deferred_);
  for (const DeferredWrite& d : resumed) {
    background_++;
    bp_io* io = d.io;
    svc_.pool->Submit([self, io] {
      self->ModifySlow(io);
      std::lock_guard<std::mutex> lock(self->mu_);
      self->BackgroundDoneLocked();
    });
  }
}

void Volume::Tick(Clock::TimePoint now) {
  Completions done;
  std::lock_guard<std::mutex> lock(mu_);
  if (closed_) return;
  if (!active_->empty() &&
      now - active_since_ >= std::chrono::milliseconds(svc_.options.flush_interval_ms)) {
    SealLocked();
  }
  if (!pending_.empty() && pending_.front()->failed && now >= retry_at_) PumpLocked(true);
  if (reclaim_reference_ != 0) ScheduleReclaimLocked(0);
  const auto deadline = std::chrono::milliseconds(svc_.options.retry_deadline_ms);
  while (!deferred_.empty() && now - deferred_.front().since >= deadline) {
    spdlog::error("volume {}: a write waited {} ms for buffer space; failing it", meta_.name,
                  svc_.options.retry_deadline_ms);
    done.Add(deferred_.front().io, EIO);
    deferred_.pop_front();
  }
}

Status Volume::FlushSync() {
  struct Waiter {
    bp_io io{};
    std::mutex mu;
    std::condition_variable cv;
    bool finished = false;
    int error = 0;
  } w;
  w.io.op = BP_IO_FLUSH;
  w.io.user = &w;
  w.io.done = [](bp_io* io, int error) {
    auto* self = static_cast<Waiter*>(io->user);
    std::lock_guard<std::mutex> lock(self->mu);
    self->finished = true;
    self->error = error;
    self->cv.notify_all();
  };
  SubmitFlush(&w.io);
  const auto limit = std::chrono::milliseconds(svc_.options.retry_deadline_ms) +
                     std::chrono::seconds(30);
  std::unique_lock<std::mutex> wait_lock(w.mu);
  if (!w.cv.wait_for(wait_lock, limit, [&] { return w.finished; })) {
    wait_lock.unlock();
    bool removed = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = std::find_if(waiters_.begin(), waiters_.end(),
                             [&](const FlushWaiter& f) { return f.io == &w.io; });
      if (it != waiters_.end()) {
        waiters_.erase(it);
        removed = true;
      }
    }
    wait_lock.lock();
    if (removed) return Status::Transient("volume " + meta_.name + ": flush timed out");
    // Completion is being delivered right now; it cannot take long.
    w.cv.wait(wait_lock, [&] { return w.finished; });
  }
  if (w.error == 0) return Status::Ok();
  if (w.error == ESHUTDOWN) return Status::Permanent("volume " + meta_.name + " is closed");
  return Status::Permanent("volume " + meta_.name + ": flush failed (" +
                           (fenced_ ? std::string("fenced by another writer")
                                    : std::string("backend error, see log")) + ")");
}

// ---------------------------------------------------------------------------------------------
// Checkpoints

void Volume::MaybeCheckpointLocked() {
  // The serialization below borrows the upload slot; a segment upload in flight calls back here
  // when it completes.
  if (checkpointing_ || uploading_ || fenced_ || closed_) return;
  if (durable_seq_ < last_checkpoint_seq_ + svc_.options.checkpoint_every_segments) return;
  if (durable_bytes_ < checkpoint_due_bytes_) return;
  checkpointing_ = true;
  background_++;
  const uint64_t seq = state_.through_seq;
  RecordCheckpointLocked(seq, ++fetch_epoch_);
  // The state changes only when an uploaded segment is applied, and that needs the upload slot.
  // Holding the slot while serializing lets the serialization (tens of MB for a fragmented map)
  // run without the lock and still be exactly the state through `seq`: requests keep flowing
  // and concurrent readers of the state only read; just the next upload waits.
  uploading_ = true;
  auto self = shared_from_this();
  const uint64_t covered_bytes = durable_bytes_;
  svc_.pool->Submit([self, seq, covered_bytes] {
    Bytes plain = SerializeCheckpoint(self->state_);
    {
      std::lock_guard<std::mutex> lock(self->mu_);
      self->uploading_ = false;
      self->PumpLocked(false);
    }
    self->WriteCheckpoint(seq, std::move(plain), covered_bytes);
  });
}

void Volume::WriteCheckpoint(uint64_t seq, Bytes plain, uint64_t covered_bytes) {
  Status s = PutCheckpoint(seq, plain);
  std::vector<uint64_t> kept;
  const bool listed = s.ok() && DeleteOldCheckpoints(&kept);
  std::lock_guard<std::mutex> lock(mu_);
  checkpointing_ = false;
  if (s.ok()) checkpoint_due_bytes_ = covered_bytes + kCheckpointWriteRatio * plain.size();
  // With fewer checkpoints than kept, recovery may fall back to replaying from segment 1.
  if (listed && kept.size() >= kCheckpointsKept) ScheduleReclaimLocked(kept.back());
  if (!s.ok() && !fenced_) {
    spdlog::warn("volume {}: checkpoint {} failed: {} (will retry after the next segment)",
                 meta_.name, seq, s.ToString());
  }
  idle_cv_.notify_all();
  // Segments that became durable while this checkpoint was written did not start one; if they
  // made the next one due, take it now rather than at the next segment, which an idle volume
  // may never write.
  if (s.ok()) MaybeCheckpointLocked();
  BackgroundDoneLocked();
}

Status Volume::PutCheckpoint(uint64_t seq, const Bytes& plain) {
  Bytes object;
  BP_RETURN_IF_ERROR(BuildCheckpointObject(plain, seq, meta_.uuid, *chain_, &object));
  const std::string key = CheckpointKey(meta_.name, seq);
  Status s = svc_.store->Put(key, object.data(), object.size(), fenced_puts_);
  if (s.IsPrecondition()) {
    Bytes existing;
    if (svc_.store->Get(key, &existing).ok() && existing == object) s = Status::Ok();
  }
  if (s.IsPrecondition()) {
    Completions done;
    std::lock_guard<std::mutex> lock(mu_);
    FenceLocked("checkpoint " + key + " already exists", &done);
    return s;
  }
  if (s.ok()) {
    std::lock_guard<std::mutex> lock(mu_);
    last_checkpoint_seq_ = std::max(last_checkpoint_seq_, seq);
  }
  return s;
}

bool Volume::DeleteOldCheckpoints(std::vector<uint64_t>* kept) {
  std::vector<ObjectInfo> objects;
  const std::string prefix = CheckpointPrefix(meta_.name);
  if (!svc_.store->List(prefix, &objects).ok()) return false;
  std::vector<uint64_t> seqs;
  for (const auto& o : objects) {
    uint64_t seq;
    if (ParseSeqKey(o.key, prefix, &seq)) seqs.push_back(seq);
  }
  std::sort(seqs.rbegin(), seqs.rend());
  bool all_deleted = true;
  for (size_t i = kCheckpointsKept; i < seqs.size(); ++i) {
    Status s = svc_.store->Delete(CheckpointKey(meta_.name, seqs[i]));
    if (!s.ok()) {
      all_deleted = false;
      spdlog::warn("volume {}: deleting old checkpoint {}: {}", meta_.name, seqs[i], s.ToString());
    }
  }
  if (kept) {
    // A checkpoint that failed to delete is still a recovery fallback: report it as kept.
    if (all_deleted && seqs.size() > kCheckpointsKept) seqs.resize(kCheckpointsKept);
    *kept = std::move(seqs);  // newest first
  }
  return true;
}

}  // namespace bp
