// Volume and a store with deferred durability (BP_BACKEND_CAP_DEFER_SYNC: the file backend). A
// segment is uploaded without being made durable against a crash of the machine, because an
// fsync per 16 MiB segment is a write-back at the disk's speed that a stream of writes nobody
// flushed has no need to wait for (the durability contract, docs/engine.md, asks for durability
// when a FLUSH or FUA is acknowledged, not before). Once uploaded a segment is applied as usual
// (a restarted process reads it back), and it is synced:
//
//   - when a FLUSH or FUA waits for it: one sync task for every unsynced segment at that time
//     (group commit, like the uploads), and the flushes complete at the new frontier;
//   - before a checkpoint refers to it: the checkpoint task syncs what is unsynced through its
//     seq before it stores the checkpoint, so checkpoints (and the deletions they allow) never
//     depend on what a power loss can take away;
//   - when it has waited flush_interval_ms (the tick), so what no client flushed is as exposed to
//     a power loss as it is to a crash of the process: for at most that long after its upload;
//   - before a snapshot record or a clean close refers to it, and before the local journal
//     forgets it;
//   - at open, for the segments after the newest checkpoint: a crashed process may have left
//     them unsynced, and nothing new is acknowledged on top of them before they are durable.
//
// A sync that fails fails the flushes that waited for it, and is retried by the next flush or,
// after a backoff, by the tick. Recovery checks every unit of the segments it replays on such a
// store (a power loss may leave an unsynced segment torn) and stops before a damaged one, as for
// any damaged segment.
#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

#include "engine/object_format.h"
#include "engine/volume.h"

namespace bp {
namespace {
constexpr uint32_t kFirstSyncRetryMs = 500;
constexpr uint32_t kMaxSyncRetryMs = 30000;
}  // namespace

void Volume::MaybeSync(bool force) {
  if (!defer_sync_ || syncing_ || !committer_.has_unsynced() || access_ != Access::kWritable ||
      phase_ == Phase::kClosed) {
    return;
  }
  if (!force) {
    // Only a flush that waits for an unsynced segment (not one the journal holds) needs it now.
    const uint64_t blocker = committer_.FirstUnsyncedBlocker();
    if (blocker == 0 || blocker > write_.max_waiter_target()) return;
  }
  std::vector<uint64_t> seqs = committer_.UnsyncedThrough(committer_.durable_seq());
  syncing_ = true;
  auto self = shared_from_this();
  RunInBackground(
      [self, seqs = std::move(seqs)]() mutable { self->SyncSegments(std::move(seqs)); });
}

Status Volume::SyncNow(const std::vector<uint64_t>& seqs) const {
  if (seqs.empty()) return Status::Ok();
  std::vector<std::string> keys;
  keys.reserve(seqs.size());
  for (uint64_t seq : seqs) keys.push_back(SegmentKey(meta_.name, seq));
  return svc_.store->Sync(keys);
}

void Volume::SyncSegments(std::vector<uint64_t> seqs) {
  const Status s = SyncNow(seqs);
  Completions done;
  MutexLock lock(&mu_);
  syncing_ = false;
  if (s.ok()) {
    sync_backoff_ms_ = 0;
    SegmentsSynced(seqs.back(), &done);
  } else {
    sync_backoff_ms_ =
        sync_backoff_ms_ == 0 ? kFirstSyncRetryMs : std::min(kMaxSyncRetryMs, sync_backoff_ms_ * 2);
    sync_retry_at_ = svc_.clock->Now() + std::chrono::milliseconds(sync_backoff_ms_);
    spdlog::error(
        "volume {}: making segments {}-{} durable failed: {} (the flushes waiting for them fail; "
        "retrying at the next flush or in {} ms)",
        meta_.name, seqs.front(), seqs.back(), s.ToString(), sync_backoff_ms_);
    const uint64_t blocker = committer_.FirstUnsyncedBlocker();
    if (blocker != 0 && blocker <= write_.max_waiter_target()) {
      write_.FailWaiters(EIO, &done);
    }
  }
  // Segments that became durable meanwhile may be waited for already.
  MaybeSync(/*force=*/false);
  BackgroundDone();
}

void Volume::SegmentsSynced(uint64_t through, Completions* done) {
  if (through <= committer_.synced_seq()) return;
  const bool journaled = committer_.Synced(through);
  // The journal may forget what the store now keeps through a power loss.
  SegmentLeftJournal(through, journaled);
  CompleteAckedWaiters(done);
  idle_cv_.SignalAll();  // a snapshot or a clean close may wait for the synced frontier
}

Status Volume::SyncRecovered(uint64_t after, uint64_t through) const {
  if (!defer_sync_ || through <= after) return Status::Ok();
  std::vector<uint64_t> seqs;
  seqs.reserve(through - after);
  for (uint64_t seq = after + 1; seq <= through; ++seq) seqs.push_back(seq);
  return SyncNow(seqs).WithContext("making the segments after checkpoint " + std::to_string(after) +
                                   " durable");
}

}  // namespace bp
