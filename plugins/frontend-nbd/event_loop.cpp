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
    if (context.poll() > 0) continue;
    if (context.stopped()) return;
    const Clock::time_point idle_since = Clock::now();
    if (window.current().count() > 0) {
      const Clock::time_point deadline = idle_since + window.current();
      size_t ran = 0;
      do {
        ran = context.poll();
      } while (ran == 0 && !context.stopped() && Clock::now() < deadline);
      if (ran > 0) continue;
      if (context.stopped()) return;
    }
    if (context.run_one() == 0) return;
    window.AfterSleep(Clock::now() - idle_since);
  }
}

}  // namespace bpnbd
