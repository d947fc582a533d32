// The disk cache under a volume: a restarted manager reads what it wrote from the disk cache,
// not the store, and a segment number written again with other bytes (after a crash lost the
// first object) is never served from the stale entry.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>

#include "engine/object_format.h"
#include "engine_test_util.h"
#include "support/status_assert.h"
#include "util/metrics.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;

class DiskCacheVolume : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/disk-cache-volume.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void WithDiskCache(Harness* h) {
    h->options.disk_cache_dir = dir_;
    h->options.disk_cache_size = 64u << 20;
    // Read-ahead would load neighbours too; these tests count single units.
    h->options.read_ahead_max = 0;
  }
  static int64_t Metric(const char* name) { return Metrics::Global().Value(name); }
  std::string dir_;
};

TEST_F(DiskCacheVolume, RestartedManagerReadsFromTheDiskCache) {
  Harness h;
  WithDiskCache(&h);
  ASSERT_OK(h.StartAndOpen());
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  const Bytes data = Pattern(256u << 10, 7);
  {
    auto ref = h.Ref();
    ASSERT_EQ(test::Write(*ref, 0, data), 0);
    ASSERT_EQ(test::Flush(*ref), 0);
  }
  ASSERT_OK(h.Restart());  // drains the cache's queue at shutdown
  const int64_t hits = Metric("disk_cache_hits_total");
  const int64_t store_reads = Metric("unit_ranged_reads_total");
  auto ref = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*ref, 0, data.size(), &out), 0);
  EXPECT_EQ(out, data);
  EXPECT_EQ(Metric("unit_ranged_reads_total"), store_reads) << "read from the store, not the cache";
  EXPECT_EQ(Metric("disk_cache_hits_total") - hits, 16);  // 256 KiB of 16 KiB units
}

TEST_F(DiskCacheVolume, RewrittenSegmentNumberIsNotServedFromTheCache) {
  const Bytes first = Pattern(64u << 10, 1), second = Pattern(64u << 10, 2);
  // This daemon writes segment 1 and caches its units.
  Harness a;
  WithDiskCache(&a);
  ASSERT_OK(a.StartAndOpen());
  ASSERT_OK(a.manager->Create("v", 16u << 20));
  {
    auto ref = a.Ref();
    ASSERT_EQ(test::Write(*ref, 0, first), 0);
    ASSERT_EQ(test::Flush(*ref), 0);
  }
  // It crashes; the object of segment 1 is lost with it (as a segment past a gap would be).
  auto survivor = std::make_shared<MemoryStore>();
  for (const auto& k : a.store->Keys()) {
    if (k != SegmentKey("v", 1)) survivor->Poke(k, a.store->Peek(k));
  }
  ASSERT_OK(a.manager->Shutdown());
  a.manager.reset();
  // Another daemon (no disk cache) opens the volume and writes segment 1 again, other bytes.
  Harness b;
  b.store = survivor;
  ASSERT_OK(b.StartAndOpen());
  {
    auto ref = b.Ref();
    Bytes out;
    ASSERT_EQ(test::Read(*ref, 0, first.size(), &out), 0);
    ASSERT_EQ(out, Bytes(first.size(), 0));  // segment 1 is gone
    ASSERT_EQ(test::Write(*ref, 0, second), 0);
    ASSERT_EQ(test::Flush(*ref), 0);
  }
  ASSERT_OK(b.manager->Shutdown());
  b.manager.reset();
  ASSERT_TRUE(survivor->Has(SegmentKey("v", 1)));
  // The first daemon comes back with its disk cache: segment 1 is live again, but with other
  // units; the stale entry must miss and the unit come from the store.
  Harness c;
  WithDiskCache(&c);
  c.store = survivor;
  ASSERT_OK(c.StartAndOpen());
  const int64_t store_reads = Metric("unit_ranged_reads_total");
  const int64_t dropped = Metric("disk_cache_dropped_total");
  auto ref = c.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*ref, 0, second.size(), &out), 0);
  EXPECT_EQ(out, second);
  EXPECT_GT(Metric("unit_ranged_reads_total"), store_reads);
  EXPECT_GT(Metric("disk_cache_dropped_total"), dropped) << "the stale entry was not seen";
}

}  // namespace
}  // namespace bp
