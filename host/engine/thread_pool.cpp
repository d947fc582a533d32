// ThreadPool implementation.
#include "engine/thread_pool.h"

#include <algorithm>

namespace bp {

ThreadPool::ThreadPool(uint32_t threads, uint32_t speculative_limit) {
  if (threads == 0) threads = 1;
  const size_t wanted = speculative_limit != 0 ? speculative_limit : threads / 2;
  speculative_limit_ = std::max<size_t>(1, std::min<size_t>(wanted, threads - 1));
  workers_.reserve(threads);
  for (uint32_t i = 0; i < threads; ++i) workers_.emplace_back([this] { Run(); });
}

ThreadPool::~ThreadPool() { Stop(); }

void ThreadPool::Submit(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      tasks_.push_back(std::move(task));
      cv_.Signal();
      return;
    }
  }
  task();
}

void ThreadPool::SubmitSpeculative(std::function<void()> task) {
  {
    MutexLock lock(&mu_);
    if (!stopping_) {
      speculative_.push_back(std::move(task));
      cv_.Signal();
      return;
    }
  }
  task();
}

void ThreadPool::Stop() {
  {
    MutexLock lock(&mu_);
    if (stopping_ && workers_.empty()) return;
    stopping_ = true;
  }
  cv_.SignalAll();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

bool ThreadPool::RunnableLocked() const {
  return !tasks_.empty() || (!speculative_.empty() && speculative_running_ < speculative_limit_);
}

void ThreadPool::Run() {
  MutexLock lock(&mu_);
  for (;;) {
    while (!stopping_ && !RunnableLocked()) cv_.Wait(&mu_);
    if (!RunnableLocked()) {
      if (speculative_.empty()) return;  // stopping and drained
      cv_.Wait(&mu_);                    // stopping: wait for a speculative slot
      continue;
    }
    const bool speculative = tasks_.empty();
    std::deque<std::function<void()>>& queue = speculative ? speculative_ : tasks_;
    auto task = std::move(queue.front());
    queue.pop_front();
    if (speculative) speculative_running_++;
    lock.Unlock();
    task();
    lock.Lock();
    if (speculative) {
      speculative_running_--;
      // A slot is free: wake one worker if a speculative task waits for it (waking them all
      // after every read-ahead run would cost a context switch per worker).
      if (!speculative_.empty()) cv_.Signal();
    }
  }
}

}  // namespace bp
