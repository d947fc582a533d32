// Dead-segment reclamation: segments with no live block are deleted once the oldest kept
// checkpoint covers them, live ones never are, recovery (from either kept checkpoint) still
// rebuilds the same volume afterwards, and a volume whose checkpoints are all unusable after a
// reclaim refuses to open instead of replaying a partial log.
#include <gtest/gtest.h>

#include <algorithm>

#include "engine/object_format.h"
#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;

using test::Seqs;

class Reclaim : public ::testing::Test {
 protected:
  void SetUp() override {
    h.Start();
    ASSERT_OK(h.manager->Create("v", 16u << 20));
  }
  void WriteSegment(VolumeRef& ref, uint64_t block, uint32_t seed) {
    ASSERT_EQ(test::Write(ref, block * 4096, Pattern(4096, seed)), 0);
    h.FlushSegment(ref);
  }
  // Block 0 rewritten once per segment: every segment but the newest is dead.
  void OverwriteBlockZero(VolumeRef& ref, int first, int count) {
    for (int i = first; i < first + count; ++i) WriteSegment(ref, 0, i);
  }
  void ExpectBlock(VolumeRef& ref, uint64_t block, uint32_t seed) {
    Bytes out;
    ASSERT_EQ(test::Read(ref, block * 4096, 4096, &out), 0);
    EXPECT_EQ(out, Pattern(4096, seed)) << "block " << block;
  }
  Harness h;
};

TEST_F(Reclaim, DeadSegmentsGoOnceTheOlderKeptCheckpointCoversThem) {
  auto ref = h.Ref();
  // Segments 1..12, checkpoints at 4, 8 and 12 (every 4 segments).
  OverwriteBlockZero(*ref, 0, 12);
  ASSERT_TRUE(test::WaitFor([&] {
    auto c = Seqs(*h.store, CheckpointPrefix("v"));
    return c.size() == 2 && c.back() == 12;
  }));
  // Kept checkpoints are 8 and 12: everything at or below 8 but segment 8 itself (live in
  // checkpoint 8) can go; 9..12 are still needed to replay from checkpoint 8.
  ASSERT_TRUE(test::WaitFor([&] { return Seqs(*h.store, SegmentPrefix("v")).front() == 8; }))
      << "segments left: " << Seqs(*h.store, SegmentPrefix("v")).size();
  EXPECT_EQ(Seqs(*h.store, SegmentPrefix("v")), (std::vector<uint64_t>{8, 9, 10, 11, 12}));
  ExpectBlock(*ref, 0, 11);

  // A crash now recovers from checkpoint 12 ...
  ref.reset();
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ExpectBlock(*ref, 0, 11);
  ref.reset();
  ASSERT_OK(h.manager->Shutdown());  // nothing new: no new checkpoint
  h.manager.reset();
  // ... and from checkpoint 8 when 12 is damaged: segments 9..12 replay on top of it.
  Bytes ck = h.store->Peek(CheckpointKey("v", 12));
  ck[ck.size() - 5] ^= 0x01;
  h.store->Poke(CheckpointKey("v", 12), ck);
  ASSERT_OK(h.StartAndOpen());
  ref = h.Ref();
  ExpectBlock(*ref, 0, 11);
}

TEST_F(Reclaim, LiveSegmentsAreKept) {
  auto ref = h.Ref();
  for (int i = 0; i < 12; ++i) WriteSegment(*ref, i, 100 + i);  // one block each: all live
  // Give a (wrong) reclaim pass the chance to run before checking.
  OverwriteBlockZero(*ref, 200, 1);  // segment 13: kills segment 1 (block 0)
  ref.reset();
  ASSERT_OK(h.Restart());
  auto segs = Seqs(*h.store, SegmentPrefix("v"));
  for (uint64_t seq = 2; seq <= 12; ++seq) {
    EXPECT_TRUE(std::count(segs.begin(), segs.end(), seq)) << "live segment " << seq << " deleted";
  }
  ref = h.Ref();
  ExpectBlock(*ref, 0, 200);
  for (int i = 1; i < 12; ++i) ExpectBlock(*ref, i, 100 + i);
}

TEST_F(Reclaim, AfterARestartTheRecoveredCheckpointIsAReference) {
  auto ref = h.Ref();
  OverwriteBlockZero(*ref, 0, 5);  // checkpoint 4 only: nothing reclaimable yet
  ref.reset();
  ASSERT_OK(h.Crash());  // opens from checkpoint 4 and remembers its live set
  EXPECT_EQ(Seqs(*h.store, SegmentPrefix("v")).front(), 1u);
  ref = h.Ref();
  OverwriteBlockZero(*ref, 5, 4);  // segments 6..9, checkpoint 8: kept {4, 8}
  ASSERT_TRUE(test::WaitFor([&] { return Seqs(*h.store, SegmentPrefix("v")).front() == 4; }));
  ExpectBlock(*ref, 0, 8);
}

TEST_F(Reclaim, UnusableCheckpointsAfterAReclaimRefuseToOpen) {
  auto ref = h.Ref();
  OverwriteBlockZero(*ref, 0, 12);
  ASSERT_TRUE(test::WaitFor([&] { return Seqs(*h.store, SegmentPrefix("v")).front() == 8; }));
  ref.reset();
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  for (const auto& k : h.store->Keys(CheckpointPrefix("v"))) h.store->Poke(k, Bytes{1, 2, 3});
  Status s = h.StartAndOpen();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("no usable checkpoint"), std::string::npos) << s.ToString();
  EXPECT_TRUE(h.manager->List().empty()) << "a volume that cannot be rebuilt must not be served";
  // Nothing was quarantined or deleted: an operator can still repair it.
  EXPECT_TRUE(h.store->Keys(VolumePrefix("v") + "quarantine/").empty());
  EXPECT_EQ(Seqs(*h.store, SegmentPrefix("v")).front(), 8u);
}

}  // namespace
}  // namespace bp
