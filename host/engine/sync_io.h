// SyncIo: a bp_io that the engine submits on a caller's behalf and that the caller waits for on
// its own thread (Volume::FlushSync, Volume::TrimFrom). The request completes on whatever thread
// finishes it; the waiter sleeps on a condition variable until then, or until a deadline the
// caller's clock defines.
#pragma once

#include <blockpipe/bp_frontend.h>
#include <blockpipe/bp_thread_safety.h>

#include "util/clock.h"

namespace bp {

struct SyncIo {
  explicit SyncIo(uint32_t op, uint64_t offset = 0, uint64_t length = 0) {
    io.op = op;
    io.offset = offset;
    io.length = length;
    io.user = this;
    io.done = [](bp_io* done_io, int error) {
      auto* self = static_cast<SyncIo*>(done_io->user);
      MutexLock lock(&self->mu);
      self->finished = true;
      self->error = error;
      self->cv.SignalAll();
    };
  }
  SyncIo(const SyncIo&) = delete;
  SyncIo& operator=(const SyncIo&) = delete;

  // Wait for completion; returns its error (0: success).
  int Wait() BP_EXCLUDES(mu) {
    MutexLock lock(&mu);
    while (!finished) cv.Wait(&mu);
    return error;
  }
  // Wait until completion or `limit` on `clock`; true when it completed (*error_out set).
  bool WaitUntil(Clock* clock, Clock::TimePoint limit, int* error_out) BP_EXCLUDES(mu) {
    MutexLock lock(&mu);
    while (!finished && clock->Now() < limit) clock->WaitUntil(&cv, &mu, limit);
    if (finished) *error_out = error;
    return finished;
  }

  bp_io io{};
  Mutex mu;
  CondVar cv;
  bool finished BP_GUARDED_BY(mu) = false;
  int error BP_GUARDED_BY(mu) = 0;
};

}  // namespace bp
