// Virtual clock, trace and seeded executor of the simulator (see sim_world.h).
#include "sim_world.h"

#include <cstdarg>

namespace bp::sim {

void Trace::Line(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  int n = std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  if (n < 0) n = 0;
  if (n >= static_cast<int>(sizeof buf)) n = sizeof buf - 1;
  for (int i = 0; i < n; ++i) {
    hash_ ^= static_cast<uint8_t>(buf[i]);
    hash_ *= 0x100000001b3ull;
  }
  hash_ ^= '\n';
  hash_ *= 0x100000001b3ull;
  ++lines_;
  if (keep_) {
    text_.append(buf, static_cast<size_t>(n));
    text_.push_back('\n');
  }
}

SimExecutor::~SimExecutor() = default;

void SimExecutor::Submit(std::function<void()> task) {
  if (abandoned_) {
    dropped_.push_back(std::move(task));
    return;
  }
  Clock::TimePoint ready = clock_->Now();
  if (delay_ && rng_.Chance(0.3)) {
    // Mostly short stalls, now and then a long one (a descheduled thread, a slow reply).
    const uint64_t us = rng_.Chance(0.1) ? rng_.Range(50'000, 2'000'000) : rng_.Range(10, 20'000);
    ready += std::chrono::microseconds(us);
  }
  tasks_.push_back(Task{next_id_++, ready, std::move(task)});
}

Clock::TimePoint SimExecutor::NextReady() const {
  Clock::TimePoint best = Clock::TimePoint::max();
  for (const Task& t : tasks_) best = std::min(best, t.ready);
  return best;
}

bool SimExecutor::RunOne() {
  const Clock::TimePoint now = clock_->Now();
  // Candidates: ready tasks. Without reordering the oldest ready one runs (FIFO).
  size_t pick = tasks_.size();
  size_t ready_count = 0;
  for (size_t i = 0; i < tasks_.size(); ++i) {
    if (tasks_[i].ready > now) continue;
    ++ready_count;
    if (pick == tasks_.size()) pick = i;
  }
  if (ready_count == 0) return false;
  if (reorder_ && ready_count > 1) {
    uint64_t k = rng_.Below(ready_count);
    for (size_t i = 0; i < tasks_.size(); ++i) {
      if (tasks_[i].ready > now) continue;
      if (k-- == 0) {
        pick = i;
        break;
      }
    }
  }
  Task task = std::move(tasks_[pick]);
  tasks_.erase(tasks_.begin() + static_cast<ptrdiff_t>(pick));
  ++ran_;
  trace_->Line("%.3f run task %llu", clock_->Ms(), static_cast<unsigned long long>(task.id));
  running_ = true;
  task.fn();
  running_ = false;
  return true;
}

void SimExecutor::Abandon() {
  abandoned_ = true;
  // Destroying the tasks releases the volume references they hold.
  std::vector<Task> gone;
  gone.swap(tasks_);
  gone.clear();
  dropped_.clear();
}

}  // namespace bp::sim
