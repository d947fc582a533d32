// Volume: construction, requests in (bounds checks and dispatch), the timer's tick, close and
// summaries. The parts and the lock rule are described in volume.h.
#include "engine/volume.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include <spdlog/spdlog.h>

#include <blockpipe/bp_backend.h>

#include "engine/checkpoint_format.h"

namespace bp {
namespace {
// A random nonzero writer-run id (docs/format.md, "Writer runs"). Only uniqueness matters: two
// runs of one volume with the same id could not tell each other's segments apart.
uint64_t NewRunId() {
  std::random_device rd;
  uint64_t id = 0;
  while (id == 0) id = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  return id;
}
}  // namespace

Volume::Volume(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
               OpenOptions options)
    : svc_(services),
      meta_(std::move(meta)),
      chain_(std::move(chain)),
      opened_writable_(options.writable && options.view == nullptr),
      fenced_puts_(options.fenced_puts),
      defer_sync_(opened_writable_ &&
                  (services.store->Capabilities() & BP_BACKEND_CAP_DEFER_SYNC) != 0),
      cache_written_units_((services.store->Capabilities() & BP_BACKEND_CAP_LOCAL_READS) == 0),
      size_(meta_.size),
      layers_(meta_.name, meta_.uuid, chain_.get(), std::move(options.bases)),
      view_(options.view != nullptr ? std::optional<SnapshotRecord>(*options.view) : std::nullopt),
      checkpoints_(svc_.store.get(), &meta_, chain_.get(), options.fenced_puts,
                   (svc_.options.sabotage & Sabotage::kPrunePinnedCheckpoints)
                       ? nullptr  // broken on purpose (engine_options.h)
                       : &snapshot_pins_),
      loader_(svc_.store.get(), svc_.cache, svc_.disk_cache, &layers_,
              svc_.options.read_coalesce_max,
              (services.store->Capabilities() & BP_BACKEND_CAP_LOCAL_READS) != 0),
      access_(opened_writable_ ? Access::kWritable : Access::kReadOnly),
      write_(chain_.get(), /*log_changes=*/services.journal != nullptr),
      committer_(svc_.options),
      checkpointer_(svc_.options.checkpoint_every_segments),
      gc_(svc_.options),
      read_(meta_.name, &layers_, meta_.size / kBlockSize, meta_.unit_size, svc_.cache,
            svc_.options.read_ahead_max),
      run_id_(services.run_id != 0 ? services.run_id : NewRunId()) {}

Volume::~Volume() = default;

Status Volume::Open(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
                    bool writable, bool fenced_puts, std::shared_ptr<Volume>* out) {
  OpenOptions options;
  options.writable = writable;
  options.fenced_puts = fenced_puts;
  return Open(services, std::move(meta), std::move(chain), std::move(options), out);
}

Status Volume::Open(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
                    OpenOptions options, std::shared_ptr<Volume>* out) {
  const bool view = options.view != nullptr;
  std::shared_ptr<Volume> v(
      new Volume(services, std::move(meta), std::move(chain), std::move(options)));
  if (view) {
    BP_RETURN_IF_ERROR(
        v->RecoverView().WithContext("opening snapshot " + v->name() + "@" + v->view_->name));
  } else {
    BP_RETURN_IF_ERROR(v->Recover().WithContext("opening volume " + v->name()));
  }
  *out = std::move(v);
  return Status::Ok();
}

void Volume::RunInBackground(std::function<void()> task) {
  background_++;
  svc_.pool->Submit(std::move(task));
}

void Volume::BackgroundDone() {
  if (--background_ == 0) idle_cv_.SignalAll();
}

void Volume::Info(bp_volume_info* info, bool ref_read_only) const {
  bp_volume_info full{};
  full.flags = BP_VOLUME_CAN_FLUSH | BP_VOLUME_CAN_FUA | BP_VOLUME_CAN_TRIM | BP_VOLUME_CAN_ZERO |
               BP_VOLUME_CAN_FAST_ZERO | BP_VOLUME_CAN_CACHE | BP_VOLUME_CAN_MULTI_CONN;
  if (ref_read_only || read_only()) full.flags |= BP_VOLUME_READ_ONLY;
  full.size = size_.load();
  full.min_block = 1;
  full.preferred_block = kBlockSize;
  full.max_request = kMaxRequestBytes;
  size_t n =
      info->struct_size == 0 ? sizeof(full) : std::min<size_t>(info->struct_size, sizeof(full));
  full.struct_size = static_cast<uint32_t>(n);
  std::memcpy(info, &full, n);
}

void Volume::Submit(bp_io* io, bool ref_read_only) {
  const uint64_t size = size_.load();
  const bool in_bounds = io->offset <= size && io->length <= size - io->offset;
  switch (io->op) {
    case BP_IO_OP_READ:
      if (!in_bounds || io->length > kMaxRequestBytes) return Complete(io, EINVAL);
      if (io->length == 0) return Complete(io, 0);
      client_reads_.fetch_add(1, std::memory_order_relaxed);
      return SubmitRead(io);
    case BP_IO_OP_WRITE:
    case BP_IO_OP_TRIM:
    case BP_IO_OP_WRITE_ZEROES: {
      // A fenced volume answers in SubmitModify; one opened read-only refuses here.
      if (ref_read_only || !opened_writable_) return Complete(io, EROFS);
      if (!in_bounds) return Complete(io, ENOSPC);
      if (io->op == BP_IO_OP_WRITE && io->length > kMaxRequestBytes) return Complete(io, EINVAL);
      if (io->length == 0) {
        if (io->flags & BP_IO_FLAG_FUA) return SubmitFlush(io);
        return Complete(io, 0);
      }
      return SubmitModify(io);
    }
    case BP_IO_OP_FLUSH: return SubmitFlush(io);
    case BP_IO_OP_CACHE:
      if (!in_bounds) return Complete(io, EINVAL);
      return SubmitCache(io);
    default: return Complete(io, EINVAL);
  }
}

void Volume::Tick(Clock::TimePoint now) {
  Completions done;
  MutexLock lock(&mu_);
  if (phase_ == Phase::kClosed) return;
  if (!write_.active_empty() &&
      now - write_.active_since() >= std::chrono::milliseconds(svc_.options.flush_interval_ms)) {
    Seal();
  }
  if (committer_.RetryDue(now)) Pump(/*retry_now=*/true);
  // Deferred durability keeps the promise of flush_interval_ms for a crash of the machine too:
  // what no flush synced is synced once it is that old.
  if (committer_.has_unsynced() && now >= sync_retry_at_ &&
      now - committer_.oldest_unsynced_since() >=
          std::chrono::milliseconds(svc_.options.flush_interval_ms)) {
    MaybeSync(/*force=*/true);
  }
  if (reclaimer_.waiting()) ScheduleReclaim(0);
  MaybeCollect(now);
  const auto max_wait = std::chrono::milliseconds(svc_.options.retry_deadline_ms);
  for (bp_io* io : write_.ExpireDeferred(now, max_wait)) {
    spdlog::error("volume {}: a write waited {} ms for buffer space; failing it", meta_.name,
                  svc_.options.retry_deadline_ms);
    done.Add(io, EIO);
  }
}

Status Volume::Close(bool clean) {
  Status result;
  {
    MutexLock lock(&mu_);
    if (phase_ == Phase::kClosed) return Status::Ok();
    phase_ = Phase::kDraining;
  }
  const bool writable = opened_writable_;
  if (clean && writable) {
    result = FlushSync();
    if (result.ok() && svc_.journal != nullptr) result = DrainJournal();
    Completions synced;  // flushes the final checkpoint's sync completes, after the lock
    MutexLock lock(&mu_);
    // A periodic checkpoint still being written finishes first. The wait goes through the
    // clock like every other (the simulator runs the checkpoint's task meanwhile) and is
    // bounded like the one for background work below: past it the final checkpoint is left
    // out, which costs the next open a longer replay, never data.
    const Clock::TimePoint checkpoint_limit =
        svc_.clock->Now() + std::chrono::milliseconds(svc_.options.retry_deadline_ms) +
        std::chrono::seconds(30);
    while (checkpointer_.writing() && svc_.clock->Now() < checkpoint_limit) {
      svc_.clock->WaitUntil(&idle_cv_, &mu_, checkpoint_limit);
    }
    if (checkpointer_.writing()) {
      spdlog::warn("volume {}: a checkpoint is still being written; closing without a final one",
                   meta_.name);
    } else if (result.ok() && access_ == Access::kWritable &&
               committer_.durable_seq() > checkpointer_.last_seq()) {
      // Nothing else runs now (no writes, no uploads), so the state is stable without the
      // upload slot; the checkpointer's state keeps a periodic one from starting meanwhile.
      const uint64_t covered = checkpointer_.Begin();
      Bytes plain = SerializeCheckpoint(state_);
      const uint64_t seq = state_.through_seq;
      const std::vector<uint64_t> unsynced = committer_.UnsyncedThrough(seq);
      lock.Unlock();
      // A checkpoint refers only to segments a crash of the machine cannot take away.
      Status s = SyncNow(unsynced);
      if (s.ok()) s = checkpoints_.Put(seq, plain);
      uint64_t kept_bytes = 0;
      // A failed prune is retried at the next checkpoint.
      const bool listed = s.ok() && checkpoints_.PruneOld(nullptr, &kept_bytes);
      lock.Lock();
      if (listed) usage_.CheckpointsKept(kept_bytes);
      if (s.ok() && !unsynced.empty()) SegmentsSynced(unsynced.back(), &synced);
      checkpointer_.Finished(s.ok(), seq, covered, plain.size());
      if (!s.ok()) {
        spdlog::warn("volume {}: final checkpoint failed: {} (the next open replays segments)",
                     meta_.name, s.ToString());
      }
    }
  }
  Completions done;
  MutexLock lock(&mu_);
  phase_ = Phase::kClosed;
  for (const WritePath::Deferred& d : write_.TakeDeferred()) done.Add(d.io, ESHUTDOWN);
  write_.FailWaiters(ESHUTDOWN, &done);
  if ((committer_.has_pending() || !write_.active_empty()) && clean && writable) {
    spdlog::error("volume {}: closing with unflushed data ({} segment(s) not uploaded)", meta_.name,
                  committer_.pending_count() + (write_.active_empty() ? 0 : 1));
  }
  // Background tasks hold a reference to the volume, so waiting is only for orderly logs and
  // store calls; it is bounded in case the backend hangs.
  const Clock::TimePoint limit = svc_.clock->Now() +
                                 std::chrono::milliseconds(svc_.options.retry_deadline_ms) +
                                 std::chrono::seconds(30);
  while (background_ != 0 && svc_.clock->Now() < limit)
    svc_.clock->WaitUntil(&idle_cv_, &mu_, limit);
  if (background_ != 0) {
    spdlog::warn("volume {}: background work still running at close", meta_.name);
  }
  return result;
}

Status Volume::DrainJournal() {
  // The flush above returned once the journal had everything; a clean close also waits for the
  // uploads, so the journal is empty and the ownership record can be released.
  // It gives up once no segment became durable for the retry deadline (the store is down): the
  // journal keeps what is left for the next start.
  const auto patience =
      std::chrono::milliseconds(std::max<uint32_t>(svc_.options.retry_deadline_ms, 100));
  Clock::TimePoint limit = svc_.clock->Now() + patience;
  MutexLock lock(&mu_);
  uint64_t seen = committer_.durable_seq();
  while (access_ == Access::kWritable && (committer_.has_pending() || journal_busy_ ||
                                          journal_dropping_ || committer_.has_unsynced())) {
    if (committer_.durable_seq() != seen) {
      seen = committer_.durable_seq();
      limit = svc_.clock->Now() + patience;
    }
    if (svc_.clock->Now() >= limit) {
      return Status::Transient("volume " + meta_.name + ": " +
                               std::to_string(committer_.pending_count()) +
                               " segment(s) are still uploading; the local journal keeps them "
                               "for the next start");
    }
    Pump(/*retry_now=*/committer_.RetryDue(svc_.clock->Now()));
    // The journal forgets a segment only once it is synced (deferred durability).
    if (!committer_.has_pending()) MaybeSync(/*force=*/true);
    svc_.clock->WaitUntil(&idle_cv_, &mu_,
                          std::min(limit, svc_.clock->Now() + std::chrono::milliseconds(50)));
  }
  if (access_ != Access::kWritable) {
    return Status::Permanent("volume " + meta_.name + ": fenced while draining its journal");
  }
  const uint64_t durable = committer_.durable_seq();
  lock.Unlock();
  return svc_.journal->DropThrough(meta_.uuid, durable);
}

bool Volume::read_only() const {
  MutexLock lock(&mu_);
  return access_ != Access::kWritable;
}

VolumeSummary Volume::Summary() const {
  MutexLock lock(&mu_);
  VolumeSummary s;
  s.name = view_ ? meta_.name + "@" + view_->name : meta_.name;
  s.uuid = UuidToHex(meta_.uuid);
  s.size = size_.load();
  s.codecs = chain_->Describe();
  s.references = references.load();
  s.mapped_bytes = state_.map.data_blocks() * kBlockSize;
  s.live_bytes = s.mapped_bytes;
  s.stored_bytes = usage_.stored_bytes();
  s.garbage_bytes = usage_.GarbageBytes(state_);
  s.checkpoint_bytes = usage_.checkpoint_bytes();
  const GcCounters gc = gc_.counters();
  s.client_written_bytes = gc.client_bytes;
  s.gc_rewritten_bytes = gc.rewritten_bytes;
  s.gc_running = gc.running;
  s.gc_passes_requested = gc.passes_requested;
  s.gc_passes_done = gc.passes_done;
  s.last_segment = committer_.durable_seq();
  s.read_only = access_ != Access::kWritable;
  return s;
}

}  // namespace bp
