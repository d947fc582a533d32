// Pacer: a bandwidth cap shared by every call of one direction (upload or download) of a delay
// filter instance. A transfer of n bytes occupies the link for n / rate seconds; transfers queue
// behind each other on one virtual timeline (the time the link is next free), so concurrent
// calls share the rate instead of each getting all of it, while the wait itself happens outside
// the lock — the latency of other calls keeps overlapping.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <thread>

namespace delayfilter {

class Pacer {
 public:
  using Clock = std::chrono::steady_clock;

  // bytes_per_second 0: unlimited.
  explicit Pacer(uint64_t bytes_per_second) : rate_(bytes_per_second) {}

  // Block until `bytes` have had their share of the link.
  void Transfer(uint64_t bytes) {
    if (rate_ == 0 || bytes == 0) return;
    const auto cost = std::chrono::nanoseconds(
        static_cast<int64_t>(static_cast<long double>(bytes) * 1e9L / rate_));
    Clock::time_point done;
    {
      std::lock_guard<std::mutex> lock(mu_);
      const auto now = Clock::now();
      // An idle link does not bank credit: a transfer starts no earlier than now.
      free_at_ = std::max(free_at_, now) + cost;
      done = free_at_;
    }
    std::this_thread::sleep_until(done);
  }

 private:
  const uint64_t rate_;
  std::mutex mu_;
  Clock::time_point free_at_{};
};

}  // namespace delayfilter
