// DiskCache: entries round-trip and survive a reopen, every hit is verified (a flipped byte, a
// stale identity after a segment number was written again, a refilled region all read as
// misses and drop the entry), eviction keeps the files within the size, and entries of deleted
// segments and volumes go.
#include "cache/disk_cache.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "support/status_assert.h"
#include "util/crc32c.h"

namespace bp {
namespace {

class DiskCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/disk-cache-test.XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<DiskCache> Open(uint64_t size = DiskCache::kMinSize) {
    std::unique_ptr<DiskCache> cache;
    EXPECT_OK(DiskCache::Open(dir_, size, &cache));
    return cache;
  }

  static DiskCacheKey Key(uint64_t seq, uint32_t unit, uint8_t volume = 1) {
    DiskCacheKey k;
    k.volume.fill(volume);
    k.seq = seq;
    k.unit = unit;
    return k;
  }
  // Stored bytes of a unit and the identity the segment meta would give them.
  static Bytes Data(uint64_t seed, size_t length) {
    Bytes b(length);
    std::mt19937_64 rng(seed);
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    return b;
  }
  static UnitIdentity Id(const Bytes& b, uint64_t offset = 4096, uint64_t object_size = 1 << 20) {
    return UnitIdentity{object_size, offset, static_cast<uint32_t>(b.size()),
                        static_cast<uint32_t>(b.size()), Crc32c(b.data(), b.size())};
  }

  std::string dir_;
};

TEST_F(DiskCacheTest, InsertedUnitsReadBackAndSurviveReopen) {
  const Bytes a = Data(1, 65536), b = Data(2, 4096);
  {
    auto cache = Open();
    Bytes out;
    EXPECT_FALSE(cache->Lookup(Key(1, 0), Id(a), &out));
    cache->Insert(Key(1, 0), Id(a), a.data(), a.size());
    cache->Insert(Key(1, 1), Id(b), b.data(), b.size());
    cache->Drain();
    ASSERT_TRUE(cache->Lookup(Key(1, 0), Id(a), &out));
    EXPECT_EQ(out, a);
    EXPECT_EQ(cache->Stats().entries, 2u);
    EXPECT_EQ(cache->Stats().hits, 1u);
    EXPECT_EQ(cache->Stats().misses, 1u);
  }
  auto cache = Open();
  Bytes out;
  ASSERT_TRUE(cache->Lookup(Key(1, 1), Id(b), &out));
  EXPECT_EQ(out, b);
  ASSERT_TRUE(cache->Lookup(Key(1, 0), Id(a), &out));
  EXPECT_EQ(out, a);
  // Another volume's unit with the same seq and index is another entry.
  EXPECT_FALSE(cache->Lookup(Key(1, 0, 2), Id(a), &out));
}

TEST_F(DiskCacheTest, FlippedByteIsAMissAndTheEntryIsDropped) {
  const Bytes a = Data(3, 8192);
  {
    auto cache = Open();
    cache->Insert(Key(5, 2), Id(a), a.data(), a.size());
    cache->Drain();
  }
  // Flip one payload byte in the data file (the only record, at the start of a region).
  std::fstream f(dir_ + "/units.dat", std::ios::in | std::ios::out | std::ios::binary);
  bool flipped = false;
  for (std::streamoff at = 0; at < std::streamoff(DiskCache::kMinSize) && !flipped;
       at += std::streamoff(DiskCache::kRegionSize)) {
    f.seekg(at);
    char magic[4] = {};
    f.read(magic, 4);
    if (std::string(magic, 4) != "BPDC") continue;
    f.seekg(at + 56 + 100);
    char c = 0;
    f.read(&c, 1);
    c ^= 0x10;
    f.seekp(at + 56 + 100);
    f.write(&c, 1);
    flipped = true;
  }
  f.close();
  ASSERT_TRUE(flipped);
  auto cache = Open();
  Bytes out;
  EXPECT_FALSE(cache->Lookup(Key(5, 2), Id(a), &out));
  EXPECT_EQ(cache->Stats().dropped, 1u);
  cache->Drain();
  EXPECT_EQ(cache->Stats().entries, 0u);
  // Filled again from the store, it is a hit again.
  cache->Insert(Key(5, 2), Id(a), a.data(), a.size());
  cache->Drain();
  ASSERT_TRUE(cache->Lookup(Key(5, 2), Id(a), &out));
  EXPECT_EQ(out, a);
}

TEST_F(DiskCacheTest, RewrittenSegmentNumberNeverReturnsTheOldBytes) {
  // After a crash the next writer may write segment 7 again with other bytes. The reader's
  // segment meta then gives the unit another identity: the old entry must not be served.
  auto cache = Open();
  const Bytes before = Data(4, 4096), after = Data(5, 4096);
  cache->Insert(Key(7, 0), Id(before), before.data(), before.size());
  cache->Drain();
  Bytes out;
  EXPECT_FALSE(cache->Lookup(Key(7, 0), Id(after), &out));
  // Same bytes at another place in a same-sized object: still another identity.
  EXPECT_FALSE(cache->Lookup(Key(7, 0), Id(before, 8192), &out));
  cache->Drain();
  EXPECT_EQ(cache->Stats().entries, 0u);
  cache->Insert(Key(7, 0), Id(after), after.data(), after.size());
  cache->Drain();
  ASSERT_TRUE(cache->Lookup(Key(7, 0), Id(after), &out));
  EXPECT_EQ(out, after);
  // An identity that matches but a checksum that does not (the meta says other bytes).
  UnitIdentity wrong = Id(after);
  wrong.crc ^= 1;
  EXPECT_FALSE(cache->Lookup(Key(7, 0), wrong, &out));
}

TEST_F(DiskCacheTest, EvictsLeastRecentlyUsedRegionsAndStaysWithinItsSize) {
  const uint64_t size = DiskCache::kMinSize;
  auto cache = Open(size);
  // Three times the cache's size in 64 KiB units; unit 0 is read often and must survive.
  const Bytes hot = Data(100, 65536);
  cache->Insert(Key(1, 0), Id(hot), hot.data(), hot.size());
  cache->Drain();
  const uint64_t units = 3 * size / 65536;
  for (uint64_t i = 1; i <= units; ++i) {
    const Bytes b = Data(i, 65536);
    cache->Insert(Key(2, static_cast<uint32_t>(i)), Id(b), b.data(), b.size());
    if (i % 32 == 0) {
      cache->Drain();
      Bytes out;
      ASSERT_TRUE(cache->Lookup(Key(1, 0), Id(hot), &out)) << "hot unit evicted at " << i;
    }
  }
  cache->Drain();
  Bytes out;
  EXPECT_TRUE(cache->Lookup(Key(1, 0), Id(hot), &out));
  // The oldest cold units are gone, the newest are there. (Eviction is by region: the cold
  // units that share the hot unit's region, the first 62, stay with it.)
  const Bytes early = Data(80, 65536), last = Data(units, 65536);
  EXPECT_FALSE(cache->Lookup(Key(2, 80), Id(early), &out));
  EXPECT_TRUE(cache->Lookup(Key(2, static_cast<uint32_t>(units)), Id(last), &out));
  uint64_t on_disk = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir_)) {
    struct stat st;
    ASSERT_EQ(::stat(e.path().c_str(), &st), 0);
    on_disk += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  EXPECT_LE(on_disk, size) << "cache files use more than the configured size";
  const DiskCacheStats s = cache->Stats();
  EXPECT_LE(s.data_bytes + s.index_bytes, size);
  EXPECT_LT(s.entries, units);
}

TEST_F(DiskCacheTest, EntriesOfDeletedSegmentsAndVolumesGo) {
  auto cache = Open();
  std::vector<Bytes> data;
  for (uint32_t i = 0; i < 6; ++i) {
    data.push_back(Data(i, 4096));
    cache->Insert(Key(i + 1, 0), Id(data[i]), data[i].data(), 4096);
    cache->Insert(Key(i + 1, 0, 9), Id(data[i]), data[i].data(), 4096);
  }
  cache->Drain();
  EXPECT_EQ(cache->Stats().entries, 12u);
  cache->EraseSegments(Key(0, 0).volume, {1, 2});
  cache->RetainSegments(Key(0, 0).volume, {3, 5, 6, 40});  // 4 is not live any more
  cache->Drain();
  Bytes out;
  EXPECT_FALSE(cache->Lookup(Key(1, 0), Id(data[0]), &out));
  EXPECT_FALSE(cache->Lookup(Key(2, 0), Id(data[1]), &out));
  EXPECT_TRUE(cache->Lookup(Key(3, 0), Id(data[2]), &out));
  EXPECT_FALSE(cache->Lookup(Key(4, 0), Id(data[3]), &out));
  EXPECT_TRUE(cache->Lookup(Key(6, 0), Id(data[5]), &out));
  // The other volume kept everything until it is deleted.
  EXPECT_TRUE(cache->Lookup(Key(1, 0, 9), Id(data[0]), &out));
  cache->EraseVolume(Key(0, 0, 9).volume);
  cache->Drain();
  EXPECT_FALSE(cache->Lookup(Key(1, 0, 9), Id(data[0]), &out));
  EXPECT_EQ(cache->Stats().entries, 3u);
}

TEST_F(DiskCacheTest, SmallerSizeDropsRegionsPastTheEndAndSmallSizesAreRefused) {
  {
    auto cache = Open(2 * DiskCache::kMinSize);
    for (uint32_t i = 0; i < 1800; ++i) {
      const Bytes b = Data(i, 65536);
      cache->Insert(Key(1, i), Id(b), b.data(), b.size());
      if (i % 100 == 0) cache->Drain();
    }
    cache->Drain();
  }
  auto cache = Open(DiskCache::kMinSize);
  ASSERT_NE(cache, nullptr);
  EXPECT_LE(std::filesystem::file_size(dir_ + "/units.dat"), DiskCache::kMinSize);
  // Whatever is still indexed reads back correctly.
  uint32_t hits = 0;
  for (uint32_t i = 0; i < 1800; ++i) {
    const Bytes b = Data(i, 65536);
    Bytes out;
    if (cache->Lookup(Key(1, i), Id(b), &out)) {
      ++hits;
      ASSERT_EQ(out, b);
    }
  }
  EXPECT_GT(hits, 0u);
  std::unique_ptr<DiskCache> tiny;
  EXPECT_FALSE(DiskCache::Open(dir_ + "/tiny", 1 << 20, &tiny).ok());
}

TEST_F(DiskCacheTest, DamagedIndexStartsEmpty) {
  const Bytes a = Data(9, 4096);
  {
    auto cache = Open();
    cache->Insert(Key(1, 0), Id(a), a.data(), a.size());
    cache->Drain();
  }
  std::filesystem::remove(dir_ + "/index.db-wal");
  std::filesystem::remove(dir_ + "/index.db-shm");
  {
    std::ofstream f(dir_ + "/index.db", std::ios::trunc | std::ios::binary);
    f << "this is not an sqlite database, not even close to one........................";
  }
  auto cache = Open();
  ASSERT_NE(cache, nullptr);
  Bytes out;
  EXPECT_FALSE(cache->Lookup(Key(1, 0), Id(a), &out));
  cache->Insert(Key(1, 0), Id(a), a.data(), a.size());
  cache->Drain();
  EXPECT_TRUE(cache->Lookup(Key(1, 0), Id(a), &out));
}

TEST_F(DiskCacheTest, OneDaemonPerDirectory) {
  auto first = Open();
  std::unique_ptr<DiskCache> second;
  Status s = DiskCache::Open(dir_, DiskCache::kMinSize, &second);
  EXPECT_TRUE(s.IsPrecondition()) << s.ToString();
  first.reset();
  EXPECT_OK(DiskCache::Open(dir_, DiskCache::kMinSize, &second));
}

}  // namespace
}  // namespace bp
