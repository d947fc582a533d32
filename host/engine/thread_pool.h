// ThreadPool: the engine's fixed set of worker threads for backend calls and codec work,
// shared by every volume. Tasks never wait on other queued tasks (the engine's callers arrange
// that), so a fixed size cannot deadlock. Speculative tasks (read-ahead) wait in a queue of
// their own: a worker takes one only when no ordinary task is queued, and at most
// `speculative_limit` workers (by default half, at least one, and never all of them unless there
// is only one) run speculative tasks at a time, so a client's read never queues behind
// read-ahead for long. Thread-safe.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include <blockpipe/bp_thread_safety.h>

#include "engine/executor.h"

namespace bp {

class ThreadPool final : public Executor {
 public:
  // speculative_limit: most workers running speculative tasks at once; 0 means half of them.
  // Capped at threads - 1 (at least 1), so one worker is always left for ordinary tasks.
  explicit ThreadPool(uint32_t threads, uint32_t speculative_limit = 0);
  ~ThreadPool();  // runs the queued tasks, then joins

  // Queue a task. After Stop, tasks run inline on the caller so nothing is silently dropped.
  void Submit(std::function<void()> task) override BP_EXCLUDES(mu_);
  void SubmitSpeculative(std::function<void()> task) override BP_EXCLUDES(mu_);
  // Finish queued tasks and join the workers. Idempotent.
  void Stop() BP_EXCLUDES(mu_);
  size_t size() const { return workers_.size(); }
  size_t speculative_limit() const { return speculative_limit_; }

 private:
  void Run() BP_EXCLUDES(mu_);
  // An ordinary task is queued, or a speculative one and a slot for it.
  bool RunnableLocked() const BP_REQUIRES(mu_);

  mutable Mutex mu_;
  CondVar cv_;  // a task was queued, or Stop began
  std::deque<std::function<void()>> tasks_ BP_GUARDED_BY(mu_);
  std::deque<std::function<void()>> speculative_ BP_GUARDED_BY(mu_);
  size_t speculative_running_ BP_GUARDED_BY(mu_) = 0;
  size_t speculative_limit_ = 1;  // set in the constructor
  bool stopping_ BP_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;  // set in the constructor, joined by Stop
};

}  // namespace bp
