// Recovery: checkpoint + replay, checkpoint pruning, a gap stops replay, a torn or corrupt last
// segment is ignored and then replaced, fallback to an older checkpoint, clean restarts.
#include <gtest/gtest.h>

#include "engine/object_format.h"
#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;

// Writes one distinct block per segment: block i holds Pattern(seed + i), segment i+1.
void WriteSegments(Harness& h, VolumeRef& ref, int first, int count, uint32_t seed = 0) {
  for (int i = first; i < first + count; ++i) {
    ASSERT_EQ(test::Write(ref, i * 4096ull, Pattern(4096, seed + i)), 0);
    h.FlushSegment(ref);
  }
}

void ExpectBlocks(VolumeRef& ref, int first, int count, uint32_t seed = 0) {
  for (int i = first; i < first + count; ++i) {
    Bytes out;
    ASSERT_EQ(test::Read(ref, i * 4096ull, 4096, &out), 0);
    EXPECT_EQ(out, Pattern(4096, seed + i)) << "block " << i;
  }
}

void ExpectZero(VolumeRef& ref, int first, int count) {
  for (int i = first; i < first + count; ++i) {
    Bytes out;
    ASSERT_EQ(test::Read(ref, i * 4096ull, 4096, &out), 0);
    EXPECT_EQ(out, Bytes(4096, 0)) << "block " << i;
  }
}

using test::Seqs;

class Recovery : public ::testing::Test {
 protected:
  void SetUp() override {
    h.Start();
    ASSERT_OK(h.manager->Create("v", 16u << 20));
  }
  Harness h;
};

TEST_F(Recovery, CheckpointPlusReplayAndOldCheckpointsPruned) {
  auto ref = h.Ref();
  WriteSegments(h, *ref, 0, 10);  // checkpoint every 4 segments: ckpt 4 and 8
  ASSERT_TRUE(test::WaitFor([&] {
    auto c = Seqs(*h.store, CheckpointPrefix("v"));
    return c.size() == 2 && c.back() == 8;
  }));
  ref.reset();
  ASSERT_OK(h.Crash());
  auto ckpts = Seqs(*h.store, CheckpointPrefix("v"));
  ASSERT_FALSE(ckpts.empty());
  EXPECT_LE(ckpts.size(), 2u) << "only the last two checkpoints are kept";
  EXPECT_EQ(ckpts.back(), 8u);
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 10);
  // Replay only needed segments 9 and 10: reading 8's checkpoint and their fronts.
  EXPECT_EQ(h.manager->List()[0].last_segment, 10u);
  WriteSegments(h, *ref, 10, 1);
  EXPECT_EQ(h.manager->List()[0].last_segment, 11u);
}

TEST_F(Recovery, CleanShutdownWritesFinalCheckpoint) {
  auto ref = h.Ref();
  WriteSegments(h, *ref, 0, 3);
  ASSERT_EQ(test::Write(*ref, 100 * 4096, Pattern(4096, 100)), 0);  // not flushed by the client
  ref.reset();
  ASSERT_OK(h.Restart());
  EXPECT_EQ(Seqs(*h.store, CheckpointPrefix("v")).back(), 4u);
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 3);
  ExpectBlocks(*ref, 100, 1);
}

TEST_F(Recovery, GapStopsReplayAndLaterSegmentsAreDiscarded) {
  auto ref = h.Ref();
  WriteSegments(h, *ref, 0, 3);  // segments 1..3, no checkpoint yet
  ref.reset();
  // What a crash with uploads in flight leaves: 3 landed, 2 did not.
  h.store->Erase(SegmentKey("v", 2));
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 1);
  ExpectZero(*ref, 1, 2);  // segment 3 lies past the gap: not part of the volume
  // The open claimed the gap with an empty segment of its own, then deleted the orphan.
  EXPECT_TRUE(h.store->Has(SegmentKey("v", 2)));
  EXPECT_FALSE(h.store->Has(SegmentKey("v", 3)));
  EXPECT_TRUE(h.store->Keys(VolumePrefix("v") + "quarantine/").empty());
  // The writer continues at 3, and that is durable.
  ASSERT_EQ(test::Write(*ref, 50 * 4096, Pattern(4096, 50)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  EXPECT_TRUE(h.store->Has(SegmentKey("v", 3)));
  ref.reset();
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 1);
  ExpectZero(*ref, 1, 2);
  ExpectBlocks(*ref, 50, 1);
}

TEST_F(Recovery, StaleSegmentOfAnEarlierRunAfterAClaimIsNotReplayed) {
  auto ref = h.Ref();
  WriteSegments(h, *ref, 0, 3);  // segments 1..3 of run A
  ref.reset();
  Bytes orphan;
  ASSERT_OK(h.store->Get(SegmentKey("v", 3), &orphan));
  h.store->Erase(SegmentKey("v", 2));
  ASSERT_OK(h.Crash());  // run B claims 2, deletes 3
  ASSERT_FALSE(h.store->Has(SegmentKey("v", 3)));
  // A crash between the claim and the deletion (or a late upload of a live run A) puts run
  // A's segment 3 back after run B's claim: replay must not apply it.
  ASSERT_OK(h.store->Put(SegmentKey("v", 3), orphan.data(), orphan.size(), false));
  ref.reset();
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 1);
  ExpectZero(*ref, 1, 2);
  EXPECT_FALSE(h.store->Has(SegmentKey("v", 3)));  // deleted again by this open
}

TEST_F(Recovery, TornOrCorruptLastSegmentIsIgnored) {
  auto ref = h.Ref();
  WriteSegments(h, *ref, 0, 2);
  h.store->TruncateNextPut(100, "/seg/");  // segment 3 lands torn
  ASSERT_EQ(test::Write(*ref, 2 * 4096, Pattern(4096, 2)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  ref.reset();
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 2);
  ExpectZero(*ref, 2, 1);
  WriteSegments(h, *ref, 5, 1, 7);  // takes seq 3 again
  ref.reset();
  // Now corrupt the meta of the last segment instead.
  Bytes seg = h.store->Peek(SegmentKey("v", 3));
  ASSERT_FALSE(seg.empty());
  seg[kObjectHeaderLength + 3] ^= 0x10;
  h.store->Poke(SegmentKey("v", 3), seg);
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 2);
  ExpectZero(*ref, 5, 1);
}

TEST_F(Recovery, FallsBackToOlderCheckpoint) {
  auto ref = h.Ref();
  WriteSegments(h, *ref, 0, 9);  // checkpoints 4 and 8
  ASSERT_TRUE(test::WaitFor([&] { return h.store->Has(CheckpointKey("v", 8)); }));
  ref.reset();
  ASSERT_OK(h.Crash());
  ASSERT_TRUE(h.store->Has(CheckpointKey("v", 8)));
  ASSERT_OK(h.manager->Shutdown());  // no new data: no new checkpoint
  h.manager.reset();
  Bytes ck = h.store->Peek(CheckpointKey("v", 8));
  ck[ck.size() - 5] ^= 0x01;
  h.store->Poke(CheckpointKey("v", 8), ck);
  ASSERT_OK(h.StartAndOpen());
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 9);
  // With every checkpoint unusable, replay starts from segment 1.
  ref.reset();
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  for (const auto& k : h.store->Keys(CheckpointPrefix("v"))) h.store->Poke(k, Bytes{1, 2, 3});
  ASSERT_OK(h.StartAndOpen());
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 9);
}

TEST_F(Recovery, DamagedNewestCheckpointIsQuarantinedNotMistakenForAnotherWriter) {
  auto ref = h.Ref();
  WriteSegments(h, *ref, 0, 3);
  ref.reset();
  ASSERT_OK(h.Restart());  // clean shutdown: a final checkpoint of the last segment
  auto ckpts = Seqs(*h.store, CheckpointPrefix("v"));
  ASSERT_FALSE(ckpts.empty());
  const uint64_t newest = ckpts.back();
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  Bytes ck = h.store->Peek(CheckpointKey("v", newest));
  ck[ck.size() - 5] ^= 0x01;
  h.store->Poke(CheckpointKey("v", newest), ck);
  // The writer falls back, moves the damaged checkpoint aside, and its own checkpoint of the
  // same seq at shutdown succeeds instead of fencing the volume.
  ASSERT_OK(h.StartAndOpen());
  EXPECT_EQ(h.store->Keys(VolumePrefix("v") + "quarantine/ckpt-").size(), 1u);
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 3);
  ASSERT_EQ(test::Write(*ref, 40 * 4096, Pattern(4096, 40)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  ref.reset();
  ASSERT_OK(h.Restart());
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 3);
  ExpectBlocks(*ref, 40, 1);
  for (const auto& v : h.manager->List()) EXPECT_FALSE(v.read_only) << "the volume was fenced";
}

TEST_F(Recovery, OverwritesTrimsAndZeroesSurviveReplayInOrder) {
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, Pattern(8 * 4096, 1)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, 4096, 2 * 4096, nullptr), 0);
  ASSERT_EQ(test::Write(*ref, 2 * 4096, Pattern(4096, 9)), 0);  // data after the trim wins
  ASSERT_EQ(test::Flush(*ref), 0);
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_WRITE_ZEROES, 5 * 4096, 4096, nullptr, BP_IO_FLAG_NO_HOLE),
            0);
  ASSERT_EQ(test::Write(*ref, 6 * 4096, Pattern(4096, 10)), 0);
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, 6 * 4096, 4096, nullptr),
            0);  // trim after the data wins
  ASSERT_EQ(test::Flush(*ref), 0);
  Bytes model = Pattern(8 * 4096, 1);
  std::fill(model.begin() + 4096, model.begin() + 2 * 4096, 0);
  Bytes nine = Pattern(4096, 9);
  std::copy(nine.begin(), nine.end(), model.begin() + 2 * 4096);
  std::fill(model.begin() + 5 * 4096, model.begin() + 7 * 4096, 0);
  Bytes out;
  ASSERT_EQ(test::Read(*ref, 0, model.size(), &out), 0);
  EXPECT_EQ(out, model);
  ref.reset();
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ASSERT_EQ(test::Read(*ref, 0, model.size(), &out), 0);
  EXPECT_EQ(out, model);
}

TEST_F(Recovery, TransientListFailureFailsOpenInsteadOfLosingData) {
  auto ref = h.Ref();
  WriteSegments(h, *ref, 0, 2);
  ref.reset();
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  h.store->FailNext(MemoryStore::Op::kRead, Status::Transient("timeout"), 1, "/seg/");
  h.store->Erase(CheckpointKey("v", 2));
  h.Start();
  Status s = h.manager->OpenAll();
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(h.manager->Exists("v"));
  EXPECT_TRUE(h.store->Has(SegmentKey("v", 2))) << "nothing was deleted";
  ASSERT_OK(h.manager->OpenAll());
  ref = h.Ref();
  ExpectBlocks(*ref, 0, 2);
}

}  // namespace
}  // namespace bp
