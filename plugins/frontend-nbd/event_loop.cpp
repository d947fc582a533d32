// RunEventLoop implementation. io_context::poll() runs the handlers that are ready, checking
// the sockets without blocking (epoll_wait with a zero timeout); run_one() sleeps until one is.
#include "event_loop.h"

#include "poll_window.h"

namespace bpnbd {

void RunEventLoop(boost::asio::io_context& context, std::chrono::microseconds poll_max) {
  if (poll_max.count() <= 0) {
    context.run();
    return;
  }
  using Clock = std::chrono::steady_clock;
  PollWindow window(poll_max);
  for (;;) {
    // Run what is ready; with nothing ready, keep checking for the current window (one check
    // when it is 0) before sleeping.
    const Clock::time_point idle_since = Clock::now();
    const Clock::time_point deadline = idle_since + window.current();
    size_t ran = 0;
    do {
      ran = context.poll();
    } while (ran == 0 && !context.stopped() && Clock::now() < deadline);
    if (ran > 0) continue;
    if (context.stopped() || context.run_one() == 0) return;
    window.AfterSleep(Clock::now() - idle_since);
  }
}

}  // namespace bpnbd
