// Units from scattered writes enter the decoded-unit cache when their segment becomes durable,
// so reading them back needs no backend read; full units from sequential writes do not (they
// are read and decoded on first use), and what the cache serves is the data that was written.
// A backend that reads locally (BP_BACKEND_CAP_LOCAL_READS) gets no such copies: its reads
// load and cache units on first use, with the same data. On both, blocks garbage collection
// moves out of a cached unit are cached in their new unit, and blocks it moves from the store
// are not.
#include <gtest/gtest.h>

#include "engine_test_util.h"
#include "support/status_assert.h"
#include "util/metrics.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;

int64_t Misses() { return Metrics::Global().Value("unit_cache_misses_total"); }

// Reads back the two scattered blocks both tests write (5 and 1001, each alone in its unit)
// and checks their contents.
void ReadBackScatteredBlocks(VolumeRef& ref) {
  Bytes out;
  ASSERT_EQ(test::Read(ref, 5 * 4096, 4096, &out), 0);
  EXPECT_EQ(out, Pattern(4096, 5));
  ASSERT_EQ(test::Read(ref, 1001 * 4096, 4096, &out), 0);
  EXPECT_EQ(out, Pattern(4096, 1001));
}

TEST(WriteCache, ScatteredUnitsAreCachedWhenDurableFullUnitsAreNot) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  // SmallOptions: 16 KiB units, so blocks 5 and 1001 are each alone in their window, while
  // blocks 64..67 fill one whole unit.
  ASSERT_EQ(test::Write(*ref, 5 * 4096, Pattern(4096, 5)), 0);
  ASSERT_EQ(test::Write(*ref, 1001 * 4096, Pattern(4096, 1001)), 0);
  ASSERT_EQ(test::Write(*ref, 64 * 4096, Pattern(4 * 4096, 64)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);

  const int64_t before = Misses();
  ReadBackScatteredBlocks(*ref);
  EXPECT_EQ(Misses(), before) << "scattered units should have been cached at upload";
  Bytes out;

  ASSERT_EQ(test::Read(*ref, 64 * 4096, 4 * 4096, &out), 0);
  EXPECT_EQ(out, Pattern(4 * 4096, 64));
  EXPECT_EQ(Misses(), before + 1) << "a full unit is read from the store on first use";

  // After a restart nothing is cached: the same reads go to the store and return the same data.
  ref.reset();
  ASSERT_OK(h.Restart());
  ref = h.Ref();
  ASSERT_EQ(test::Read(*ref, 5 * 4096, 4096, &out), 0);
  EXPECT_EQ(out, Pattern(4096, 5));
  EXPECT_EQ(Misses(), before + 2);
}

TEST(WriteCache, LocalReadsBackendsGetNoCopiesOfWrittenUnits) {
  Harness h;
  h.store->SetLocalReads(true);
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 5 * 4096, Pattern(4096, 5)), 0);
  ASSERT_EQ(test::Write(*ref, 1001 * 4096, Pattern(4096, 1001)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);

  const int64_t before = Misses();
  ReadBackScatteredBlocks(*ref);
  EXPECT_EQ(Misses(), before + 2) << "each unit is loaded from the store on first use";
  Bytes out;
  ASSERT_EQ(test::Read(*ref, 5 * 4096, 4096, &out), 0);
  EXPECT_EQ(out, Pattern(4096, 5));
  EXPECT_EQ(Misses(), before + 2) << "and cached from then on";
}

// On either kind of store: there the full units GC writes are not cached as scattered ones.
void ExpectMovedBlocksStayCached(bool local_reads) {
  Harness h;
  h.store->SetLocalReads(local_reads);
  h.options.checkpoint_every_segments = 1000;  // checkpoints only when GC forces them
  h.options.read_ahead_max = 0;  // reading 48.. twice would look like a stream to prefetch
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  // Segment 1: blocks 0..63 (sixteen 16 KiB units); segment 2 overwrites 0..47, which leaves
  // segment 1 three quarters dead with blocks 48..63 live.
  ASSERT_EQ(test::Write(*ref, 0, Pattern(64 * 4096, 1)), 0);
  h.FlushSegment(*ref);
  ASSERT_EQ(test::Write(*ref, 0, Pattern(48 * 4096, 2)), 0);
  h.FlushSegment(*ref);
  const Bytes old = Pattern(64 * 4096, 1);
  const Bytes warm(old.begin() + 48 * 4096, old.begin() + 56 * 4096);
  const Bytes cold(old.begin() + 56 * 4096, old.end());
  Bytes out;
  ASSERT_EQ(test::Read(*ref, 48 * 4096, 8 * 4096, &out), 0);  // caches two units
  EXPECT_EQ(out, warm);

  std::vector<std::pair<std::string, uint64_t>> passes;
  ASSERT_OK(h.manager->RunGc("v", &passes));
  ASSERT_EQ(passes.size(), 1u);
  auto summary = [&] {
    for (const auto& v : h.manager->List()) {
      if (v.name == "v") return v;
    }
    return VolumeSummary{};
  };
  ASSERT_TRUE(test::WaitFor([&] { return summary().gc_passes_done >= passes[0].second; }, 10000));
  ASSERT_EQ(summary().gc_rewritten_bytes, 16u * 4096);  // blocks 48..63 moved

  const int64_t before = Misses();
  ASSERT_EQ(test::Read(*ref, 48 * 4096, 8 * 4096, &out), 0);
  EXPECT_EQ(out, warm);
  EXPECT_EQ(Misses(), before) << "blocks read before they moved should still be cached";
  ASSERT_EQ(test::Read(*ref, 56 * 4096, 8 * 4096, &out), 0);
  EXPECT_EQ(out, cold);
  EXPECT_EQ(Misses(), before + 2) << "blocks nobody read are not cached by moving them";
}

TEST(WriteCache, BlocksMovedFromCachedUnitsStayCachedOnALocalStore) {
  ExpectMovedBlocksStayCached(true);
}

TEST(WriteCache, BlocksMovedFromCachedUnitsStayCachedOnARemoteStore) {
  ExpectMovedBlocksStayCached(false);
}

}  // namespace
}  // namespace bp
