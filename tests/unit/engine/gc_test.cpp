// Garbage collection: the live blocks of mostly-dead segments are rewritten into new segments,
// the old objects are deleted once no checkpoint, pin or read needs them, every byte reads back
// the same before and after (also after a crash), STORED is exactly what the store holds, and
// only a writable volume collects. Also the deletion rule itself (SegmentPins) and the pin
// source hook the snapshot code fills.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>

#include "engine/collector.h"
#include "engine/object_format.h"
#include "engine/reclaimer.h"
#include "engine/segment_pins.h"
#include "engine/snapshot_catalog.h"
#include "engine/volume_meta.h"
#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;
using test::Seqs;

uint64_t StoreBytes(MemoryStore& store, const std::string& prefix) {
  uint64_t total = 0;
  for (const auto& k : store.Keys(prefix)) total += store.Peek(k).size();
  return total;
}

class Gc : public ::testing::Test {
 protected:
  void SetUp() override {
    h.options.checkpoint_every_segments = 1000;  // checkpoints only when GC forces them
    h.Start();
    ASSERT_OK(h.manager->Create("v", 16u << 20));
  }
  VolumeSummary Summary() {
    for (const auto& s : h.manager->List()) {
      if (s.name == "v") return s;
    }
    ADD_FAILURE() << "no volume v";
    return {};
  }
  // Blocks [first, first+count) get content seeded with seed + block, in one segment.
  void WriteRun(VolumeRef& ref, uint64_t first, uint64_t count, uint32_t seed) {
    for (uint64_t b = first; b < first + count; ++b) {
      ASSERT_EQ(test::Write(ref, b * 4096, Pattern(4096, seed + static_cast<uint32_t>(b))), 0);
      expected_[b] = seed + static_cast<uint32_t>(b);
    }
    h.FlushSegment(ref);
  }
  void ExpectAll(VolumeRef& ref) {
    for (const auto& [block, seed] : expected_) {
      Bytes out;
      ASSERT_EQ(test::Read(ref, block * 4096, 4096, &out), 0);
      ASSERT_EQ(out, Pattern(4096, seed)) << "block " << block;
    }
  }
  void RunGcAndWait() {
    std::vector<std::pair<std::string, uint64_t>> passes;
    ASSERT_OK(h.manager->RunGc("v", &passes));
    ASSERT_EQ(passes.size(), 1u);
    const uint64_t pass = passes[0].second;
    ASSERT_TRUE(test::WaitFor([&] { return Summary().gc_passes_done >= pass; }, 10000))
        << "pass " << pass << " did not finish";
  }
  Harness h;
  std::map<uint64_t, uint32_t> expected_;
};

TEST_F(Gc, RewritesMostlyDeadSegmentsAndDeletesThem) {
  auto ref = h.Ref();
  WriteRun(*ref, 0, 64, 1000);   // segment 1: blocks 0..63
  WriteRun(*ref, 64, 64, 2000);  // segment 2: blocks 64..127
  WriteRun(*ref, 0, 48, 3000);   // segment 3: 75% of segment 1 dead
  WriteRun(*ref, 64, 16, 4000);  // segment 4: 25% of segment 2 dead (below the threshold)
  const VolumeSummary before = Summary();
  EXPECT_GT(before.garbage_bytes, 0u);
  RunGcAndWait();
  auto segs = Seqs(*h.store, SegmentPrefix("v"));
  EXPECT_EQ(std::count(segs.begin(), segs.end(), 1u), 0) << "segment 1 was not collected";
  EXPECT_EQ(std::count(segs.begin(), segs.end(), 2u), 1) << "segment 2 is mostly live";
  const VolumeSummary after = Summary();
  EXPECT_EQ(after.gc_rewritten_bytes, 16u * 4096);  // the 16 live blocks of segment 1
  EXPECT_EQ(after.live_bytes, before.live_bytes);
  EXPECT_LT(after.garbage_bytes, before.garbage_bytes);
  EXPECT_EQ(after.stored_bytes, StoreBytes(*h.store, VolumePrefix("v")));
  EXPECT_GT(after.gc_write_amplification(), 1.0);
  ExpectAll(*ref);

  // Both kept checkpoints and the log after them still rebuild the same volume.
  ref.reset();
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ExpectAll(*ref);
  ref.reset();
  ASSERT_OK(h.Restart());
  ref = h.Ref();
  ExpectAll(*ref);
}

TEST_F(Gc, StoredBytesIsWhatTheStoreHolds) {
  auto ref = h.Ref();
  for (int i = 0; i < 6; ++i) {
    WriteRun(*ref, 0, 32, 100 * i);
    EXPECT_EQ(Summary().stored_bytes, StoreBytes(*h.store, VolumePrefix("v")));
  }
  EXPECT_GT(Summary().stored_bytes, Summary().live_bytes);  // overwrites are still stored
  RunGcAndWait();
  EXPECT_EQ(Summary().stored_bytes, StoreBytes(*h.store, VolumePrefix("v")));
  // The old segments were wholly dead: reclaimed, and stored is close to live again.
  EXPECT_EQ(Seqs(*h.store, SegmentPrefix("v")).front(), 6u);
  ref.reset();
  ASSERT_OK(h.Restart());
  EXPECT_EQ(Summary().stored_bytes, StoreBytes(*h.store, VolumePrefix("v")));
  ref = h.Ref();
  ExpectAll(*ref);
}

TEST_F(Gc, TrimmedDataIsCollectedToo) {
  auto ref = h.Ref();
  WriteRun(*ref, 0, 64, 7);
  WriteRun(*ref, 64, 64, 9);
  // Trim every other block of the first run: half of segment 1 is dead.
  for (uint64_t b = 0; b < 64; b += 2) {
    ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, b * 4096, 4096, nullptr), 0);
    expected_.erase(b);
  }
  h.FlushSegment(*ref);
  RunGcAndWait();
  auto segs = Seqs(*h.store, SegmentPrefix("v"));
  EXPECT_EQ(std::count(segs.begin(), segs.end(), 1u), 0);
  ExpectAll(*ref);
  for (uint64_t b = 0; b < 64; b += 2) {
    Bytes out;
    ASSERT_EQ(test::Read(*ref, b * 4096, 4096, &out), 0);
    EXPECT_EQ(out, Bytes(4096, 0)) << "trimmed block " << b << " came back";
  }
}

TEST_F(Gc, ANewerWriteWinsOverTheRelocatedCopy) {
  auto ref = h.Ref();
  WriteRun(*ref, 0, 64, 50);
  WriteRun(*ref, 0, 40, 60);
  // Buffered, not yet flushed: GC must not put the older content over these.
  for (uint64_t b = 40; b < 64; b += 3) {
    ASSERT_EQ(test::Write(*ref, b * 4096, Pattern(4096, 90000 + static_cast<uint32_t>(b))), 0);
    expected_[b] = 90000 + static_cast<uint32_t>(b);
  }
  RunGcAndWait();
  ExpectAll(*ref);
  ASSERT_EQ(test::Flush(*ref), 0);
  ref.reset();
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  ExpectAll(*ref);
}

TEST_F(Gc, NothingToDoFinishesAtOnce) {
  auto ref = h.Ref();
  WriteRun(*ref, 0, 16, 1);
  RunGcAndWait();
  EXPECT_EQ(Summary().gc_rewritten_bytes, 0u);
  EXPECT_EQ(Seqs(*h.store, SegmentPrefix("v")), std::vector<uint64_t>{1});
}

TEST_F(Gc, OnlyAWritableVolumeCollects) {
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  h.options.allow_unfenced = false;
  h.store->SetPutIfAbsentSupported(false);  // no fencing possible: served read-only
  h.store->SetConditionalPutSupported(false);
  ASSERT_OK(h.StartAndOpen());
  std::vector<std::pair<std::string, uint64_t>> passes;
  const Status s = h.manager->RunGc("v", &passes);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("read-only"), std::string::npos) << s.ToString();
  passes.clear();
  EXPECT_OK(h.manager->RunGc("", &passes));  // "every writable volume": none
  EXPECT_TRUE(passes.empty());
  EXPECT_TRUE(h.manager->RunGc("nope", &passes).IsNotFound());
}

TEST(GcPins, ASegmentASnapshotPinsOutlivesItsCollectionUntilTheSnapshotGoes) {
  Harness h;
  h.options.checkpoint_every_segments = 1000;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  for (uint64_t b = 0; b < 64; ++b) {
    ASSERT_EQ(test::Write(*ref, b * 4096, Pattern(4096, static_cast<uint32_t>(b))), 0);
  }
  h.FlushSegment(*ref);  // segment 1
  SnapshotSummary snap;
  ASSERT_OK(h.manager->CreateSnapshot("v", "s", &snap));
  for (uint64_t b = 0; b < 48; ++b) {
    ASSERT_EQ(test::Write(*ref, b * 4096, Pattern(4096, 500 + static_cast<uint32_t>(b))), 0);
  }
  h.FlushSegment(*ref);  // segment 1 is now 75% dead in the live map
  auto pass_done = [&](uint64_t n) {
    return test::WaitFor([&] { return h.manager->List()[0].gc_passes_done >= n; }, 10000);
  };
  std::vector<std::pair<std::string, uint64_t>> passes;
  ASSERT_OK(h.manager->RunGc("v", &passes));
  ASSERT_EQ(passes.size(), 1u);
  // The pass ends although segment 1 stays: the snapshot still reads it.
  ASSERT_TRUE(pass_done(1));
  EXPECT_TRUE(h.store->Has(SegmentKey("v", 1))) << "a pinned segment was deleted";
  std::unique_ptr<VolumeRef> view;
  ASSERT_OK(h.manager->OpenRef("v@s", true, &view));
  for (uint64_t b = 0; b < 64; ++b) {
    Bytes out;
    ASSERT_EQ(test::Read(*ref, b * 4096, 4096, &out), 0);
    ASSERT_EQ(out, Pattern(4096, (b < 48 ? 500 : 0) + static_cast<uint32_t>(b))) << b;
    ASSERT_EQ(test::Read(*view, b * 4096, 4096, &out), 0);
    ASSERT_EQ(out, Pattern(4096, static_cast<uint32_t>(b))) << "snapshot block " << b;
  }
  view.reset();
  // Without the snapshot, the next pass rewrites what is live in segment 1 and deletes it.
  ASSERT_OK(h.manager->DeleteSnapshot("v", "s"));
  passes.clear();
  ASSERT_OK(h.manager->RunGc("v", &passes));
  ASSERT_TRUE(pass_done(2));
  EXPECT_FALSE(h.store->Has(SegmentKey("v", 1))) << "nothing pins segment 1 any more";
  for (uint64_t b = 0; b < 64; ++b) {
    Bytes out;
    ASSERT_EQ(test::Read(*ref, b * 4096, 4096, &out), 0);
    ASSERT_EQ(out, Pattern(4096, (b < 48 ? 500 : 0) + static_cast<uint32_t>(b))) << b;
  }
}

// GC leaves what a snapshot pins alone (moving its live blocks would only add copies), and
// once the snapshot is deleted the next pass learns that at once: it rewrites the live blocks
// and the segment goes, although an earlier deletion pass saw the snapshot.
TEST(GcPins, APassAfterTheSnapshotGoesCollectsWhatItHeld) {
  Harness h;
  h.options.checkpoint_every_segments = 1000;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  auto write = [&](uint64_t first, uint64_t count, uint32_t seed) {
    for (uint64_t b = first; b < first + count; ++b) {
      ASSERT_EQ(test::Write(*ref, b * 4096, Pattern(4096, seed + static_cast<uint32_t>(b))), 0);
    }
    h.FlushSegment(*ref);
  };
  auto summary = [&] { return h.manager->List()[0]; };
  auto run_pass = [&] {
    std::vector<std::pair<std::string, uint64_t>> passes;
    ASSERT_OK(h.manager->RunGc("v", &passes));
    ASSERT_EQ(passes.size(), 1u);
    ASSERT_TRUE(test::WaitFor([&] { return summary().gc_passes_done >= passes[0].second; }, 10000));
  };
  write(0, 64, 0);  // segment 1
  SnapshotSummary snap;
  ASSERT_OK(h.manager->CreateSnapshot("v", "s", &snap));
  write(0, 48, 500);    // segment 2: segment 1 is 75% dead in the live map, pinned by s
  write(100, 16, 900);  // segment 3
  write(100, 16, 950);  // segment 4: segment 3 wholly dead, so the pass settles and reclaims
  run_pass();
  EXPECT_FALSE(h.store->Has(SegmentKey("v", 3))) << "a wholly dead segment stayed";
  EXPECT_TRUE(h.store->Has(SegmentKey("v", 1))) << "a pinned segment was deleted";
  EXPECT_EQ(summary().gc_rewritten_bytes, 0u) << "GC copied blocks of a segment the snapshot pins";

  ASSERT_OK(h.manager->DeleteSnapshot("v", "s"));
  run_pass();
  EXPECT_FALSE(h.store->Has(SegmentKey("v", 1))) << "nothing pins segment 1 any more";
  EXPECT_EQ(summary().gc_rewritten_bytes, 16u * 4096);  // its 16 live blocks
  EXPECT_EQ(summary().stored_bytes, StoreBytes(*h.store, VolumePrefix("v")));
  for (uint64_t b = 0; b < 64; ++b) {
    Bytes out;
    ASSERT_EQ(test::Read(*ref, b * 4096, 4096, &out), 0);
    ASSERT_EQ(out, Pattern(4096, (b < 48 ? 500 : 0) + static_cast<uint32_t>(b))) << b;
  }
}

// STORED counts snapshot records and the clone references a base holds, as they come and go.
TEST_F(Gc, StoredBytesFollowsSnapshotRecordsAndCloneReferences) {
  auto ref = h.Ref();
  WriteRun(*ref, 0, 32, 1);
  auto expect_exact = [&](const char* when) {
    EXPECT_EQ(Summary().stored_bytes, StoreBytes(*h.store, VolumePrefix("v"))) << when;
  };
  SnapshotSummary snap;
  ASSERT_OK(h.manager->CreateSnapshot("v", "s", &snap));
  expect_exact("after snapshot create");
  ASSERT_OK(h.manager->Clone("v", "s", "c"));
  expect_exact("after clone");
  ASSERT_OK(h.manager->Delete("c"));
  expect_exact("after clone delete");
  ASSERT_OK(h.manager->DeleteSnapshot("v", "s"));
  expect_exact("after snapshot delete");
}

// A clone reference whose clone does not exist (its creation died between the reference and
// the clone's metadata) is dropped when the base's owner opens it, so what it pinned can go;
// the reference of a real clone stays.
TEST(GcPins, AStrayCloneReferenceIsDroppedAtOpen) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  for (uint64_t b = 0; b < 16; ++b) {
    ASSERT_EQ(test::Write(*ref, b * 4096, Pattern(4096, static_cast<uint32_t>(b))), 0);
  }
  h.FlushSegment(*ref);
  SnapshotSummary snap;
  ASSERT_OK(h.manager->CreateSnapshot("v", "s", &snap));
  ASSERT_OK(h.manager->Clone("v", "s", "real"));
  VolumeMeta meta;
  const Bytes meta_object = h.store->Peek(MetaKey("v"));
  ASSERT_OK(DecodeVolumeMetaObject(meta_object.data(), meta_object.size(), &meta));
  CloneRef ghost;
  ghost.clone_uuid = RandomUuid();
  ghost.clone_name = "ghost";
  ghost.snapshot = "s";
  ghost.checkpoint_seq = snap.checkpoint_seq;
  ghost.through_seq = snap.through_seq;
  ASSERT_OK(PutCloneRef(*h.store, "v", meta.uuid, ghost, /*if_absent=*/true));
  const std::string ghost_key = CloneRefKey("v", UuidToHex(ghost.clone_uuid));
  ASSERT_TRUE(h.store->Has(ghost_key));
  ref.reset();
  ASSERT_OK(h.Restart());
  EXPECT_FALSE(h.store->Has(ghost_key)) << "the stray reference stayed";
  EXPECT_EQ(h.store->Keys(CloneRefPrefix("v")).size(), 1u) << "the real clone lost its reference";
  auto clone = h.Ref("real", true);
  Bytes out;
  ASSERT_EQ(test::Read(*clone, 3 * 4096, 4096, &out), 0);
  EXPECT_EQ(out, Pattern(4096, 3));
}

TEST_F(Gc, AFencedWriterStopsCollecting) {
  auto ref = h.Ref();
  WriteRun(*ref, 0, 64, 1);
  WriteRun(*ref, 0, 48, 2);
  // Another data dir takes the volume over and writes the next segment first.
  test::TestCodecFactory codecs2;
  EngineOptions other_options = test::SmallOptions();
  other_options.writer_id = "ffeeddccbbaa99887766554433221100";
  other_options.take_over = {"v"};
  VolumeManager other(h.store, &codecs2, other_options);
  ASSERT_OK(other.OpenAll());
  std::unique_ptr<VolumeRef> ref2;
  ASSERT_OK(other.OpenRef("v", false, &ref2));
  ASSERT_EQ(test::Write(*ref2, 100 * 4096, Pattern(4096, 3)), 0);
  ASSERT_EQ(test::Flush(*ref2), 0);
  // Our next segment collides: fenced, and from then on GC is refused and deletes nothing.
  ASSERT_EQ(test::Write(*ref, 200 * 4096, Pattern(4096, 4)), 0);
  EXPECT_EQ(test::Flush(*ref), EIO);
  const auto before = h.store->Keys(VolumePrefix("v"));
  std::vector<std::pair<std::string, uint64_t>> passes;
  const Status s = h.manager->RunGc("v", &passes);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("fenced"), std::string::npos) << s.ToString();
  EXPECT_TRUE(passes.empty());
  EXPECT_EQ(h.store->Keys(VolumePrefix("v")), before);
  ref2.reset();
  ASSERT_OK(other.Shutdown());
}

// ---- the deletion rule ----

VolumeState StateWith(std::vector<uint64_t> live) {
  VolumeState state;
  for (uint64_t seq : live) state.segments[seq] = SegmentInfo{};
  return state;
}

TEST(SegmentPinsTest, UnknownCheckpointDeletesNothing) {
  SegmentPins pins;
  ReclaimPass pass;
  EXPECT_EQ(pins.Plan(8, VolumeState{}, &pass), SegmentPins::Verdict::kUnknown);
}

TEST(SegmentPinsTest, KeepsCheckpointAndLiveMapSegments) {
  SegmentPins pins;
  pins.RecordCheckpoint(8, StateWith({3, 8}));
  ReclaimPass pass;
  ASSERT_EQ(pins.Plan(8, StateWith({5, 8, 9}), &pass), SegmentPins::Verdict::kReady);
  EXPECT_EQ(pass.reference_seq, 8u);
  // 9 lies above the reference anyway; 3 (checkpoint) and 5 (live map, as after a restore) stay.
  EXPECT_EQ(pass.keep, (std::vector<uint64_t>{3, 5, 8}));
}

TEST(SegmentPinsTest, WaitsForReadsPlannedBeforeTheCheckpoint) {
  SegmentPins pins;
  const uint64_t old_read = pins.BeginFetch();
  pins.RecordCheckpoint(8, StateWith({8}));
  const uint64_t new_read = pins.BeginFetch();
  ReclaimPass pass;
  EXPECT_EQ(pins.Plan(8, VolumeState{}, &pass), SegmentPins::Verdict::kWait);
  pins.EndFetch(old_read);
  EXPECT_EQ(pins.Plan(8, VolumeState{}, &pass), SegmentPins::Verdict::kReady);
  pins.EndFetch(new_read);
}

TEST(SegmentPinsTest, TheKeepPredicateSparesWhatSnapshotsNeed) {
  auto store = std::make_shared<MemoryStore>();
  for (uint64_t seq = 1; seq <= 6; ++seq) store->Poke(SegmentKey("v", seq), Bytes(10, 1));
  ReclaimPass pass{5, {4}};
  const ReclaimResult r =
      ReclaimDeadSegments(*store, "v", pass, [](uint64_t seq) { return seq == 2; });
  EXPECT_TRUE(r.complete);
  EXPECT_EQ(r.deleted, (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_EQ(Seqs(*store, SegmentPrefix("v")), (std::vector<uint64_t>{2, 4, 6}));
}

TEST(CollectorTest, PicksMostGarbageFirstAboveTheThreshold) {
  EngineOptions o;
  o.gc_min_dead_ratio = 0.5;
  GarbageCollector gc(o);
  VolumeState state;
  // Segments 1..3 hold 4 blocks each (one 16 KiB unit); the map keeps 1, 2 and 4 of them.
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    state.segments[seq].units.push_back(UnitLoc{0, 100, 16384, 0, 0});
  }
  state.map.Assign(0, 1, ExtentKind::kData, 1, 0);   // segment 1: 75% dead
  state.map.Assign(10, 2, ExtentKind::kData, 2, 0);  // segment 2: 50% dead
  state.map.Assign(20, 4, ExtentKind::kData, 3, 0);  // segment 3: all live
  EXPECT_EQ(gc.Candidates(state, 0), (std::vector<uint64_t>{1, 2}));
  // A segment something else keeps (a snapshot, a clone's base) is left alone.
  EXPECT_EQ(gc.Candidates(state, 0, UINT64_MAX, [](uint64_t seq) { return seq == 1; }),
            (std::vector<uint64_t>{2}));
  const auto runs = GarbageCollector::LiveRuns(state, {1, 2}, 2);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].lba, 0u);
  EXPECT_EQ(runs[1].lba, 10u);
  EXPECT_EQ(runs[1].blocks, 1u);  // cut at the batch limit
}

TEST(CollectorTest, WhileClientsOnlyReadCollectionGetsAQuarterOfTheRate) {
  EngineOptions o;
  o.gc_rate = 8 << 20;
  GarbageCollector gc(o);
  Clock::TimePoint t{std::chrono::seconds(100)};
  // Writing: the bucket starts with a second's worth of the full rate.
  gc.ClientWrote(4096);
  EXPECT_EQ(gc.Allowance(t, 0), 8u << 20);
  gc.BatchStarted(8 << 20);
  gc.BatchDone(8 << 20, 0);
  // Half a second later, still writing: half a second's worth.
  t += std::chrono::milliseconds(500);
  gc.ClientWrote(4096);
  EXPECT_EQ(gc.Allowance(t, 0), 4u << 20);
  gc.BatchStarted(4 << 20);
  gc.BatchDone(4 << 20, 0);
  // Reads only, for longer than kClientsIdle since the last write: the bucket fills at a
  // quarter of the rate and holds at most a quarter-second's worth of the full one.
  t += GarbageCollector::kClientsIdle + std::chrono::milliseconds(1000);
  EXPECT_EQ(gc.Allowance(t, 1), 2u << 20);
  gc.BatchStarted(2 << 20);
  gc.BatchDone(2 << 20, 0);
  t += std::chrono::milliseconds(500);
  EXPECT_EQ(gc.Allowance(t, 2), 1u << 20);
  // A write brings the full rate back.
  gc.ClientWrote(4096);
  t += std::chrono::milliseconds(500);
  EXPECT_EQ(gc.Allowance(t, 2), 5u << 20);  // 1 MiB left + half a second at 8 MiB/s
  // Nobody reads or writes: not paced.
  t += GarbageCollector::kClientsIdle;
  EXPECT_EQ(gc.Allowance(t, 2), UINT64_MAX);
}

}  // namespace
}  // namespace bp
