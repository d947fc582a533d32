// Segment images built into recycled memory: an image reused for the next segment (its storage
// left longer than the object, full of the previous segment's bytes) must produce exactly the
// object a fresh image produces, through the chain's one-codec, many-codec and no-codec paths.
// Units stored unchanged stay in the write buffer as kept parts of the image, and the object
// put from those parts reads back unit by unit.
#include <gtest/gtest.h>

#include "engine/segment_format.h"
#include "engine_test_util.h"
#include "support/memory_store.h"
#include "support/status_assert.h"
#include "util/crc32c.h"

namespace bp {
namespace {

using test::Pattern;

std::unique_ptr<CodecChain> XorChain(const Uuid& uuid, int codecs) {
  std::vector<std::unique_ptr<Codec>> list;
  for (int i = 0; i < codecs; ++i) list.push_back(std::make_unique<test::XorCodec>(0x21 + i));
  return std::make_unique<CodecChain>(uuid.data(), std::move(list));
}

// Blocks [first, first+count) and every `stride`-th block after 10000, with seed-dependent data.
void Fill(WriteBuffer* b, uint64_t first, uint64_t count, uint64_t scattered, uint32_t seed) {
  for (uint64_t lba = first; lba < first + count; ++lba) {
    Bytes p = Pattern(4096, static_cast<uint32_t>(lba) * 7 + seed);
    std::memcpy(b->PutBlock(lba), p.data(), 4096);
  }
  for (uint64_t i = 0; i < scattered; ++i) {
    Bytes p = Pattern(4096, static_cast<uint32_t>(i) + seed);
    std::memcpy(b->PutBlock(10000 + i * 37), p.data(), 4096);
  }
}

Bytes Object(const SegmentImage& image) {
  Bytes object;
  JoinParts(image.Parts(), &object);
  EXPECT_EQ(object.size(), image.size());
  return object;
}

TEST(SegmentReuse, RecycledImageBuildsTheSameObjectAsAFreshOne) {
  const Uuid uuid = RandomUuid();
  for (int codecs : {0, 1, 2}) {
    SCOPED_TRACE("codecs " + std::to_string(codecs));
    auto chain = XorChain(uuid, codecs);
    SegmentImage recycled;
    // A big segment first, so the recycled storage is longer than every later object and full of
    // stale bytes; then smaller and differently shaped ones.
    struct Shape {
      uint64_t first, count, scattered;
    };
    const Shape shapes[] = {{0, 600, 50}, {40, 3, 200}, {1000, 64, 0}, {5, 1, 1}, {0, 300, 300}};
    uint64_t seq = 1;
    for (const Shape& s : shapes) {
      WriteBuffer buffer;
      Fill(&buffer, s.first, s.count, s.scattered, static_cast<uint32_t>(seq));
      ASSERT_OK(EncodeSegmentImage(buffer, seq, uuid, *chain, 64u << 10, &recycled));
      SegmentImage fresh;
      ASSERT_OK(EncodeSegmentImage(buffer, seq, uuid, *chain, 64u << 10, &fresh));
      SegmentImage in_place;  // unchanged units left in the buffer: the same object
      ASSERT_OK(EncodeSegmentImage(buffer, seq, uuid, *chain, 64u << 10, &in_place, true));
      EXPECT_EQ(Object(in_place), Object(fresh)) << "segment " << seq;
      EXPECT_EQ(in_place.kept.empty(), codecs != 0)
          << "only the no-codec chain keeps XorCodec units";
      EXPECT_EQ(Object(recycled), Object(fresh)) << "segment " << seq;
      EXPECT_GE(recycled.storage.size(), recycled.end);
      ASSERT_EQ(recycled.meta.units.size(), fresh.meta.units.size());
      for (size_t u = 0; u < fresh.meta.units.size(); ++u) {
        EXPECT_EQ(recycled.meta.units[u].offset, fresh.meta.units[u].offset);
        EXPECT_EQ(recycled.meta.units[u].crc, fresh.meta.units[u].crc);
      }
      ++seq;
    }
  }
}

TEST(SegmentReuse, UnchangedUnitsStayInTheBufferAndReadBack) {
  // With no codec every unit is stored unchanged: a unit whose blocks lie back to back in the
  // buffer is a kept part (no copy), a unit gathered from scattered slots is copied, since the
  // gather scratch is reused for the next unit.
  const Uuid uuid = RandomUuid();
  auto chain = XorChain(uuid, 0);
  WriteBuffer buffer;
  Fill(&buffer, 0, 40, 3, 5);  // units 0..2 (16+16+8 blocks), scattered
  std::memcpy(buffer.PutBlock(7), Pattern(4096, 1).data(), 4096);  // an overwrite in place
  SegmentImage image;
  ASSERT_OK(EncodeSegmentImage(buffer, 9, uuid, *chain, 64u << 10, &image, true));
  EXPECT_EQ(image.kept.size(), image.meta.units.size());
  EXPECT_EQ(image.kept_bytes, 43u * 4096);
  EXPECT_LT(image.owned_size(), 4096u) << "only the header and the meta are the image's own";

  MemoryStore store;
  const std::string key = "seg/9";
  const ObjectParts parts = image.Parts();
  ASSERT_OK(store.PutParts(key, parts, true));
  Bytes stored;
  ASSERT_OK(store.Get(key, &stored));
  EXPECT_EQ(stored, Object(image));
  EXPECT_TRUE(PartsEqual(parts, stored.data(), stored.size()));
  stored.back() ^= 1;
  EXPECT_FALSE(PartsEqual(parts, stored.data(), stored.size()));

  SegmentMeta meta;
  uint64_t size = 0;
  ASSERT_OK(ReadSegmentMeta(store, key, 9, uuid, *chain, 1u << 20, image.size(), &meta, &size));
  EXPECT_EQ(size, image.size());
  auto blocks = buffer.SortedBlocks();
  for (uint32_t u = 0; u < meta.units.size(); ++u) {
    Bytes unit;
    ASSERT_OK(ReadUnit(store, key, 9, u, meta.units[u], *chain, &unit)) << "unit " << u;
    const UnitLoc& loc = meta.units[u];
    for (uint32_t k = 0; k < loc.logical_length / 4096; ++k) {
      EXPECT_EQ(std::memcmp(unit.data() + k * 4096, blocks[loc.first_block + k].second, 4096), 0)
          << "unit " << u << " block " << k;
    }
  }

  // Blocks whose CRCs the write path stored (large writes): the units are checksummed from those
  // and the object is the same, bit for bit, as one checksummed by reading every byte.
  WriteBuffer with_crcs;
  for (uint64_t lba = 0; lba < 40; ++lba) {
    uint32_t* crc = nullptr;
    uint8_t* block = with_crcs.PutBlock(lba, lba == 20 ? nullptr : &crc);  // one unknown
    std::memcpy(block, Pattern(4096, static_cast<uint32_t>(lba) * 7 + 5).data(), 4096);
    if (crc != nullptr) *crc = Crc32c(block, 4096);
  }
  WriteBuffer without_crcs;
  Fill(&without_crcs, 0, 40, 0, 5);
  SegmentImage from_crcs, from_bytes;
  ASSERT_OK(EncodeSegmentImage(with_crcs, 11, uuid, *chain, 64u << 10, &from_crcs, true));
  ASSERT_OK(EncodeSegmentImage(without_crcs, 11, uuid, *chain, 64u << 10, &from_bytes, true));
  EXPECT_EQ(Object(from_crcs), Object(from_bytes));
  ASSERT_EQ(from_crcs.meta.units.size(), 3u);
  for (size_t u = 0; u < 3; ++u)
    EXPECT_EQ(from_crcs.meta.units[u].crc, from_bytes.meta.units[u].crc);

  // Gathered units: slots recycled out of order leave a window's blocks apart in the buffer.
  WriteBuffer scattered;
  for (uint64_t lba : {3, 1, 2, 0}) {
    std::memcpy(scattered.PutBlock(lba * 2), Pattern(4096, static_cast<uint32_t>(lba)).data(),
                4096);
  }
  SegmentImage gathered;
  ASSERT_OK(EncodeSegmentImage(scattered, 10, uuid, *chain, 64u << 10, &gathered, true));
  EXPECT_TRUE(gathered.kept.empty());
  EXPECT_EQ(gathered.kept_bytes, 0u);
}

TEST(SegmentReuse, EncodeAtWritesPastLengthAndKeepsTheRoom) {
  const Uuid uuid = RandomUuid();
  for (int codecs : {0, 1, 2}) {
    SCOPED_TRACE("codecs " + std::to_string(codecs));
    auto chain = XorChain(uuid, codecs);
    const Bytes in = Pattern(8192, 99);
    const UnitId id{BP_UNIT_DATA, 3, 4, in.size()};
    Bytes expect;
    ASSERT_OK(chain->Encode(id, in.data(), in.size(), &expect));

    Bytes out(100000, 0xEE);  // stale room past the content
    size_t length = 10;
    ASSERT_OK(chain->EncodeAt(id, in.data(), in.size(), &out, &length));
    EXPECT_EQ(length, 10 + expect.size());
    EXPECT_EQ(out.size(), 100000u) << "the room is kept, not trimmed";
    EXPECT_EQ(Bytes(out.begin() + 10, out.begin() + static_cast<long>(length)), expect);
    EXPECT_EQ(out[0], 0xEE) << "content before the length is untouched";

    Bytes small(3, 0x01);  // room too short: the vector grows
    size_t small_length = 3;
    ASSERT_OK(chain->EncodeAt(id, in.data(), in.size(), &small, &small_length));
    EXPECT_EQ(small_length, 3 + expect.size());
    EXPECT_EQ(Bytes(small.begin() + 3, small.begin() + static_cast<long>(small_length)), expect);
  }
}

}  // namespace
}  // namespace bp
