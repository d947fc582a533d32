// ThreadPool: the engine's fixed set of worker threads for backend calls and codec work,
// shared by every volume. Tasks never wait on other queued tasks (the engine's callers arrange
// that), so a fixed size cannot deadlock. Thread-safe.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/executor.h"

namespace bp {

class ThreadPool final : public Executor {
 public:
  explicit ThreadPool(uint32_t threads);
  ~ThreadPool();  // runs the queued tasks, then joins

  // Queue a task. After Stop, tasks run inline on the caller so nothing is silently dropped.
  void Submit(std::function<void()> task) override;
  // Finish queued tasks and join the workers. Idempotent.
  void Stop();
  size_t size() const { return workers_.size(); }

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace bp
