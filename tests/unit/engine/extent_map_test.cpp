// ExtentMap: splitting, merging, live-block accounting, trims over many extents and huge
// sparse volumes, and random operations against a block-array model (small and large maps, so
// the chunks the map keeps its extents in split, merge and empty).
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <vector>

#include "engine/extent_map.h"

namespace bp {
namespace {

std::vector<MapPiece> Pieces(const ExtentMap& m, uint64_t lba, uint64_t blocks) {
  std::vector<MapPiece> out;
  m.Visit(lba, blocks, [&](const MapPiece& p) { out.push_back(p); });
  return out;
}

TEST(ExtentMap, AdjacentContinuingDataMerges) {
  ExtentMap m;
  m.Assign(10, 5, ExtentKind::kData, 1, 0);
  m.Assign(15, 5, ExtentKind::kData, 1, 5);  // continues seq 1 index 0..9
  EXPECT_EQ(m.extent_count(), 1u);
  m.Assign(20, 5, ExtentKind::kData, 1, 100);  // same seq, not continuing
  m.Assign(25, 5, ExtentKind::kData, 2, 30);   // other seq
  EXPECT_EQ(m.extent_count(), 3u);
  m.Assign(30, 2, ExtentKind::kZero);
  m.Assign(32, 2, ExtentKind::kZero);
  EXPECT_EQ(m.extent_count(), 4u);
  EXPECT_EQ(m.data_blocks(), 20u);
}

TEST(ExtentMap, OverwriteInTheMiddleSplitsAndKeepsIndexes) {
  ExtentMap m;
  m.Assign(0, 100, ExtentKind::kData, 1, 0);
  m.Assign(40, 10, ExtentKind::kData, 2, 7);
  auto p = Pieces(m, 0, 100);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].lba, 0u);
  EXPECT_EQ(p[0].blocks, 40u);
  EXPECT_EQ(p[1].seq, 2u);
  EXPECT_EQ(p[1].index, 7u);
  EXPECT_EQ(p[2].lba, 50u);
  EXPECT_EQ(p[2].seq, 1u);
  EXPECT_EQ(p[2].index, 50u);  // index advances with the split
  EXPECT_EQ(m.LiveBlocks(1), 90u);
  EXPECT_EQ(m.LiveBlocks(2), 10u);
  // Writing the original content back merges everything into one extent again.
  m.Assign(40, 10, ExtentKind::kData, 1, 40);
  EXPECT_EQ(m.extent_count(), 1u);
  EXPECT_EQ(m.LiveBlocks(2), 0u);
  auto emptied = m.TakeEmptiedSegments();
  ASSERT_EQ(emptied.size(), 1u);
  EXPECT_EQ(emptied[0], 2u);
}

// Replacing exactly one extent (the usual random overwrite) still merges with whichever
// neighbour the new extent continues, on either side alone.
TEST(ExtentMap, ExactOverwriteMergesWithOneNeighbour) {
  ExtentMap m;
  m.Assign(0, 4, ExtentKind::kData, 1, 0);
  m.Assign(4, 4, ExtentKind::kData, 2, 0);
  m.Assign(8, 4, ExtentKind::kData, 3, 0);
  m.Assign(4, 4, ExtentKind::kData, 1, 4);  // continues the left extent only
  EXPECT_EQ(m.extent_count(), 2u);
  EXPECT_EQ(m.Lookup(0, 12).blocks, 8u);
  m.Assign(4, 4, ExtentKind::kData, 3, 0);  // splits the merged extent; no neighbour continues
  EXPECT_EQ(m.extent_count(), 3u);
  m.Assign(4, 4, ExtentKind::kData, 4, 10);  // exact overwrite, no merge
  EXPECT_EQ(m.extent_count(), 3u);
  m.Assign(8, 4, ExtentKind::kData, 4, 14);  // exact overwrite continuing the left extent
  EXPECT_EQ(m.extent_count(), 2u);
  m.Assign(0, 4, ExtentKind::kData, 4, 6);  // exact overwrite continued by the right extent
  EXPECT_EQ(m.extent_count(), 1u);
  EXPECT_EQ(m.LiveBlocks(4), 12u);
  EXPECT_EQ(m.LiveBlocks(1) + m.LiveBlocks(2) + m.LiveBlocks(3), 0u);
  EXPECT_EQ(m.data_blocks(), 12u);
}

TEST(ExtentMap, EraseCutsEdgesAndReportsGaps) {
  ExtentMap m;
  m.Assign(0, 10, ExtentKind::kData, 1, 0);
  m.Assign(20, 10, ExtentKind::kZero);
  m.Erase(5, 20);
  auto p = Pieces(m, 0, 40);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_TRUE(p[0].mapped);
  EXPECT_EQ(p[0].blocks, 5u);
  EXPECT_FALSE(p[1].mapped);
  EXPECT_EQ(p[1].lba, 5u);
  EXPECT_EQ(p[1].blocks, 20u);
  EXPECT_TRUE(p[2].mapped);
  EXPECT_EQ(p[2].kind, ExtentKind::kZero);
  EXPECT_EQ(p[2].lba, 25u);
  EXPECT_EQ(p[2].blocks, 5u);
  EXPECT_FALSE(p[3].mapped);
  EXPECT_EQ(p[3].blocks, 10u);
  EXPECT_EQ(m.data_blocks(), 5u);
  MapPiece gap = m.Lookup(12, 100);
  EXPECT_FALSE(gap.mapped);
  EXPECT_EQ(gap.blocks, 13u);  // up to the zero extent at 25
}

TEST(ExtentMap, TrimOverManyExtentsIsProportionalToExtents) {
  ExtentMap m;
  constexpr uint64_t kCount = 200000;
  for (uint64_t i = 0; i < kCount; ++i) m.Assign(i * 2, 1, ExtentKind::kData, i % 7 + 1, i);
  EXPECT_EQ(m.extent_count(), kCount);
  m.Erase(1000, 2 * kCount);  // removes all but the first 500
  EXPECT_EQ(m.extent_count(), 500u);
  EXPECT_EQ(m.data_blocks(), 500u);
  m.Erase(0, ~0ull >> 8);  // a trim far longer than anything mapped
  EXPECT_TRUE(m.empty());
  EXPECT_EQ(m.data_blocks(), 0u);
  EXPECT_TRUE(m.live_blocks().empty());
}

TEST(ExtentMap, HugeSparseVolumeCostsNothingUntilWritten) {
  ExtentMap m;
  const uint64_t blocks = (1ull << 60) / 4096;  // 1 EiB
  m.Assign(blocks - 1, 1, ExtentKind::kData, 1, 0);
  m.Assign(blocks / 2, 3, ExtentKind::kZero);
  auto start = std::chrono::steady_clock::now();
  auto p = Pieces(m, 0, blocks);
  ASSERT_EQ(p.size(), 4u);
  EXPECT_FALSE(p[0].mapped);
  EXPECT_EQ(p[0].blocks, blocks / 2);
  EXPECT_EQ(p[3].lba, blocks - 1);
  m.Erase(0, blocks);  // whole-device discard
  EXPECT_TRUE(m.empty());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(50));
}

struct RandomCase {
  uint64_t blocks;   // volume size
  uint64_t max_run;  // longest single operation
  int ops;
  uint64_t seed;
};

class ExtentMapRandom : public ::testing::TestWithParam<RandomCase> {};

INSTANTIATE_TEST_SUITE_P(Sizes, ExtentMapRandom,
                         ::testing::Values(RandomCase{512, 40, 5000, 42},
                                           RandomCase{20000, 6, 60000, 43},
                                           RandomCase{20000, 3000, 20000, 44}));

TEST_P(ExtentMapRandom, RandomOperationsMatchABlockArray) {
  const RandomCase rc = GetParam();
  std::mt19937_64 rng(rc.seed);
  const uint64_t kBlocks = rc.blocks;
  struct Cell {
    int kind;
    uint64_t seq, index;
  };  // kind 0 = hole
  std::vector<Cell> model(kBlocks, Cell{0, 0, 0});
  ExtentMap m;
  for (int op = 0; op < rc.ops; ++op) {
    uint64_t lba = rng() % kBlocks;
    uint64_t n = 1 + rng() % std::min<uint64_t>(rc.max_run, kBlocks - lba);
    int what = static_cast<int>(rng() % 3);
    uint64_t seq = 1 + rng() % 3, index = rng() % 1000;
    if (what == 0) {
      m.Assign(lba, n, ExtentKind::kData, seq, index);
      for (uint64_t i = 0; i < n; ++i) model[lba + i] = Cell{1, seq, index + i};
    } else if (what == 1) {
      m.Assign(lba, n, ExtentKind::kZero);
      for (uint64_t i = 0; i < n; ++i) model[lba + i] = Cell{2, 0, 0};
    } else {
      m.Erase(lba, n);
      for (uint64_t i = 0; i < n; ++i) model[lba + i] = Cell{0, 0, 0};
    }
  }
  uint64_t data = 0;
  uint64_t pos = 0;
  uint64_t live_total = 0;
  for (const auto& [seq, live] : m.live_blocks()) live_total += live;
  EXPECT_EQ(live_total, m.data_blocks());
  m.Visit(0, kBlocks, [&](const MapPiece& p) {
    ASSERT_EQ(p.lba, pos);
    for (uint64_t i = 0; i < p.blocks; ++i) {
      const Cell& c = model[p.lba + i];
      if (!p.mapped) {
        ASSERT_EQ(c.kind, 0) << "block " << p.lba + i;
      } else if (p.kind == ExtentKind::kZero) {
        ASSERT_EQ(c.kind, 2) << "block " << p.lba + i;
      } else {
        ASSERT_EQ(c.kind, 1) << "block " << p.lba + i;
        ASSERT_EQ(c.seq, p.seq);
        ASSERT_EQ(c.index, p.index + i);
      }
    }
    pos += p.blocks;
  });
  for (const Cell& c : model) data += c.kind == 1;
  EXPECT_EQ(m.data_blocks(), data);
  // Neighbouring extents never continue each other (they would have been merged).
  const ExtentMap::Map& ext = m.extents();
  for (auto it = ext.begin(); it != ext.end() && std::next(it) != ext.end(); ++it) {
    auto nx = std::next(it);
    bool continues = it->first + it->second.blocks == nx->first &&
                     it->second.kind == nx->second.kind &&
                     (it->second.kind != ExtentKind::kData ||
                      (it->second.seq == nx->second.seq &&
                       it->second.index + it->second.blocks == nx->second.index));
    EXPECT_FALSE(continues) << "unmerged extents at " << it->first;
  }
}

// A one-block overwrite at every offset of a long DATA extent, and a two-block one straddling
// each boundary between two extents, against what the block array says.
TEST(ExtentMap, OverwriteAtEveryAlignment) {
  for (uint64_t at = 0; at < 300; ++at) {
    ExtentMap m;
    m.Assign(0, 300, ExtentKind::kData, 1, 1000);
    m.Assign(at, 1, ExtentKind::kData, 2, at);
    const uint64_t expect_extents = 1 + (at > 0) + (at < 299);
    ASSERT_EQ(m.extent_count(), expect_extents) << "at " << at;
    MapPiece p = m.Lookup(at, 1);
    ASSERT_TRUE(p.mapped);
    EXPECT_EQ(p.seq, 2u);
    if (at > 0) EXPECT_EQ(m.Lookup(at - 1, 1).index, 1000 + at - 1);
    if (at < 299) EXPECT_EQ(m.Lookup(at + 1, 1).index, 1000 + at + 1);
    EXPECT_EQ(m.LiveBlocks(1), 299u);
    // Writing the old contents back merges everything into one extent again.
    m.Assign(at, 1, ExtentKind::kData, 1, 1000 + at);
    ASSERT_EQ(m.extent_count(), 1u) << "at " << at;
    EXPECT_EQ(m.LiveBlocks(2), 0u);
    EXPECT_EQ(m.TakeEmptiedSegments(), std::vector<uint64_t>{2});
  }
  // Many small extents; a write straddling each boundary cuts both neighbours.
  for (uint64_t at = 1; at < 400; ++at) {
    ExtentMap m;
    for (uint64_t e = 0; e < 100; ++e) m.Assign(e * 4, 4, ExtentKind::kData, e + 1, 0);
    ASSERT_EQ(m.extent_count(), 100u);
    m.Assign(at, 2, ExtentKind::kZero);
    uint64_t covered = 0;
    m.Visit(0, 400, [&](const MapPiece& p) {
      ASSERT_TRUE(p.mapped);
      for (uint64_t b = p.lba; b < p.lba + p.blocks; ++b) {
        if (b >= at && b < at + 2) {
          ASSERT_EQ(p.kind, ExtentKind::kZero) << "block " << b;
        } else {
          ASSERT_EQ(p.kind, ExtentKind::kData) << "block " << b;
          ASSERT_EQ(p.seq, b / 4 + 1);
          ASSERT_EQ(p.index + (b - p.lba), b % 4);
        }
      }
      covered += p.blocks;
    });
    EXPECT_EQ(covered, 400u);
    EXPECT_EQ(m.data_blocks(), at + 2 <= 400 ? 398u : 400u - (400 - at));
  }
}

}  // namespace
}  // namespace bp
