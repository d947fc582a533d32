// ReadScratch: read buffers are reused between reads and given back by the idle trim.
#include "engine/read_scratch.h"

#include <gtest/gtest.h>

namespace bp {
namespace {

TEST(ReadScratch, AReturnedBufferServesTheNextRead) {
  ReadScratch::ReleaseIdle();
  const uint8_t* first = nullptr;
  {
    ReadScratch::Lease lease(4 << 20);
    first = lease.data();
  }
  EXPECT_GE(ReadScratch::IdleBytes(), size_t{4} << 20);
  ReadScratch::Lease again(64 << 10);  // smaller: the 4 MiB buffer serves it as it is
  EXPECT_EQ(again.data(), first);
  EXPECT_EQ(ReadScratch::IdleBytes(), 0u);
}

TEST(ReadScratch, ReadsInFlightHoldBuffersOfTheirOwn) {
  ReadScratch::ReleaseIdle();
  ReadScratch::Lease a(1 << 20);
  ReadScratch::Lease b(1 << 20);
  EXPECT_NE(a.data(), b.data());
}

TEST(ReadScratch, TheIdleTrimFreesWhatNoReadHolds) {
  ReadScratch::ReleaseIdle();
  {
    ReadScratch::Lease a(2 << 20);
    ReadScratch::Lease b(2 << 20);
  }
  EXPECT_GE(ReadScratch::IdleBytes(), size_t{4} << 20);
  ReadScratch::Lease held(1 << 20);  // still reading through the trim
  ReadScratch::ReleaseIdle();
  EXPECT_EQ(ReadScratch::IdleBytes(), 0u);
}

}  // namespace
}  // namespace bp
