// Clock: where the engine reads time and waits for it. Production code uses RealClock (the
// steady clock for intervals and deadlines, the system clock for the wall-clock stamps people
// read); the deterministic simulator (tests/sim) substitutes a virtual clock that moves only
// when the simulation says so, so timing-dependent engine behaviour — age-based sealing, upload
// retry backoff, backend retry deadlines, waits at close — replays exactly from a seed, and
// tests advance time instead of sleeping.
//
// Every timed wait in the engine goes through WaitUntil, so a virtual clock can decide what a
// wait means: in a single-threaded simulation nobody else can signal during it, so it simply
// moves time to the deadline. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

#include <blockpipe/bp_thread_safety.h>

namespace bp {

class Clock {
 public:
  using Duration = std::chrono::steady_clock::duration;
  using TimePoint = std::chrono::steady_clock::time_point;

  virtual ~Clock() = default;

  // Monotonic time, for intervals and deadlines.
  virtual TimePoint Now() const = 0;
  // Wall-clock milliseconds since the Unix epoch, for stamps people read (owner records,
  // quarantine keys). Never used to measure an interval.
  virtual uint64_t UnixMs() const = 0;
  // Wait on cv, releasing mu (which the caller holds) meanwhile, until cv is signalled or
  // `until` passes; the caller re-checks its condition either way. A virtual clock may move
  // time to `until`.
  virtual void WaitUntil(CondVar* cv, Mutex* mu, TimePoint until) BP_REQUIRES(mu) = 0;

  // The process-wide real clock.
  static Clock* Real();
};

}  // namespace bp
