// Volume commit path: sealing the active buffer into a segment, encoding it on the executor,
// uploading up to `uploads_in_flight` segments at once (the SegmentCommitter decides what is
// next), applying uploaded segments to the map strictly in seq order, fencing when another
// writer owns a seq, and keeping scattered units in the cache.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <thread>

#include <spdlog/spdlog.h>

#include "engine/object_format.h"
#include "engine/volume.h"
#include "util/metrics.h"

namespace bp {
namespace {
// Map updates applied per lock hold when a segment becomes durable.
constexpr size_t kApplySlice = 256;

InFlightGauge& UploadsInFlight() {
  static InFlightGauge g("segment_uploads_in_flight",
                         "Segment uploads to the object store running");
  return g;
}
}  // namespace

void Volume::SealIfFull() {
  if (write_.active_bytes() >= svc_.options.segment_size) Seal();
}

void Volume::Seal() {
  if (write_.active_empty()) return;
  const uint32_t deltas = write_.active_deltas();
  const uint64_t delta_stamp = write_.active_journaled_stamp();
  std::unique_ptr<WriteBuffer> sealed = write_.TakeActive(committer_.FreshBuffer());
  std::shared_ptr<PendingSegment> seg = committer_.Seal(std::move(sealed));
  seg->deltas = deltas;
  seg->delta_stamp = delta_stamp;
  auto self = shared_from_this();
  RunInBackground([self, seg] { self->EncodeSegment(seg); });
}

void Volume::EncodeSegment(std::shared_ptr<PendingSegment> seg) {
  // The sealed buffer is immutable now and the image is this task's alone until the committer
  // hears of it (stage kEncoding): encode without the lock.
  Status s = EncodeSegmentImage(*seg->buffer, seg->seq, meta_.uuid, *chain_, meta_.unit_size,
                                &seg->image, svc_.store->TakesParts(), run_id_, run_first_seq_);
  Completions done;
  MutexLock lock(&mu_);
  committer_.Encoded(seg.get(), s, svc_.clock->Now());
  if (!s.ok()) {
    spdlog::error("volume {}: encoding segment {} failed: {}", meta_.name, seg->seq, s.ToString());
    write_.FailWaiters(EIO, &done);
  }
  Pump(/*retry_now=*/false);
  if (s.ok()) MaybeJournal();
  BackgroundDone();
}

bool Volume::SealForWaitersNow() const {
  // Store mode: only when nothing is pending, so every flush arriving while segments upload
  // shares the next one. Local journal: when no journal commit runs, for the same reason, and
  // only when a delta of the buffer would be too large (MaybeJournal journals small ones and
  // the buffer keeps filling).
  if (JournalTakesFlushes()) return !journal_busy_ && !ActiveDeltaFits();
  return !committer_.has_pending();
}

bool Volume::JournalTakesFlushes() const {
  // On a store that defers durability (a local one) a flush is as cheap to satisfy by
  // uploading and syncing its segments as by journaling them, and journaling would write every
  // flushed byte twice; the journal is the fallback while uploads fail (the store's directory
  // full, read-only or gone), as it is for a remote store that is down.
  if (svc_.journal == nullptr) return false;
  return !defer_sync_ || committer_.has_upload_failure();
}

void Volume::Pump(bool retry_now) {
  if (access_ != Access::kWritable || phase_ == Phase::kClosed) return;
  auto self = shared_from_this();
  for (;;) {
    std::shared_ptr<PendingSegment> seg;
    switch (committer_.Next(svc_.clock->Now(), retry_now, &seg)) {
      case SegmentCommitter::Step::kNone: return;
      case SegmentCommitter::Step::kEncode:
        RunInBackground([self, seg] { self->EncodeSegment(seg); });
        break;
      case SegmentCommitter::Step::kUpload:
        RunInBackground([self, seg] { self->UploadSegment(seg); });
        break;
    }
  }
}

void Volume::UploadSegment(std::shared_ptr<PendingSegment> seg) {
  // A put whose reply was lost and that the store then refuses as already present is resolved
  // by the store layer (RetryingStore): here Precondition always means another writer.
  const std::string key = SegmentKey(meta_.name, seg->seq);
  Status s;
  {
    InFlightGauge::Scope uploading(&UploadsInFlight());
    // On a store with deferred durability the segment is synced when something needs it to be
    // (volume_sync.cpp), not by every upload.
    s = defer_sync_ ? svc_.store->PutPartsDeferSync(key, seg->image.Parts(), fenced_puts_)
                    : svc_.store->PutParts(key, seg->image.Parts(), fenced_puts_);
  }
  if (!s.ok() && !s.IsPrecondition() && (svc_.options.sabotage & Sabotage::kAckUploadFailure)) {
    s = Status::Ok();  // broken on purpose (engine_options.h)
  }
  if (s.ok() && (cache_written_units_ || !seg->buffer->warm().empty())) CacheUploadedUnits(*seg);
  if (s.ok() && svc_.disk_cache != nullptr) DiskCacheUploaded(*seg);
  Completions done;
  MutexLock lock(&mu_);
  if (s.ok()) {
    if (committer_.Uploaded(seg.get())) ApplyDurableHeads(&done);
    // The upload's place is free for the next one, whether or not anything became durable (an
    // older segment may still be waiting to start its own upload).
    Pump(/*retry_now=*/false);
  } else if (s.IsPrecondition()) {
    committer_.UploadFenced(seg.get());
    Fence("segment " + key + " already exists", &done);
  } else {
    const uint32_t backoff_ms = committer_.UploadFailed(seg.get(), svc_.clock->Now());
    spdlog::error(
        "volume {}: uploading segment {} failed: {} (data kept in memory; retrying "
        "in {} ms or at the next flush)",
        meta_.name, seg->seq, s.ToString(), backoff_ms);
    FailUncoveredWaiters(&done);
    Pump(/*retry_now=*/false);  // other segments may start their uploads meanwhile
  }
  BackgroundDone();
}

void Volume::FailUncoveredWaiters(Completions* done) {
  if (JournalTakesFlushes()) {
    // The journal may still take what the flushes wait for; they fail only if it cannot. A
    // segment they need that is still encoding goes to the journal when its encode finishes.
    MaybeJournal();
    if (journal_busy_ || committer_.JournalWaitsForEncode(write_.max_waiter_target())) return;
  }
  write_.FailWaiters(EIO, done);
}

void Volume::ApplyDurableHeads(Completions* done) {
  bool any = false;
  while (std::shared_ptr<PendingSegment> seg = committer_.HeadToApply()) {
    // A segment of scattered 4 KiB writes is thousands of map updates. Apply them in slices
    // and let requests in between: until the committer releases the segment, its buffer
    // answers for every block it touches, so a half-applied map is never visible. The
    // committer's applying role stays taken meanwhile, so nothing else changes the map.
    VolumeState::ApplyCursor cursor;
    while (!state_.ApplySegmentSlice(seg->image.meta, seg->image.size(), &cursor, kApplySlice)) {
      mu_.Unlock();
      std::this_thread::yield();
      mu_.Lock();
    }
    SegmentDurable(seg, done);
    any = true;
  }
  if (!any) return;
  MaybeCheckpoint();
  ResumeDeferred();
  if (write_.active_has_waiters() && SealForWaitersNow()) Seal();
  Pump(/*retry_now=*/false);
  MaybeSync(/*force=*/false);
}

void Volume::SegmentDurable(const std::shared_ptr<PendingSegment>& seg, Completions* done) {
  const uint64_t object_size = seg->image.size();
  const bool retried = committer_.had_failures();
  const uint64_t durable = committer_.Durable(seg.get(), svc_.clock->Now());
  checkpointer_.SegmentDurable(object_size);
  usage_.SegmentStored(seg->seq, object_size);
  if (retried) spdlog::info("volume {}: segment {} uploaded after retrying", meta_.name, durable);
  // With deferred durability the journal keeps the segment until it is synced.
  if (!defer_sync_) SegmentLeftJournal(seg->seq, seg->in_journal());
  CompleteAckedWaiters(done);
}

void Volume::CacheUploadedUnits(const PendingSegment& seg) {
  // Which units of a stored segment enter the cache (the sealed buffer still holds their plain
  // data; it is immutable and stays alive until this task returns):
  // - Scattered units (smaller than a full unit, from scattered writes), on a store that does
  //   not read locally: reading one of their blocks back would cost a round trip, a checksum
  //   and a decode for a few KiB. Where the store reads local files a miss is a read from the
  //   page cache, which holds the segment just written, and the copy would cost random writes
  //   about a tenth of their rate (docs/benchmarks.md). Full units, from sequential writes, are
  //   left to read-ahead: copying every written byte would tax streaming writes.
  // - Units holding a block garbage collection moved out of a cached unit (WriteBuffer::
  //   MarkWarm), on any store; its neighbours in the unit were written next to it. The
  //   segment's records map its blocks back to the volume's.
  const SegmentMeta& meta = seg.image.meta;
  std::vector<uint64_t> warm = seg.buffer->warm();
  std::sort(warm.begin(), warm.end());
  std::vector<uint8_t> block_warm;  // by segment block; empty when nothing was marked
  if (!warm.empty()) {
    block_warm.assign(meta.total_blocks(), 0);
    for (const DeltaRecord& r : meta.records) {
      if (r.kind != ExtentKind::kData) continue;
      for (auto it = std::lower_bound(warm.begin(), warm.end(), r.lba);
           it != warm.end() && *it < r.lba + r.blocks; ++it) {
        block_warm[r.index + (*it - r.lba)] = 1;
      }
    }
  }
  std::vector<uint32_t> chosen;
  for (uint32_t u = 0; u < meta.units.size(); ++u) {
    const UnitLoc& loc = meta.units[u];
    const uint64_t blocks = loc.logical_length / kBlockSize;
    const bool scattered = cache_written_units_ && loc.logical_length < meta_.unit_size;
    const bool moved_warm =
        !block_warm.empty() &&
        std::any_of(block_warm.begin() + loc.first_block,
                    block_warm.begin() + loc.first_block + blocks, [](uint8_t w) { return w; });
    if (scattered || moved_warm) chosen.push_back(u);
  }
  CacheUnits(seg, chosen);
}

void Volume::CacheUnits(const PendingSegment& seg, const std::vector<uint32_t>& unit_of) {
  if (unit_of.empty()) return;
  const SegmentImage& image = seg.image;
  std::vector<size_t> sizes;
  sizes.reserve(unit_of.size());
  for (uint32_t u : unit_of) sizes.push_back(image.meta.units[u].logical_length);
  std::vector<std::shared_ptr<Bytes>> buffers;
  svc_.cache->TakeBuffers(sizes, &buffers);
  std::vector<std::pair<UnitKey, UnitData>> units;
  units.reserve(sizes.size());
  UnitKey key;
  key.volume = meta_.uuid;
  key.seq = seg.seq;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const UnitLoc& loc = image.meta.units[unit_of[i]];
    uint8_t* out = buffers[i]->data();
    for (uint32_t k = 0; k < loc.logical_length / kBlockSize; ++k) {
      std::memcpy(out + size_t{k} * kBlockSize, image.block_data[loc.first_block + k], kBlockSize);
    }
    key.index = unit_of[i];
    units.emplace_back(key, std::move(buffers[i]));
  }
  svc_.cache->InsertMany(&units);
}

void Volume::Fence(const std::string& why, Completions* done) {
  if (access_ != Access::kFenced) {
    spdlog::error(
        "volume {}: {}: another writer owns this volume; it is now read-only here "
        "(buffered writes that were not flushed are lost)",
        meta_.name, why);
  }
  access_ = Access::kFenced;
  write_.FailWaiters(EIO, done);
  for (const WritePath::Deferred& d : write_.TakeDeferred()) done->Add(d.io, EROFS);
}

}  // namespace bp
