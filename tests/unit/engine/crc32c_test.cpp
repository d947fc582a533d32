// CRC-32C: known vectors, hardware and table implementations agree, and extension works.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "engine_test_util.h"
#include "util/crc32c.h"

namespace bp {
namespace {

TEST(Crc32c, KnownVectors) {
  EXPECT_EQ(Crc32c("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32cPortable("123456789", 9), 0xE3069283u);
  EXPECT_EQ(Crc32c("", 0), 0u);
  uint8_t zeros[32] = {};
  EXPECT_EQ(Crc32c(zeros, sizeof(zeros)), 0x8A9136AAu);  // RFC 3720 B.4
  uint8_t ones[32];
  std::memset(ones, 0xFF, sizeof(ones));
  EXPECT_EQ(Crc32c(ones, sizeof(ones)), 0x62A8AB43u);
}

TEST(Crc32c, HardwareMatchesPortableAtEveryLengthAndAlignment) {
  Bytes data = test::Pattern(4096 + 64, 7);
  for (size_t offset = 0; offset < 9; ++offset) {
    for (size_t n : {0u, 1u, 3u, 7u, 8u, 9u, 15u, 63u, 64u, 65u, 1000u, 4096u}) {
      ASSERT_EQ(Crc32c(data.data() + offset, n), Crc32cPortable(data.data() + offset, n))
          << "offset " << offset << " length " << n;
    }
  }
}

TEST(Crc32c, LongInputsMatchPortable) {
  // Lengths around the three-lane chunking of the hardware path (3 KiB chunks).
  Bytes data = test::Pattern((64u << 10) + 8192, 11);
  for (size_t offset : {0u, 1u, 5u}) {
    for (size_t n : {3071u, 3072u, 3073u, 6144u, 9216u + 7u, 16384u, 65536u, 65536u + 4095u}) {
      ASSERT_EQ(Crc32c(data.data() + offset, n), Crc32cPortable(data.data() + offset, n))
          << "offset " << offset << " length " << n;
    }
  }
  // Extending a long checksum across a piece boundary inside a chunk.
  const uint32_t whole = Crc32c(data.data(), 50000);
  EXPECT_EQ(Crc32c(data.data() + 12345, 50000 - 12345, Crc32c(data.data(), 12345)), whole);
}

// Every implementation the CPU has, against the table, around the folding path's 256-byte steps
// and the lanes' 3 KiB chunks, with a carried-in register.
TEST(Crc32c, EveryPathMatchesPortable) {
  Bytes data = test::Pattern((64u << 10) + 8192, 13);
  for (Crc32cPath path : {Crc32cPath::kLanes, Crc32cPath::kFolding}) {
    if (!Crc32cHas(path)) continue;
    for (size_t offset : {0u, 3u, 64u}) {
      for (size_t n : {0u, 1u, 255u, 256u, 257u, 511u, 512u, 1000u, 3072u, 4096u, 4097u,
                       16384u + 100u, 65536u}) {
        for (uint32_t seed : {0u, 0x1234ABCDu}) {
          ASSERT_EQ(Crc32cVia(path, data.data() + offset, n, seed),
                    Crc32cPortable(data.data() + offset, n, seed))
              << "path " << static_cast<int>(path) << " offset " << offset << " length " << n;
        }
      }
    }
  }
}

TEST(Crc32c, CopyChecksumsWhatItCopies) {
  const Bytes data = test::Pattern(8192 + 64, 17);
  for (size_t offset : {0u, 1u, 64u}) {
    for (size_t n : {0u, 5u, 255u, 256u, 300u, 4096u, 8192u}) {
      Bytes copy(n + 2, 0xEE);
      const uint32_t crc = Crc32cCopy(copy.data() + 1, data.data() + offset, n, 0x77u);
      EXPECT_EQ(crc, Crc32cPortable(data.data() + offset, n, 0x77u)) << offset << " " << n;
      EXPECT_TRUE(std::equal(data.begin() + static_cast<long>(offset),
                             data.begin() + static_cast<long>(offset + n), copy.begin() + 1))
          << offset << " " << n;
      EXPECT_EQ(copy.front(), 0xEE);
      EXPECT_EQ(copy.back(), 0xEE) << "nothing written past the copy";
    }
  }
}

TEST(Crc32c, ExtendsAcrossPieces) {
  Bytes data = test::Pattern(1000, 3);
  uint32_t whole = Crc32c(data.data(), data.size());
  uint32_t part = Crc32c(data.data(), 333);
  EXPECT_EQ(Crc32c(data.data() + 333, data.size() - 333, part), whole);
  EXPECT_EQ(Crc32cPortable(data.data() + 333, data.size() - 333, Crc32cPortable(data.data(), 333)),
            whole);
}

TEST(Crc32c, AppendsBlocksFromTheirOwnChecksums) {
  // Prefixes of every length class (empty, short, unaligned, several blocks) followed by blocks
  // given only as their CRCs: the same as checksumming the concatenation.
  const Bytes blocks = test::Pattern(3 * 4096, 7);
  for (size_t prefix : {0, 1, 5, 4095, 4096, 10000}) {
    const Bytes head = test::Pattern(prefix, static_cast<uint32_t>(prefix) + 1);
    Bytes all = head;
    all.insert(all.end(), blocks.begin(), blocks.end());
    uint32_t crc = Crc32c(head.data(), head.size());
    for (size_t b = 0; b < 3; ++b)
      crc = Crc32cAppendBlock(crc, Crc32c(blocks.data() + b * 4096, 4096));
    EXPECT_EQ(crc, Crc32c(all.data(), all.size())) << "prefix " << prefix;
  }
}

}  // namespace
}  // namespace bp
