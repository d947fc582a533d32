// BlockIndex against std::unordered_map: random inserts, overwrites and erases (with enough
// entries to collide, wrap around the table and grow it), then every lookup and a full walk
// must agree; Clear empties it for reuse.
#include <gtest/gtest.h>

#include <random>
#include <unordered_map>

#include "engine/block_index.h"

namespace bp {
namespace {

TEST(BlockIndex, AgreesWithAReferenceMapUnderRandomOperations) {
  std::mt19937_64 rng(42);
  BlockIndex index;
  std::unordered_map<uint64_t, uint32_t> model;
  for (int round = 0; round < 3; ++round) {
    for (int op = 0; op < 200000; ++op) {
      // A small key space forces collisions, re-inserts and long probe chains.
      const uint64_t block = rng() % 50000;
      if (rng() % 3 == 0) {
        uint32_t value = 0;
        const bool erased = index.Erase(block, &value);
        auto it = model.find(block);
        ASSERT_EQ(erased, it != model.end()) << "block " << block;
        if (erased) {
          EXPECT_EQ(value, it->second);
          model.erase(it);
        }
      } else {
        bool inserted = false;
        uint32_t* slot = index.FindOrInsert(block, &inserted);
        ASSERT_EQ(inserted, model.count(block) == 0) << "block " << block;
        *slot = static_cast<uint32_t>(rng());
        model[block] = *slot;
      }
    }
    ASSERT_EQ(index.size(), model.size());
    for (uint64_t block = 0; block < 50000; ++block) {
      const uint32_t* found = index.Find(block);
      auto it = model.find(block);
      ASSERT_EQ(found != nullptr, it != model.end()) << "block " << block;
      if (found) {
        EXPECT_EQ(*found, it->second);
      }
    }
    size_t walked = 0;
    index.ForEach([&](uint64_t block, uint32_t value) {
      ++walked;
      auto it = model.find(block);
      ASSERT_NE(it, model.end());
      EXPECT_EQ(value, it->second);
    });
    EXPECT_EQ(walked, model.size());
    index.Clear();
    model.clear();
    EXPECT_TRUE(index.empty());
    EXPECT_EQ(index.Find(7), nullptr);
  }
}

TEST(BlockIndex, HugeBlockNumbersWork) {
  BlockIndex index;
  bool inserted = false;
  const uint64_t big = (1ull << 50) + 12345;
  *index.FindOrInsert(big, &inserted) = 9;
  EXPECT_TRUE(inserted);
  ASSERT_NE(index.Find(big), nullptr);
  EXPECT_EQ(*index.Find(big), 9u);
  EXPECT_EQ(index.Find(big + 1), nullptr);
}

}  // namespace
}  // namespace bp
