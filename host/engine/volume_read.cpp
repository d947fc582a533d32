// Volume read path: READ served from the write buffers, the unit cache or the store (fetches in
// parallel on the executor), sequential read-ahead, and CACHE prefetch. Planning is ReadPath's
// (read_path.h); this file runs the plan.
#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include "engine/volume.h"

namespace bp {

void Volume::SubmitRead(bp_io* io) {
  std::vector<UnitFetch> plan;
  std::vector<CachedSpan> hits;
  std::vector<UnitRef> ahead;
  bool ok = false;
  int error = ESHUTDOWN;
  uint64_t epoch = 0;
  {
    MutexLock lock(&mu_);
    if (phase_ != Phase::kClosed) {
      error = EIO;
      const ReadSources from{&write_.active(), &committer_, &state_};
      ok = read_.Plan(from, io->offset, io->length, static_cast<uint8_t*>(io->buf), &plan, &hits);
      read_.NoteRead(state_, io->offset, io->length, &ahead);
      epoch = pins_.epoch();
      if (ok && !plan.empty()) {
        background_++;
        pins_.BeginFetch();
      }
      if (!ahead.empty()) PrefetchInBackground(std::move(ahead), nullptr, /*speculative=*/true);
    }
  }
  if (!ok) return Complete(io, error);
  uint8_t* buf = static_cast<uint8_t*>(io->buf);
  for (const CachedSpan& hit : hits) {
    std::memcpy(buf + hit.span.dst, hit.unit->data() + hit.span.src, hit.span.len);
  }
  if (plan.empty()) return Complete(io, 0);
  RunFetches(io, std::move(plan), epoch);
}

// The fetches of one read are grouped into runs of adjacent units (one ranged GET each) that
// run in parallel on the executor; the last one to finish completes the io. The caller counted
// them as one background task and one fetch of `epoch`.
void Volume::RunFetches(bp_io* io, std::vector<UnitFetch> plan, uint64_t epoch) {
  struct Shared {
    std::vector<UnitFetch> plan;
    std::vector<std::pair<size_t, size_t>> runs;
    std::atomic<size_t> remaining;
    std::atomic<int> error{0};
  };
  auto shared = std::make_shared<Shared>();
  shared->plan = std::move(plan);
  shared->runs = loader_.GroupRuns(
      shared->plan.size(), [&](size_t i) -> const UnitRef& { return shared->plan[i].unit; });
  shared->remaining = shared->runs.size();
  auto self = shared_from_this();
  for (size_t r = 0; r < shared->runs.size(); ++r) {
    svc_.pool->Submit([self, shared, io, r, epoch] {
      const auto [begin, end] = shared->runs[r];
      std::vector<UnitRef> units;
      units.reserve(end - begin);
      for (size_t i = begin; i < end; ++i) units.push_back(shared->plan[i].unit);
      std::vector<UnitData> data;
      if (!self->loader_.LoadRun(units, &data).ok()) shared->error = EIO;
      uint8_t* buf = static_cast<uint8_t*>(io->buf);
      for (size_t i = begin; i < end; ++i) {
        const UnitData& unit = data[i - begin];
        if (!unit) continue;
        for (const ReadSpan& s : shared->plan[i].spans) {
          std::memcpy(buf + s.dst, unit->data() + s.src, s.len);
        }
      }
      if (shared->remaining.fetch_sub(1) == 1) {
        Complete(io, shared->error.load());
        MutexLock lock(&self->mu_);
        self->pins_.EndFetch(epoch);
        self->BackgroundDone();
      }
    });
  }
}

void Volume::PrefetchInBackground(std::vector<UnitRef> units, bp_io* io, bool speculative) {
  struct Shared {
    std::vector<UnitRef> units;
    std::atomic<size_t> remaining;
  };
  auto shared = std::make_shared<Shared>();
  shared->units = std::move(units);
  auto runs = loader_.GroupRuns(shared->units.size(),
                                [&](size_t i) -> const UnitRef& { return shared->units[i]; });
  shared->remaining = runs.size();
  const uint64_t epoch = pins_.BeginFetch();
  background_++;
  auto self = shared_from_this();
  for (const auto& [begin, end] : runs) {
    auto task = [self, shared, io, epoch, begin = begin, end = end] {
      std::vector<UnitRef> run(shared->units.begin() + static_cast<ptrdiff_t>(begin),
                               shared->units.begin() + static_cast<ptrdiff_t>(end));
      std::vector<UnitData> ignored;
      IgnoreError(self->loader_.LoadRun(run, &ignored),
                  "logged by LoadRun; a read that needs the unit reports it");
      if (shared->remaining.fetch_sub(1) == 1) {
        if (io) Complete(io, 0);
        MutexLock lock(&self->mu_);
        self->pins_.EndFetch(epoch);
        self->BackgroundDone();
      }
    };
    if (speculative) {
      svc_.pool->SubmitSpeculative(std::move(task));
    } else {
      svc_.pool->Submit(std::move(task));
    }
  }
}

void Volume::DiskCacheUploaded(const PendingSegment& seg) {
  // The object as it went to the store, in pieces (storage and units kept in the write
  // buffer); both stay valid until this upload task returns. A unit may span pieces.
  const ObjectParts parts = seg.image.Parts();
  const uint64_t object_size = seg.image.size();
  const std::vector<UnitLoc>& units = seg.image.meta.units;
  size_t part = 0;
  uint64_t part_start = 0;  // object offset of parts[part]
  Bytes joined;
  for (uint32_t u = 0; u < units.size(); ++u) {
    const UnitLoc& loc = units[u];
    while (part < parts.size() && part_start + parts[part].length <= loc.offset) {
      part_start += parts[part].length;
      ++part;
    }
    if (part == parts.size()) break;
    const uint8_t* data = nullptr;
    if (loc.offset + loc.stored_length <= part_start + parts[part].length) {
      data = parts[part].data + (loc.offset - part_start);
    } else {
      joined.resize(loc.stored_length);
      uint64_t copied = 0;
      size_t p = part;
      uint64_t p_start = part_start;
      while (copied < loc.stored_length && p < parts.size()) {
        const uint64_t from = loc.offset + copied - p_start;
        const uint64_t n = std::min(parts[p].length - from, loc.stored_length - copied);
        std::memcpy(joined.data() + copied, parts[p].data + from, n);
        copied += n;
        p_start += parts[p].length;
        ++p;
      }
      if (copied != loc.stored_length) break;
      data = joined.data();
    }
    DiskCacheKey key;
    key.volume = meta_.uuid;
    key.seq = seg.seq;
    key.unit = u;
    svc_.disk_cache->Insert(
        key, UnitIdentity{object_size, loc.offset, loc.stored_length, loc.logical_length, loc.crc},
        data, loc.stored_length);
  }
}

void Volume::ReleaseIdleMemory() {
  std::unique_ptr<WriteBuffer> old;
  std::shared_ptr<JournalBatch> journal_scratch;
  MutexLock lock(&mu_);
  committer_.DropSpares();
  journal_scratch = std::move(journal_spare_);
  if (write_.active_empty() && !write_.active_has_waiters()) {
    old = write_.TakeActive(std::make_unique<WriteBuffer>());
  }
  lock.Unlock();  // the old buffer's slabs and the delta scratch are freed without the lock
}

void Volume::SubmitCache(bp_io* io) {
  Completions done;
  MutexLock lock(&mu_);
  if (phase_ == Phase::kClosed) return done.Add(io, ESHUTDOWN);
  std::vector<UnitRef> units;
  read_.PlanCache(state_, io->offset, io->length, &units);
  if (units.empty()) return done.Add(io, 0);
  PrefetchInBackground(std::move(units), io, /*speculative=*/false);
}

}  // namespace bp
