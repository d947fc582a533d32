// VolumeRef::Extents (bp_volume_api.extents since ABI 1.7): the allocation a BLOCK_STATUS reply
// is built from. It must agree with what a read returns at every stage of a write's life —
// buffered, sealed, durable — and with trims and zeroes; it clips to unaligned ranges, honours
// max_extents, refuses ranges outside the volume and stops early (with a correct prefix) in
// heavily buffered areas.
#include <gtest/gtest.h>

#include <vector>

#include "engine/extent_query.h"
#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;

constexpr uint32_t kHole = BP_EXTENT_HOLE | BP_EXTENT_ZERO;
constexpr uint32_t kZero = BP_EXTENT_ZERO;
constexpr uint32_t kData = 0;

struct Ext {
  uint64_t length;
  uint32_t flags;
  bool operator==(const Ext& o) const { return length == o.length && flags == o.flags; }
};
std::ostream& operator<<(std::ostream& os, const Ext& e) {
  return os << "{" << e.length << "," << e.flags << "}";
}

class VolumeExtents : public ::testing::Test {
 protected:
  void SetUp() override {
    h.Start();
    ASSERT_OK(h.manager->Create("v", kSize));
    ref = h.Ref();
  }
  std::vector<Ext> Query(uint64_t offset, uint64_t length, size_t max = 1000) {
    std::vector<bp_extent> raw;
    Status st = ref->Extents(offset, length, max, &raw);
    EXPECT_OK(st);
    std::vector<Ext> out;
    for (const bp_extent& e : raw) out.push_back(Ext{e.length, e.flags});
    return out;
  }
  static constexpr uint64_t kSize = 128u << 20;
  Harness h;
  std::unique_ptr<VolumeRef> ref;
};

TEST_F(VolumeExtents, EmptyVolumeIsOneHole) {
  EXPECT_EQ(Query(0, kSize), (std::vector<Ext>{{kSize, kHole}}));
  EXPECT_EQ(Query(100, 5000), (std::vector<Ext>{{5000, kHole}}));
}

TEST_F(VolumeExtents, WritesAreDataWhileBufferedAndAfterFlush) {
  ASSERT_EQ(test::Write(*ref, 64 << 10, Pattern(64 << 10, 1)), 0);
  const std::vector<Ext> expect{{64 << 10, kHole}, {64 << 10, kData}, {kSize - (128 << 10), kHole}};
  EXPECT_EQ(Query(0, kSize), expect);
  ASSERT_EQ(test::Flush(*ref), 0);
  EXPECT_EQ(Query(0, kSize), expect);
}

TEST_F(VolumeExtents, TrimMakesHolesAndZeroesMakeZeroRanges) {
  ASSERT_EQ(test::Write(*ref, 0, Pattern(1 << 20, 2)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, 0, 64 << 10, nullptr), 0);
  ASSERT_EQ(
      test::DoIo(*ref, BP_IO_OP_WRITE_ZEROES, 128 << 10, 64 << 10, nullptr, BP_IO_FLAG_NO_HOLE), 0);
  // Buffered trims and zeroes both read as zeros; allocation of a buffered range is not claimed.
  std::vector<Ext> buffered = Query(0, 1 << 20);
  ASSERT_GE(buffered.size(), 3u);
  EXPECT_EQ(buffered[0], (Ext{64 << 10, kZero}));
  EXPECT_EQ(buffered[1], (Ext{64 << 10, kData}));
  EXPECT_EQ(buffered[2], (Ext{64 << 10, kZero}));
  ASSERT_EQ(test::Flush(*ref), 0);
  std::vector<Ext> durable = Query(0, 1 << 20);
  ASSERT_EQ(durable.size(), 4u);
  EXPECT_EQ(durable[0], (Ext{64 << 10, kHole}));
  EXPECT_EQ(durable[1], (Ext{64 << 10, kData}));
  EXPECT_TRUE(durable[2].flags & BP_EXTENT_ZERO);
  EXPECT_EQ(durable[2].length, 64u << 10);
  EXPECT_EQ(durable[3], (Ext{(1 << 20) - (192 << 10), kData}));
}

TEST_F(VolumeExtents, UnalignedRangesAreClippedAndMaxExtentsHonoured) {
  ASSERT_EQ(test::Write(*ref, 8192, Pattern(4096, 3)), 0);
  EXPECT_EQ(Query(4097, 8190), (std::vector<Ext>{{4095, kHole}, {4095, kData}}));
  EXPECT_EQ(Query(0, kSize, 1), (std::vector<Ext>{{8192, kHole}}));
  EXPECT_EQ(Query(8200, 10), (std::vector<Ext>{{10, kData}}));
}

TEST_F(VolumeExtents, RangesOutsideTheVolumeAreRefused) {
  std::vector<bp_extent> out;
  EXPECT_FALSE(ref->Extents(0, 0, 10, &out).ok());
  EXPECT_FALSE(ref->Extents(kSize, 1, 10, &out).ok());
  EXPECT_FALSE(ref->Extents(1, kSize, 10, &out).ok());
  EXPECT_FALSE(ref->Extents(0, 4096, 0, &out).ok());
  EXPECT_TRUE(out.empty());
}

TEST_F(VolumeExtents, BufferedAreasStopEarlyWithACorrectPrefix) {
  // Every other block written (buffered or, once segments seal, durable): where the buffers hold
  // them each block is classified on its own and the budget may cut the answer short; either
  // way it is an alternating prefix that starts at the offset.
  for (uint64_t b = 0; b < 8192; b += 2)
    ASSERT_EQ(test::Write(*ref, b * 4096, Pattern(4096, 4)), 0);
  std::vector<Ext> got = Query(0, kSize, 1u << 20);
  ASSERT_FALSE(got.empty());
  ASSERT_LE(got.size(), 8192u);
  for (size_t i = 0; i + 1 < got.size(); ++i) {
    EXPECT_EQ(got[i], (Ext{4096, i % 2 ? kHole : kData})) << i;
  }
  // Asked from near one block, the answer reaches past it.
  EXPECT_EQ(Query(8190 * 4096 - 10, 3 * 4096),
            (std::vector<Ext>{{10, kHole}, {4096, kData}, {3 * 4096 - 4106, kHole}}));
}

}  // namespace
}  // namespace bp
