// UnitCache: LRU bound, coalescing of concurrent misses, failures not cached.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cache/unit_cache.h"

namespace bp {
namespace {

UnitKey Key(uint64_t seq, uint64_t index, uint8_t volume = 1) {
  UnitKey k;
  k.volume[0] = volume;
  k.seq = seq;
  k.index = index;
  return k;
}

Status LoadBytes(Bytes* out, size_t n, uint8_t fill) {
  out->assign(n, fill);
  return Status::Ok();
}

TEST(UnitCache, EvictsLeastRecentlyUsedWithinBudget) {
  UnitCache cache(3 * (1000 + 128));
  UnitData d;
  for (uint64_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(cache.GetOrLoad(Key(1, i), [&](Bytes* b) { return LoadBytes(b, 1000, i); }, &d).ok());
  }
  ASSERT_NE(cache.Lookup(Key(1, 0)), nullptr);  // 0 becomes most recent
  ASSERT_TRUE(cache.GetOrLoad(Key(1, 3), [&](Bytes* b) { return LoadBytes(b, 1000, 3); }, &d).ok());
  EXPECT_EQ(cache.Lookup(Key(1, 1)), nullptr);  // the least recent went
  EXPECT_NE(cache.Lookup(Key(1, 0)), nullptr);
  EXPECT_NE(cache.Lookup(Key(1, 3)), nullptr);
  EXPECT_LE(cache.used_bytes(), cache.capacity());
  // Keys of another volume never collide.
  EXPECT_EQ(cache.Lookup(Key(1, 0, 2)), nullptr);
  cache.EraseVolume(Key(1, 0).volume);
  EXPECT_EQ(cache.Lookup(Key(1, 0)), nullptr);
  EXPECT_EQ(cache.used_bytes(), 0u);
}

TEST(UnitCache, ConcurrentMissesLoadOnce) {
  UnitCache cache(1 << 20);
  std::atomic<int> loads{0};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      UnitData d;
      Status s = cache.GetOrLoad(Key(5, 5), [&](Bytes* b) {
        loads++;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        return LoadBytes(b, 4096, 0xAB);
      }, &d);
      if (s.ok() && d && d->size() == 4096 && (*d)[0] == 0xAB) ok++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads.load(), 1);
  EXPECT_EQ(ok.load(), 8);
}

TEST(UnitCache, FailedLoadsAreReportedAndNotCached) {
  UnitCache cache(1 << 20);
  UnitData d;
  Status s = cache.GetOrLoad(Key(1, 1), [](Bytes*) { return Status::Corrupt("bad unit"); }, &d);
  EXPECT_TRUE(s.IsCorrupt());
  EXPECT_EQ(d, nullptr);
  EXPECT_FALSE(cache.ContainsOrLoading(Key(1, 1)));
  ASSERT_TRUE(cache.GetOrLoad(Key(1, 1), [](Bytes* b) { return LoadBytes(b, 10, 1); }, &d).ok());
  EXPECT_TRUE(cache.ContainsOrLoading(Key(1, 1)));
}

TEST(UnitCache, ZeroBudgetStillServesLoads) {
  UnitCache cache(0);
  UnitData d;
  ASSERT_TRUE(cache.GetOrLoad(Key(1, 1), [](Bytes* b) { return LoadBytes(b, 10, 1); }, &d).ok());
  EXPECT_EQ(d->size(), 10u);
  EXPECT_EQ(cache.Lookup(Key(1, 1)), nullptr);
}

}  // namespace
}  // namespace bp
