// The simulated world the engine runs in: a virtual clock, a seeded one-task-at-a-time
// executor, and the trace every run records.
//
// Nothing here uses a thread. The driver (simulation.cpp) is the only thread: it submits
// requests, picks the next queued task and runs it, moves virtual time, and calls Tick. So a
// run is a pure function of its seed, and a failure replays exactly.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

#include "engine/executor.h"
#include "sim_random.h"
#include "util/clock.h"

namespace bp::sim {

// Virtual time. It moves only when the driver advances it, when a store call takes simulated
// latency, or when someone waits. A wait from inside an executor task or the driver's own
// calls simply jumps to the deadline: in a single-threaded run no one else can signal it.
//
// The exception is a control operation (snapshot create, restore, clone, delete), which runs
// on the driver's thread and waits, as it would on the daemon's control thread, for work the
// executor does meanwhile (the flush a snapshot implies, a clean close). While the driver has
// set a waiter, WaitUntil releases the caller's mutex, lets the waiter make one step of
// progress (run a task, tick, or move time toward `until`) and takes the mutex again: a
// spurious wake-up, after which the caller re-checks its condition as every caller must. Waits
// inside the tasks the waiter runs jump as usual, so waiting never nests.
class SimClock final : public Clock {
 public:
  using Waiter = std::function<void(TimePoint until)>;
  TimePoint Now() const override { return TimePoint(now_); }
  uint64_t UnixMs() const override {
    return kUnixBaseMs + static_cast<uint64_t>(
                             std::chrono::duration_cast<std::chrono::milliseconds>(now_).count());
  }
  void WaitUntil(CondVar*, Mutex* mu, TimePoint until) override BP_REQUIRES(mu) {
    if (!waiter_ || waiting_) return AdvanceTo(until);
    waiting_ = true;
    mu->Unlock();
    waiter_(until);
    mu->Lock();
    waiting_ = false;
  }
  // Set (or clear, with nullptr) the waiter for the control operation about to run.
  void SetWaiter(Waiter waiter) { waiter_ = std::move(waiter); }

  void Advance(Duration d) { now_ += d; }
  void AdvanceTo(TimePoint t) {
    if (t.time_since_epoch() > now_) now_ = t.time_since_epoch();
  }
  // Virtual milliseconds since the run began, for the trace.
  double Ms() const { return std::chrono::duration<double, std::milli>(now_ - kStart).count(); }

 private:
  static constexpr uint64_t kUnixBaseMs = 1767225600000ull;  // 2026-01-01, any fixed value
  static constexpr Duration kStart = std::chrono::hours(1);
  Duration now_ = kStart;
  Waiter waiter_;
  bool waiting_ = false;
};

// Every run appends one line per event; the 64-bit FNV-1a hash of all lines is the run's
// fingerprint (the same seed must give the same hash), and the text is kept when asked for.
class Trace {
 public:
  void Keep(bool keep) { keep_ = keep; }
  void Line(const char* fmt, ...) __attribute__((format(printf, 2, 3)));
  uint64_t hash() const { return hash_; }
  uint64_t lines() const { return lines_; }
  const std::string& text() const { return text_; }

 private:
  uint64_t hash_ = 0xcbf29ce484222325ull;
  uint64_t lines_ = 0;
  bool keep_ = false;
  std::string text_;
};

// The engine's executor: tasks wait in a queue and the driver runs them one at a time. With
// reordering on, the next task is drawn at random among those that are ready; with delays on,
// a task becomes ready only some virtual time after it was queued (a slow thread, a slow
// completion). After a crash the queue is abandoned and later submissions are dropped, exactly
// as a killed process never runs the work it had queued.
class SimExecutor final : public Executor {
 public:
  SimExecutor(SimClock* clock, Rng rng, bool reorder, bool delay, Trace* trace)
      : clock_(clock), rng_(rng), reorder_(reorder), delay_(delay), trace_(trace) {}
  ~SimExecutor() override;

  void Submit(std::function<void()> task) override;

  // Run one ready task; false when none is ready.
  bool RunOne();
  bool Empty() const { return tasks_.empty(); }
  size_t Size() const { return tasks_.size(); }
  // When the earliest queued task becomes ready (only meaningful when !Empty()).
  Clock::TimePoint NextReady() const;
  // A crash: drop every queued task and ignore any later submission until Revive.
  void Abandon();
  void Revive() { abandoned_ = false; }
  uint64_t ran() const { return ran_; }
  // A task is running now (store calls come from the executor, not the driver).
  bool running() const { return running_; }

 private:
  struct Task {
    uint64_t id;
    Clock::TimePoint ready;
    std::function<void()> fn;
  };
  SimClock* clock_;
  Rng rng_;
  const bool reorder_;
  const bool delay_;
  Trace* trace_;
  bool abandoned_ = false;
  bool running_ = false;
  uint64_t next_id_ = 1;
  uint64_t ran_ = 0;
  std::vector<Task> tasks_;
  // Tasks submitted after a crash (by the task that was running when it struck): never run,
  // destroyed when the world is torn down rather than inside Submit.
  std::vector<std::function<void()>> dropped_;
};

}  // namespace bp::sim
