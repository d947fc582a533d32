// Units from scattered writes enter the decoded-unit cache when their segment becomes durable,
// so reading them back needs no backend read; full units from sequential writes do not (they
// are read and decoded on first use), and what the cache serves is the data that was written.
// A backend that reads locally (BP_BACKEND_CAP_LOCAL_READS) gets no such copies: its reads
// load and cache units on first use, with the same data.
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

}  // namespace
}  // namespace bp
