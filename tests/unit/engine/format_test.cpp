// On-object format: headers, volume metadata, segments (build, read back, corruption) and
// checkpoints, plus the codec chain they are encoded with.
#include <gtest/gtest.h>

#include "engine/checkpoint_format.h"
#include "engine/segment_format.h"
#include "engine/volume_meta.h"
#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Pattern;

std::unique_ptr<CodecChain> XorChain(const Uuid& uuid, int codecs = 1) {
  std::vector<std::unique_ptr<Codec>> list;
  for (int i = 0; i < codecs; ++i) list.push_back(std::make_unique<test::XorCodec>(0x11 + i));
  return std::make_unique<CodecChain>(uuid.data(), std::move(list));
}

TEST(CodecChain, EmptyChainIsIdentityAndChainsRoundTrip) {
  Uuid uuid = RandomUuid();
  CodecChain empty(uuid.data(), {});
  EXPECT_EQ(empty.Describe(), "(none)");
  Bytes in = Pattern(1000, 1), out, back;
  ASSERT_OK(empty.Encode(UnitId{}, in.data(), in.size(), &out));
  EXPECT_EQ(out, in);
  for (int n : {1, 2, 3}) {
    auto chain = XorChain(uuid, n);
    UnitId id{BP_UNIT_DATA, 5, 2, in.size()};
    ASSERT_OK(chain->Encode(id, in.data(), in.size(), &out));
    EXPECT_EQ(out.size(), in.size() + 8u * n);
    ASSERT_OK(chain->Decode(id, out.data(), out.size(), &back));
    EXPECT_EQ(back, in);
    // The unit identity is bound: decoding as another unit fails closed.
    UnitId other = id;
    other.unit_index = 3;
    Status s = chain->Decode(other, out.data(), out.size(), &back);
    EXPECT_TRUE(s.IsCorrupt()) << s.ToString();
  }
  EXPECT_EQ(XorChain(uuid, 2)->Describe(), "xor > xor");
}

TEST(ObjectHeader, RoundTripAndEveryByteIsChecked) {
  ObjectHeader h;
  h.type = ObjectType::kSegment;
  h.uuid = RandomUuid();
  h.seq = 0x123456789;
  h.body_length = 100;
  h.body_logical_length = 200;
  h.data_length = 300;
  h.body_crc = 0xdeadbeef;
  Bytes b;
  EncodeObjectHeader(h, &b);
  ASSERT_EQ(b.size(), kObjectHeaderLength);
  EXPECT_EQ(std::string(b.begin(), b.begin() + 4), "BPSG");
  ObjectHeader back;
  ASSERT_OK(DecodeObjectHeader(b.data(), b.size(), ObjectType::kSegment, &back));
  EXPECT_EQ(back.seq, h.seq);
  EXPECT_EQ(back.uuid, h.uuid);
  EXPECT_EQ(back.object_length(), kObjectHeaderLength + 400u);  // logical length is not stored
  EXPECT_TRUE(DecodeObjectHeader(b.data(), b.size(), ObjectType::kCheckpoint, &back).IsCorrupt());
  for (size_t i = 8; i < b.size(); ++i) {
    Bytes bad = b;
    bad[i] ^= 0x01;
    EXPECT_FALSE(DecodeObjectHeader(bad.data(), bad.size(), ObjectType::kSegment, &back).ok())
        << "byte " << i;
  }
  ObjectHeader newer = h;
  newer.version = 2;
  Bytes future;
  EncodeObjectHeader(newer, &future);
  Status s = DecodeObjectHeader(future.data(), future.size(), ObjectType::kSegment, &back);
  EXPECT_EQ(s.code(), Status::Code::kUnsupported);
  EXPECT_FALSE(DecodeObjectHeader(b.data(), 40, ObjectType::kSegment, &back).ok());
}

TEST(ObjectKeys, SeqKeysSortAndParse) {
  EXPECT_EQ(SegmentKey("vol", 0x1f), "volumes/vol/seg/000000000000001f");
  uint64_t seq = 0;
  EXPECT_TRUE(ParseSeqKey(CheckpointKey("v", 42), CheckpointPrefix("v"), &seq));
  EXPECT_EQ(seq, 42u);
  EXPECT_FALSE(ParseSeqKey("volumes/v/ckpt/00000000000000zz", CheckpointPrefix("v"), &seq));
  EXPECT_FALSE(ParseSeqKey("volumes/v/ckpt/1", CheckpointPrefix("v"), &seq));
  EXPECT_LT(SegmentKey("v", 9), SegmentKey("v", 10));
}

TEST(VolumeMeta, RoundTripAndCorruption) {
  VolumeMeta m;
  m.uuid = RandomUuid();
  m.name = "data-01";
  m.size = 1ull << 40;
  m.unit_size = 64u << 10;
  m.created_unix_ms = 1700000000000ull;
  m.codecs = {{"zstd", Bytes{3}}, {"encrypt", Pattern(48, 9)}};
  Bytes obj = EncodeVolumeMetaObject(m);
  EXPECT_EQ(std::string(obj.begin(), obj.begin() + 4), "BPVM");
  VolumeMeta back;
  ASSERT_OK(DecodeVolumeMetaObject(obj.data(), obj.size(), &back));
  EXPECT_EQ(back.name, m.name);
  EXPECT_EQ(back.size, m.size);
  EXPECT_EQ(back.uuid, m.uuid);
  ASSERT_EQ(back.codecs.size(), 2u);
  EXPECT_EQ(back.codecs[1].name, "encrypt");
  EXPECT_EQ(back.codecs[1].header, m.codecs[1].header);
  for (size_t i : {size_t{kObjectHeaderLength} + 2, obj.size() - 3}) {
    Bytes bad = obj;
    bad[i] ^= 0x40;
    EXPECT_TRUE(DecodeVolumeMetaObject(bad.data(), bad.size(), &back).IsCorrupt());
  }
  Bytes cut(obj.begin(), obj.end() - 1);
  EXPECT_FALSE(DecodeVolumeMetaObject(cut.data(), cut.size(), &back).ok());
}

// A buffer with a long run, scattered blocks, a zero range and a hole.
void FillBuffer(WriteBuffer* b) {
  for (uint64_t lba = 100; lba < 140; ++lba) {  // 40 blocks: longer than a 16-block unit
    Bytes p = Pattern(4096, static_cast<uint32_t>(lba));
    std::memcpy(b->PutBlock(lba), p.data(), 4096);
  }
  for (uint64_t lba : {3, 7, 8, 9, 500, 1000}) {
    Bytes p = Pattern(4096, static_cast<uint32_t>(lba));
    std::memcpy(b->PutBlock(lba), p.data(), 4096);
  }
  b->SetRange(200, 50, ExtentKind::kZero);
  b->SetRange(5000, 1000000, ExtentKind::kHole);
}

TEST(Segment, BuildReadBackAndReadUnits) {
  Uuid uuid = RandomUuid();
  auto chain = XorChain(uuid);
  WriteBuffer buffer;
  FillBuffer(&buffer);
  BuiltSegment built;
  ASSERT_OK(BuildSegment(buffer, 7, uuid, *chain, 16u << 10, &built));
  EXPECT_EQ(std::string(built.object.begin(), built.object.begin() + 4), "BPSG");

  MemoryStore store;
  const std::string key = SegmentKey("v", 7);
  store.Poke(key, built.object);
  SegmentMeta meta;
  uint64_t size = 0;
  const uint64_t volume_blocks = 1u << 22;
  ASSERT_OK(ReadSegmentMeta(store, key, 7, uuid, *chain, volume_blocks, built.object.size(), &meta,
                            &size));
  EXPECT_EQ(size, built.object.size());
  ASSERT_EQ(meta.units.size(), built.meta.units.size());
  EXPECT_EQ(meta.total_blocks(), 46u);
  // One unit per 4-block window: {3}, {7}, {8,9}, the 40-block run from 100 fills ten windows,
  // {500}, {1000}.
  EXPECT_EQ(meta.units.size(), 15u);
  EXPECT_EQ(meta.units[0].logical_length, 4096u);
  EXPECT_EQ(meta.units[2].logical_length, 2 * 4096u);
  EXPECT_EQ(meta.units[3].logical_length, 4 * 4096u);
  for (size_t i = 0; i < meta.units.size(); ++i) {
    EXPECT_EQ(meta.units[i].offset, built.meta.units[i].offset);
    EXPECT_LE(meta.units[i].logical_length, 16u << 10);
  }
  // The records describe exactly the buffer.
  VolumeState state;
  state.ApplySegment(meta, size);
  EXPECT_EQ(state.map.data_blocks(), 46u);
  EXPECT_EQ(state.map.Lookup(210, 1).kind, ExtentKind::kZero);
  EXPECT_FALSE(state.map.Lookup(6000, 1).mapped);
  // Every block reads back through its unit.
  for (uint64_t lba : {3ull, 8ull, 100ull, 117ull, 139ull, 1000ull}) {
    MapPiece p = state.map.Lookup(lba, 1);
    ASSERT_TRUE(p.mapped);
    uint32_t unit_index = 0;
    const UnitLoc* loc = state.FindUnit(7, p.index, &unit_index);
    ASSERT_NE(loc, nullptr);
    Bytes unit;
    ASSERT_OK(ReadUnit(store, key, 7, unit_index, *loc, *chain, &unit));
    Bytes expect = Pattern(4096, static_cast<uint32_t>(lba));
    EXPECT_EQ(0,
              std::memcmp(unit.data() + (p.index - loc->first_block) * 4096, expect.data(), 4096))
        << "block " << lba;
  }
}

TEST(Segment, FlippedByteOrTruncationIsCorrupt) {
  Uuid uuid = RandomUuid();
  auto chain = XorChain(uuid);
  WriteBuffer buffer;
  FillBuffer(&buffer);
  BuiltSegment built;
  ASSERT_OK(BuildSegment(buffer, 3, uuid, *chain, 16u << 10, &built));
  const std::string key = SegmentKey("v", 3);
  SegmentMeta meta;
  uint64_t size;
  const uint64_t data_start = built.meta.units[0].offset;
  // Any byte of the header or the meta.
  for (uint64_t at : {uint64_t{5}, uint64_t{30}, uint64_t{kObjectHeaderLength}, data_start - 1}) {
    MemoryStore store;
    Bytes bad = built.object;
    bad[at] ^= 0x80;
    store.Poke(key, bad);
    Status s = ReadSegmentMeta(store, key, 3, uuid, *chain, 1u << 22, bad.size(), &meta, &size);
    EXPECT_TRUE(s.IsCorrupt()) << "byte " << at << ": " << s.ToString();
  }
  // A unit byte: the front still reads, the unit fails its checksum.
  {
    MemoryStore store;
    Bytes bad = built.object;
    bad[data_start + 10] ^= 0x01;
    store.Poke(key, bad);
    ASSERT_OK(ReadSegmentMeta(store, key, 3, uuid, *chain, 1u << 22, bad.size(), &meta, &size));
    Bytes unit;
    Status s = ReadUnit(store, key, 3, 0, meta.units[0], *chain, &unit);
    EXPECT_TRUE(s.IsCorrupt()) << s.ToString();
    EXPECT_NE(s.message().find(key), std::string::npos) << "the error names the object";
  }
  // Torn: the listing size disagrees, or the object ends early.
  {
    MemoryStore store;
    Bytes torn(built.object.begin(), built.object.begin() + built.object.size() / 2);
    store.Poke(key, torn);
    EXPECT_TRUE(ReadSegmentMeta(store, key, 3, uuid, *chain, 1u << 22, torn.size(), &meta, &size)
                    .IsCorrupt());
  }
  // Wrong seq, wrong volume, records outside a smaller volume.
  {
    MemoryStore store;
    store.Poke(key, built.object);
    EXPECT_TRUE(
        ReadSegmentMeta(store, key, 4, uuid, *chain, 1u << 22, 0, &meta, &size).IsCorrupt());
    EXPECT_TRUE(ReadSegmentMeta(store, key, 3, RandomUuid(), *chain, 1u << 22, 0, &meta, &size)
                    .IsCorrupt());
    EXPECT_TRUE(ReadSegmentMeta(store, key, 3, uuid, *chain, 600, 0, &meta, &size).IsCorrupt());
  }
  // A well-formed header claiming an enormous meta, with no listed size to contradict it, is
  // refused as Corrupt rather than allocated.
  {
    MemoryStore store;
    ObjectHeader huge;
    huge.type = ObjectType::kSegment;
    huge.uuid = uuid;
    huge.seq = 3;
    huge.body_length = uint64_t{1} << 46;
    Bytes object;
    EncodeObjectHeader(huge, &object);
    object.resize(object.size() + (80u << 10), 0);
    store.Poke(key, object);
    EXPECT_TRUE(
        ReadSegmentMeta(store, key, 3, uuid, *chain, 1u << 22, 0, &meta, &size).IsCorrupt());
  }
}

TEST(Checkpoint, RoundTripAndCorruption) {
  Uuid uuid = RandomUuid();
  auto chain = XorChain(uuid);
  VolumeState state;
  for (uint64_t seq = 1; seq <= 3; ++seq) {
    WriteBuffer buffer;
    for (uint64_t lba = seq * 10; lba < seq * 10 + 20; ++lba) {
      Bytes p = Pattern(4096, static_cast<uint32_t>(lba + seq));
      std::memcpy(buffer.PutBlock(lba), p.data(), 4096);
    }
    buffer.SetRange(1000 + seq, 5, ExtentKind::kZero);
    BuiltSegment built;
    ASSERT_OK(BuildSegment(buffer, seq, uuid, *chain, 16u << 10, &built));
    state.ApplySegment(built.meta, built.object.size());
  }
  Bytes plain = SerializeCheckpoint(state);
  Bytes object;
  ASSERT_OK(BuildCheckpointObject(plain, 3, uuid, *chain, &object));
  MemoryStore store;
  const std::string key = CheckpointKey("v", 3);
  store.Poke(key, object);
  VolumeState back;
  ASSERT_OK(ReadCheckpoint(store, key, 3, uuid, *chain, 1u << 20, &back));
  EXPECT_EQ(back.through_seq, 3u);
  EXPECT_EQ(back.map.extent_count(), state.map.extent_count());
  EXPECT_EQ(back.map.data_blocks(), state.map.data_blocks());
  EXPECT_EQ(back.segments.size(), state.segments.size());
  EXPECT_EQ(SerializeCheckpoint(back), plain);
  for (size_t at : {size_t{10}, size_t{kObjectHeaderLength + 1}, object.size() - 1}) {
    Bytes bad = object;
    bad[at] ^= 0x04;
    store.Poke(key, bad);
    EXPECT_TRUE(ReadCheckpoint(store, key, 3, uuid, *chain, 1u << 20, &back).IsCorrupt())
        << "byte " << at;
  }
  store.Poke(key, object);
  EXPECT_TRUE(ReadCheckpoint(store, key, 4, uuid, *chain, 1u << 20, &back).IsCorrupt());
}

}  // namespace
}  // namespace bp
