// UnitCache: LRU bound, coalescing of concurrent misses, failures not cached, recycling of
// evicted buffers within the budget.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>
#include <vector>

#include "cache/unit_cache.h"
#include "support/status_assert.h"

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
    ASSERT_OK(cache.GetOrLoad(
        Key(1, i), [&](Bytes* b) { return LoadBytes(b, 1000, i); }, &d));
  }
  ASSERT_NE(cache.Lookup(Key(1, 0)), nullptr);  // 0 becomes most recent
  ASSERT_OK(cache.GetOrLoad(
      Key(1, 3), [&](Bytes* b) { return LoadBytes(b, 1000, 3); }, &d));
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
      Status s = cache.GetOrLoad(
          Key(5, 5),
          [&](Bytes* b) {
            loads++;
            std::this_thread::sleep_for(std::chrono::milliseconds(50));
            return LoadBytes(b, 4096, 0xAB);
          },
          &d);
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
  Status s = cache.GetOrLoad(
      Key(1, 1), [](Bytes*) { return Status::Corrupt("bad unit"); }, &d);
  EXPECT_TRUE(s.IsCorrupt());
  EXPECT_EQ(d, nullptr);
  EXPECT_FALSE(cache.ContainsOrLoading(Key(1, 1)));
  ASSERT_OK(cache.GetOrLoad(
      Key(1, 1), [](Bytes* b) { return LoadBytes(b, 10, 1); }, &d));
  EXPECT_TRUE(cache.ContainsOrLoading(Key(1, 1)));
}

TEST(UnitCache, ZeroBudgetStillServesLoads) {
  UnitCache cache(0);
  UnitData d;
  ASSERT_OK(cache.GetOrLoad(
      Key(1, 1), [](Bytes* b) { return LoadBytes(b, 10, 1); }, &d));
  EXPECT_EQ(d->size(), 10u);
  EXPECT_EQ(cache.Lookup(Key(1, 1)), nullptr);
}

std::vector<std::pair<UnitKey, UnitData>> Units(
    uint64_t seq, const std::vector<std::shared_ptr<Bytes>>& buffers) {
  std::vector<std::pair<UnitKey, UnitData>> units;
  for (size_t i = 0; i < buffers.size(); ++i) units.emplace_back(Key(seq, i), buffers[i]);
  return units;
}

TEST(UnitCache, EvictedUnsharedBuffersAreHandedOutAgain) {
  // Room for 16 units of 4 KiB; spares may take 1/16 of the budget: one buffer.
  const uint64_t capacity = 16 * (4096 + 128);
  UnitCache cache(capacity);
  std::vector<std::shared_ptr<Bytes>> buffers;
  cache.TakeBuffers(std::vector<size_t>(16, 4096), &buffers);
  ASSERT_EQ(buffers.size(), 16u);
  for (auto& b : buffers) ASSERT_EQ(b->size(), 4096u);
  const Bytes* first = buffers[0].get();
  auto units = Units(1, buffers);
  buffers.clear();
  cache.InsertMany(&units);
  EXPECT_EQ(cache.spare_bytes(), 0u);

  // One more unit evicts the oldest, unit (1, 0), whose buffer nobody holds: it becomes spare.
  UnitData held = cache.Lookup(Key(1, 1));  // a reader holds unit (1, 1)
  ASSERT_NE(held, nullptr);
  cache.TakeBuffers({4096}, &buffers);
  auto more = Units(2, buffers);
  cache.InsertMany(&more);
  EXPECT_EQ(cache.Lookup(Key(1, 0)), nullptr);
  EXPECT_EQ(cache.spare_bytes(), 4096u);
  EXPECT_LE(cache.used_bytes(), cache.capacity()) << "spares count against the budget";

  cache.TakeBuffers({4096, 8192}, &buffers);
  EXPECT_EQ(buffers[0].get(), first) << "the evicted unit's buffer is reused";
  EXPECT_EQ(buffers[1]->size(), 8192u);
  EXPECT_EQ(cache.spare_bytes(), 0u);
  EXPECT_EQ(buffers[0].use_count(), 1);
}

TEST(UnitCache, BuffersStillReadAreNeverRecycled) {
  const uint64_t capacity = 16 * (4096 + 128);
  UnitCache cache(capacity);
  std::vector<std::shared_ptr<Bytes>> buffers;
  cache.TakeBuffers(std::vector<size_t>(16, 4096), &buffers);
  auto units = Units(1, buffers);
  buffers.clear();
  cache.InsertMany(&units);
  UnitData held = cache.Lookup(Key(1, 0));  // the oldest is now the most recent...
  for (uint64_t i = 1; i < 16; ++i) ASSERT_NE(cache.Lookup(Key(1, i)), nullptr);  // ...not any more
  cache.TakeBuffers({4096}, &buffers);
  auto more = Units(2, buffers);
  cache.InsertMany(&more);
  EXPECT_EQ(cache.Lookup(Key(1, 0)), nullptr) << "evicted";
  EXPECT_EQ(cache.spare_bytes(), 0u) << "a reader still holds it";
  cache.TakeBuffers({4096}, &buffers);
  EXPECT_NE(buffers[0].get(), held.get());
}

TEST(UnitCache, SpareBuffersServeLoadsOfTheirSizeOnly) {
  // A read miss decodes into the buffer of an evicted unit (TakeSpare); a size without a spare
  // gets nothing, so the loader allocates what it decodes.
  const uint64_t capacity = 16 * (4096 + 128);
  UnitCache cache(capacity);
  EXPECT_EQ(cache.TakeSpare(4096), nullptr) << "nothing evicted yet";
  std::vector<std::shared_ptr<Bytes>> buffers;
  cache.TakeBuffers(std::vector<size_t>(17, 4096), &buffers);
  const Bytes* oldest = buffers[0].get();
  auto units = Units(1, buffers);
  buffers.clear();
  cache.InsertMany(&units);  // the 17th evicts the first, whose buffer becomes spare
  ASSERT_EQ(cache.spare_bytes(), 4096u);
  const uint64_t used = cache.used_bytes();

  EXPECT_EQ(cache.TakeSpare(8192), nullptr) << "no spare of that size";
  EXPECT_EQ(cache.TakeSpare(4096 + 1), nullptr) << "not a whole number of blocks";
  EXPECT_EQ(cache.TakeSpare(1u << 20), nullptr) << "too large to be recycled";
  std::shared_ptr<Bytes> spare = cache.TakeSpare(4096);
  ASSERT_NE(spare, nullptr);
  EXPECT_EQ(spare.get(), oldest);
  EXPECT_EQ(spare->size(), 4096u);
  EXPECT_EQ(spare.use_count(), 1);
  EXPECT_EQ(cache.spare_bytes(), 0u);
  EXPECT_EQ(cache.used_bytes(), used - 4096) << "with the caller until inserted again";
  EXPECT_EQ(cache.TakeSpare(4096), nullptr);

  // Loaded into it and finished as a claim: cached again under its new key.
  UnitData none;
  ASSERT_EQ(cache.TryClaim(Key(9, 0), &none), UnitCache::Claim::kClaimed);
  std::fill(spare->begin(), spare->end(), uint8_t{0x77});
  cache.Finish(Key(9, 0), Status::Ok(), spare);
  UnitData back = cache.Lookup(Key(9, 0));
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(back.get(), oldest);
  EXPECT_EQ((*back)[4095], 0x77);
  EXPECT_LE(cache.used_bytes(), cache.capacity());
}

TEST(UnitCache, SteadyStreamStaysWithinBudget) {
  const uint64_t capacity = 64 * (4096 + 128);
  UnitCache cache(capacity);
  std::vector<std::shared_ptr<Bytes>> buffers;
  for (uint64_t seq = 1; seq <= 50; ++seq) {
    std::vector<size_t> sizes;
    for (size_t i = 0; i < 20; ++i) sizes.push_back(4096 * (1 + (seq + i) % 3));
    cache.TakeBuffers(sizes, &buffers);
    for (size_t i = 0; i < buffers.size(); ++i) {
      ASSERT_EQ(buffers[i]->size(), sizes[i]);
      ASSERT_EQ(buffers[i].use_count(), 1);
      std::fill(buffers[i]->begin(), buffers[i]->end(), static_cast<uint8_t>(seq + i));
    }
    auto units = Units(seq, buffers);
    buffers.clear();
    cache.InsertMany(&units);
    EXPECT_LE(cache.used_bytes(), cache.capacity());
  }
  // The newest units kept their own contents: a recycled buffer was never shared.
  for (size_t i = 0; i < 20; ++i) {
    UnitData d = cache.Lookup(Key(50, i));
    ASSERT_NE(d, nullptr);
    EXPECT_EQ((*d)[0], static_cast<uint8_t>(50 + i));
    EXPECT_EQ(d->back(), static_cast<uint8_t>(50 + i));
  }
  cache.EraseVolume(Key(1, 0).volume);
  EXPECT_EQ(cache.used_bytes(), cache.spare_bytes());
}

TEST(UnitCacheTest, ClaimedUnitsLoadOnceAndFailedOnesAreNotCached) {
  UnitCache cache(1 << 20);
  UnitData hit;
  ASSERT_EQ(cache.TryClaim(Key(1, 0), &hit), UnitCache::Claim::kClaimed);
  EXPECT_EQ(cache.TryClaim(Key(1, 0), &hit), UnitCache::Claim::kLoading);
  EXPECT_TRUE(cache.ContainsOrLoading(Key(1, 0)));
  // A waiter in GetOrLoad gets the claimer's result without loading itself.
  std::atomic<int> loads{0};
  UnitData waited;
  std::thread waiter([&] {
    EXPECT_OK(cache.GetOrLoad(
        Key(1, 0),
        [&](Bytes*) {
          ++loads;
          return Status::Ok();
        },
        &waited));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  cache.Finish(Key(1, 0), Status::Ok(), std::make_shared<const Bytes>(4096, 7));
  waiter.join();
  EXPECT_EQ(loads.load(), 0);
  ASSERT_NE(waited, nullptr);
  EXPECT_EQ((*waited)[0], 7);
  EXPECT_EQ(cache.TryClaim(Key(1, 0), &hit), UnitCache::Claim::kCached);
  EXPECT_EQ(hit, waited);

  ASSERT_EQ(cache.TryClaim(Key(2, 0), &hit), UnitCache::Claim::kClaimed);
  cache.Finish(Key(2, 0), Status::Corrupt("bad unit"), nullptr);
  EXPECT_FALSE(cache.ContainsOrLoading(Key(2, 0)));
  EXPECT_EQ(cache.TryClaim(Key(2, 0), &hit), UnitCache::Claim::kClaimed);
  cache.Finish(Key(2, 0), Status::Ok(), std::make_shared<const Bytes>(4096, 1));
  EXPECT_NE(cache.Lookup(Key(2, 0)), nullptr);
}

}  // namespace
}  // namespace bp
