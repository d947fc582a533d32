// The body of each event-loop thread: runs one io_context until it is stopped, polling for a
// while before each sleep as PollWindow decides (see poll_window.h for why).
#pragma once

#include <chrono>

#include <boost/asio/io_context.hpp>

namespace bpnbd {

// Returns when the context is stopped or runs out of work. Handler exceptions propagate to the
// caller, which may call again to keep serving. poll_max == 0 is plain io_context::run().
void RunEventLoop(boost::asio::io_context& context, std::chrono::microseconds poll_max);

}  // namespace bpnbd
