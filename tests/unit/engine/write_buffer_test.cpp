// WriteBuffer::SortedBlocks, which sealing builds every segment from: blocks come out sorted by
// number and paired with their own data and CRC whatever order they were written in, after
// ranges dropped some of them (their slots are then handed out again to other blocks), and
// after Reset, when a shorter buffer reuses slots whose old blocks must not come back. The
// buffer lists its blocks in slot order and sorts only when that order is not already sorted,
// so each of those cases is compared with a plain model here.
#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "engine/write_buffer.h"
#include "util/crc32c.h"

namespace bp {
namespace {

// Fill block lba with a pattern of (lba, generation) and, for even generations, its CRC.
void Put(WriteBuffer* buffer, uint64_t lba, uint32_t generation,
         std::map<uint64_t, uint32_t>* model) {
  uint32_t* crc = nullptr;
  uint8_t* block = buffer->PutBlock(lba, generation % 2 == 0 ? &crc : nullptr);
  for (size_t i = 0; i < 4096; i += 8) {
    const uint64_t v = lba * 0x9E3779B97F4A7C15ull + generation * 31 + i;
    std::memcpy(block + i, &v, 8);
  }
  if (crc != nullptr) *crc = Crc32c(block, 4096);
  (*model)[lba] = generation;
}

void ExpectMatches(const WriteBuffer& buffer, const std::map<uint64_t, uint32_t>& model) {
  std::vector<const uint32_t*> crcs;
  const auto blocks = buffer.SortedBlocks(&crcs);
  ASSERT_EQ(blocks.size(), model.size());
  ASSERT_EQ(crcs.size(), model.size());
  size_t i = 0;
  for (const auto& [lba, generation] : model) {
    ASSERT_EQ(blocks[i].first, lba) << "position " << i;
    uint64_t first;
    std::memcpy(&first, blocks[i].second, 8);
    EXPECT_EQ(first, lba * 0x9E3779B97F4A7C15ull + generation * 31) << "block " << lba;
    if (generation % 2 == 0) {
      ASSERT_NE(crcs[i], nullptr) << "block " << lba;
      EXPECT_EQ(*crcs[i], Crc32c(blocks[i].second, 4096)) << "block " << lba;
    } else {
      EXPECT_EQ(crcs[i], nullptr) << "block " << lba;
    }
    ++i;
  }
}

TEST(WriteBufferSortedBlocks, SequentialWritesComeOutInOrder) {
  WriteBuffer buffer;
  std::map<uint64_t, uint32_t> model;
  for (uint64_t lba = 1000; lba < 1000 + 300; ++lba) Put(&buffer, lba, 0, &model);
  ExpectMatches(buffer, model);
}

TEST(WriteBufferSortedBlocks, ScatteredAndRepeatedWritesAreSorted) {
  WriteBuffer buffer;
  std::map<uint64_t, uint32_t> model;
  std::mt19937_64 rng(7);
  for (uint32_t i = 0; i < 2000; ++i) Put(&buffer, rng() % 700, i, &model);  // many overwrites
  for (uint64_t lba = 900; lba > 800; --lba) Put(&buffer, lba, 3, &model);   // descending
  ExpectMatches(buffer, model);
}

TEST(WriteBufferSortedBlocks, SlotsFreedByRangesAreReusedByOtherBlocks) {
  WriteBuffer buffer;
  std::map<uint64_t, uint32_t> model;
  for (uint64_t lba = 0; lba < 200; ++lba) Put(&buffer, lba, 0, &model);
  // A trim in the middle drops 50 blocks; their slots go to blocks written later, lower and
  // higher than the survivors, so slot order is no longer block order.
  buffer.SetRange(60, 50, ExtentKind::kHole);
  for (uint64_t lba = 60; lba < 110; ++lba) model.erase(lba);
  ExpectMatches(buffer, model);
  for (uint64_t lba = 5000; lba < 5030; ++lba) Put(&buffer, lba, 2, &model);
  for (uint64_t lba = 70; lba < 80; ++lba) Put(&buffer, lba, 1, &model);
  ExpectMatches(buffer, model);
  // A range larger than the buffer takes the other path of SetRange.
  buffer.SetRange(0, 100000, ExtentKind::kZero);
  model.clear();
  ExpectMatches(buffer, model);
  Put(&buffer, 42, 4, &model);
  ExpectMatches(buffer, model);
}

TEST(WriteBufferSortedBlocks, ResetForgetsEveryBlockOfTheLastBuffer) {
  WriteBuffer buffer;
  std::map<uint64_t, uint32_t> model;
  for (uint64_t lba = 0; lba < 500; ++lba) Put(&buffer, lba * 3, 0, &model);
  ExpectMatches(buffer, model);
  buffer.Reset();
  model.clear();
  EXPECT_TRUE(buffer.SortedBlocks().empty());
  // Fewer blocks than before, in reverse: the old slots past them must stay forgotten.
  for (uint64_t lba = 40; lba-- > 0;) Put(&buffer, lba + 10000, 1, &model);
  ExpectMatches(buffer, model);
  buffer.Reset();
  model.clear();
  for (uint64_t lba = 0; lba < 64; ++lba) Put(&buffer, lba, 2, &model);
  ExpectMatches(buffer, model);
}

}  // namespace
}  // namespace bp
