// Randomized model test: random writes (aligned and not), trims, zeroes, flushes, FUA writes,
// clean restarts and crashes against a reference byte array. After a crash the volume must
// hold at least everything flushed; since the test flushes before each crash, it must equal
// the model exactly.
#include <gtest/gtest.h>

#include <random>

#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Harness;

void RunModel(uint64_t seed, bool tiny_cache) {
  Harness h;
  h.options.segment_size = 64u << 10;
  h.options.unit_size = 8u << 10;
  h.options.checkpoint_every_segments = 3;
  if (tiny_cache) h.options.cache_memory = 0;
  h.Start();
  constexpr uint64_t kSize = 2u << 20;
  ASSERT_OK(h.manager->Create("v", kSize));
  auto ref = h.Ref();
  Bytes model(kSize, 0);
  std::mt19937_64 rng(seed);
  auto pick_range = [&](uint64_t max_len, uint64_t* off, uint64_t* len) {
    bool aligned = rng() % 2;
    *len = 1 + rng() % max_len;
    *off = rng() % (kSize - *len);
    if (aligned) {
      *off &= ~4095ull;
      *len = ((*len + 4095) & ~4095ull);
      if (*off + *len > kSize) *len = kSize - *off;
    }
  };
  for (int step = 0; step < 400; ++step) {
    uint64_t off, len;
    int op = static_cast<int>(rng() % 100);
    if (op < 45) {
      pick_range(40000, &off, &len);
      Bytes data =
          (rng() % 8 == 0) ? Bytes(len, 0) : test::Pattern(len, static_cast<uint32_t>(rng()));
      uint32_t flags = rng() % 10 == 0 ? BP_IO_FLAG_FUA : 0;
      ASSERT_EQ(test::Write(*ref, off, data, flags), 0) << "step " << step;
      std::copy(data.begin(), data.end(), model.begin() + off);
    } else if (op < 55) {
      pick_range(100000, &off, &len);
      uint32_t which = static_cast<uint32_t>(rng() % 3);
      uint32_t io_op = which == 0 ? BP_IO_OP_TRIM : BP_IO_OP_WRITE_ZEROES;
      uint32_t flags = which == 2 ? BP_IO_FLAG_NO_HOLE : 0;
      ASSERT_EQ(test::DoIo(*ref, io_op, off, len, nullptr, flags), 0) << "step " << step;
      std::fill(model.begin() + off, model.begin() + off + len, 0);
    } else if (op < 85) {
      pick_range(60000, &off, &len);
      Bytes out;
      ASSERT_EQ(test::Read(*ref, off, len, &out), 0) << "step " << step;
      ASSERT_TRUE(std::equal(out.begin(), out.end(), model.begin() + off))
          << "step " << step << " read " << off << "+" << len;
    } else if (op < 95) {
      ASSERT_EQ(test::Flush(*ref), 0);
    } else if (op < 98) {
      ref.reset();
      ASSERT_OK(h.Restart()) << "step " << step;
      ref = h.Ref();
    } else {
      ASSERT_EQ(test::Flush(*ref), 0);
      ref.reset();
      ASSERT_OK(h.Crash()) << "step " << step;
      ref = h.Ref();
    }
  }
  Bytes all;
  ASSERT_EQ(test::Read(*ref, 0, kSize, &all), 0);
  EXPECT_TRUE(all == model);
  ref.reset();
  ASSERT_OK(h.Restart());
  ref = h.Ref();
  ASSERT_EQ(test::Read(*ref, 0, kSize, &all), 0);
  EXPECT_TRUE(all == model);
}

TEST(Model, RandomOperationsMatchReference) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(seed);
    RunModel(seed, false);
  }
}

TEST(Model, RandomOperationsMatchReferenceWithoutCache) { RunModel(77, true); }

TEST(Model, UnflushedWritesAreWholeUnitsOrAbsentAfterCrash) {
  // Crash without a final flush: each 8 KiB write (one unit, aligned) is all old or all new.
  Harness h;
  h.options.segment_size = 32u << 10;
  h.options.unit_size = 8u << 10;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  for (int i = 0; i < 64; ++i) {
    ASSERT_EQ(test::Write(*ref, (i % 16) * 8192ull, test::Pattern(8192, i)), 0);
  }
  ref.reset();
  ASSERT_OK(h.Crash());
  ref = h.Ref();
  for (int slot = 0; slot < 16; ++slot) {
    Bytes out;
    ASSERT_EQ(test::Read(*ref, slot * 8192ull, 8192, &out), 0);
    bool known = out == Bytes(8192, 0);
    for (int i = slot; i < 64 && !known; i += 16) known = out == test::Pattern(8192, i);
    EXPECT_TRUE(known) << "slot " << slot << " holds torn data";
  }
}

}  // namespace
}  // namespace bp
