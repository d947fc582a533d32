// Executor: where the engine runs its background work — backend calls, codec work, uploads,
// checkpoints, reclaim. Production uses ThreadPool (a fixed set of worker threads shared by every
// volume); the deterministic simulator (tests/sim) queues the tasks and runs them one at a time
// in an order drawn from its seed, so every interleaving it explores replays exactly.
//
// Contract for the engine's tasks: a task never waits for another queued task (so a fixed-size
// pool cannot deadlock and a one-task-at-a-time scheduler can run them all), and it may submit
// more tasks. Submit is thread-safe and never blocks on the tasks themselves.
#pragma once

#include <functional>

namespace bp {

class Executor {
 public:
  virtual ~Executor() = default;
  // Queue a task. It runs exactly once, unless the executor is abandoned (a simulated crash).
  virtual void Submit(std::function<void()> task) = 0;
  // Queue speculative work (read-ahead) that must never delay a task queued with Submit. The
  // default runs it like any task; ThreadPool runs it only after the queued tasks and on at
  // most part of its workers, so demand work always finds a worker soon.
  virtual void SubmitSpeculative(std::function<void()> task) { Submit(std::move(task)); }
};

}  // namespace bp
