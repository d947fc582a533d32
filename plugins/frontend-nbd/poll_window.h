// PollWindow: how long an event-loop thread keeps polling its sockets for the next event before
// it goes to sleep, adapted to the traffic it sees (the adaptive polling of qemu's IOThreads,
// poll-max-ns).
//
// Why poll at all: a client at queue depth 1 sends its next request a few dozen microseconds
// after our reply. A thread that sleeps in the meantime must be woken for every request, and
// on a virtual machine whose CPU went idle that wake-up (an interrupt to a halted virtual CPU)
// costs as much as the rest of the round trip. Polling a little longer than the gap between
// requests keeps the thread, and its CPU, awake: measured on two virtual CPUs, 4 KiB reads at
// queue depth 1 went from 18k to 33-48k per second (docs/benchmarks.md).
//
// The policy: the window starts at 0. A sleep that ended within `max` means events come close
// together, so the window grows (4 µs, then doubling, up to `max`); a sleep longer than `max`
// means polling would not have caught the event, so the window drops to 0. An idle or slow
// client therefore costs no polling, and a busy one at most `max` per sleep. Not thread-safe:
// one per event-loop thread.
#pragma once

#include <algorithm>
#include <chrono>

namespace bpnbd {

class PollWindow {
 public:
  using Duration = std::chrono::nanoseconds;
  static constexpr Duration kFirstWindow{4000};

  // max == 0 disables polling: current() stays 0.
  explicit PollWindow(Duration max) : max_(max) {}

  // How long to poll before the next sleep; 0: sleep at once.
  Duration current() const { return current_; }

  // A wait for events ended after `waited`, counted from the start of the poll that preceded
  // the sleep (so it includes the window itself).
  void AfterSleep(Duration waited) {
    if (max_.count() <= 0) return;
    if (waited > max_) {
      current_ = Duration::zero();
    } else if (waited > current_) {
      current_ =
          current_.count() == 0 ? std::min(kFirstWindow, max_) : std::min(max_, current_ * 2);
    }
  }

 private:
  const Duration max_;
  Duration current_{0};
};

}  // namespace bpnbd
