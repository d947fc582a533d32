// Volume read path: READ served from the write buffers, the unit cache or the store (fetches in
// parallel on the executor), sequential read-ahead, and CACHE prefetch. Planning is ReadPath's
// (read_path.h); this file runs the plan.
#include <cerrno>
#include <cstring>

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
      if (!ahead.empty()) PrefetchInBackground(std::move(ahead), nullptr);
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

// Fetches of one read run in parallel on the executor; the last one to finish completes the
// io. The caller counted them as one background task and one fetch of `epoch`.
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
      if (self->loader_.Load(f.unit, &data).ok()) {
        uint8_t* buf = static_cast<uint8_t*>(io->buf);
        for (const ReadSpan& s : f.spans) std::memcpy(buf + s.dst, data->data() + s.src, s.len);
      } else {
        shared->error = EIO;
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

void Volume::PrefetchInBackground(std::vector<UnitRef> units, bp_io* io) {
  const uint64_t epoch = pins_.BeginFetch();
  auto self = shared_from_this();
  RunInBackground([self, units = std::move(units), io, epoch] {
    self->loader_.Prefetch(units);
    if (io) Complete(io, 0);
    MutexLock lock(&self->mu_);
    self->pins_.EndFetch(epoch);
    self->BackgroundDone();
  });
}

void Volume::SubmitCache(bp_io* io) {
  Completions done;
  MutexLock lock(&mu_);
  if (phase_ == Phase::kClosed) return done.Add(io, ESHUTDOWN);
  std::vector<UnitRef> units;
  read_.PlanCache(state_, io->offset, io->length, &units);
  if (units.empty()) return done.Add(io, 0);
  PrefetchInBackground(std::move(units), io);
}

}  // namespace bp
