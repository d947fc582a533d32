// PollWindow: the adaptive busy-polling policy of the event-loop threads. Windows grow only
// while events arrive within the maximum, drop to nothing after a long sleep, and never exceed
// the maximum; a zero maximum never polls.
#include <gtest/gtest.h>

#include "poll_window.h"

namespace bpnbd::test {
namespace {

using us = std::chrono::microseconds;
using PW = PollWindow;

TEST(PollWindow, StartsAsleepAndGrowsWhileEventsComeClose) {
  PollWindow w(us(100));
  EXPECT_EQ(w.current(), PW::Duration::zero());
  w.AfterSleep(us(40));
  EXPECT_EQ(w.current(), PW::kFirstWindow);
  w.AfterSleep(us(40));
  EXPECT_EQ(w.current(), us(8));
  w.AfterSleep(us(40));
  w.AfterSleep(us(40));
  EXPECT_EQ(w.current(), us(32));
  w.AfterSleep(us(40));
  EXPECT_EQ(w.current(), us(64));
  // A window that already covers the gap stays where it is.
  w.AfterSleep(us(40));
  EXPECT_EQ(w.current(), us(64));
  w.AfterSleep(us(90));
  EXPECT_EQ(w.current(), us(100));
  w.AfterSleep(us(100));
  EXPECT_EQ(w.current(), us(100)) << "never beyond the maximum";
}

TEST(PollWindow, ALongSleepStopsPolling) {
  PollWindow w(us(100));
  for (int i = 0; i < 10; ++i) w.AfterSleep(us(90));
  ASSERT_EQ(w.current(), us(100));
  w.AfterSleep(us(101));
  EXPECT_EQ(w.current(), PW::Duration::zero());
  w.AfterSleep(std::chrono::seconds(5));
  EXPECT_EQ(w.current(), PW::Duration::zero());
}

TEST(PollWindow, ASmallMaximumCapsTheFirstWindow) {
  PollWindow w(us(2));
  w.AfterSleep(us(1));
  EXPECT_EQ(w.current(), us(2));
}

TEST(PollWindow, ZeroMaximumNeverPolls) {
  PollWindow w(PW::Duration::zero());
  for (int i = 0; i < 5; ++i) w.AfterSleep(PW::Duration::zero());
  EXPECT_EQ(w.current(), PW::Duration::zero());
}

}  // namespace
}  // namespace bpnbd::test
