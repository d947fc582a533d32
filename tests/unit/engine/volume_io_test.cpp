// Volume request semantics: reads of holes, writes through buffer and segments, unaligned
// read-modify-write, trims and zeroes, bounds errors, corrupt units, manager operations.
#include <gtest/gtest.h>

#include <cerrno>
#include <thread>

#include <algorithm>
#include "engine/object_format.h"
#include "engine/volume_meta.h"
#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;

class VolumeIo : public ::testing::Test {
 protected:
  void SetUp() override {
    h.Start();
    ASSERT_OK(h.manager->Create("v", 16u << 20));
    ref = h.Ref();
  }
  Bytes ReadBack(uint64_t off, uint64_t len) {
    Bytes out;
    EXPECT_EQ(test::Read(*ref, off, len, &out), 0);
    return out;
  }
  Harness h;
  std::unique_ptr<VolumeRef> ref;
};

TEST_F(VolumeIo, InfoAdvertisesCapabilities) {
  bp_volume_info info{};
  info.struct_size = sizeof(info);
  ref->Info(&info);
  EXPECT_EQ(info.size, 16u << 20);
  EXPECT_EQ(info.preferred_block, 4096u);
  EXPECT_GE(info.max_request, 32u << 20);
  for (uint32_t f : {BP_VOLUME_CAN_FLUSH, BP_VOLUME_CAN_FUA, BP_VOLUME_CAN_TRIM, BP_VOLUME_CAN_ZERO,
                     BP_VOLUME_CAN_FAST_ZERO, BP_VOLUME_CAN_CACHE, BP_VOLUME_CAN_MULTI_CONN}) {
    EXPECT_TRUE(info.flags & f) << f;
  }
  EXPECT_FALSE(info.flags & BP_VOLUME_READ_ONLY);
  // An older frontend with a shorter struct gets only what it knows.
  bp_volume_info small{};
  small.struct_size = 16;
  small.max_request = 12345;
  ref->Info(&small);
  EXPECT_EQ(small.size, 16u << 20);
  EXPECT_EQ(small.max_request, 12345u);
}

TEST_F(VolumeIo, UnwrittenReadsZeroAndWritesReadBackBeforeAndAfterFlush) {
  EXPECT_EQ(ReadBack(0, 8192), Bytes(8192, 0));
  Bytes data = Pattern(64 << 10, 1);
  ASSERT_EQ(test::Write(*ref, 4096 * 10, data), 0);
  EXPECT_EQ(ReadBack(4096 * 10, data.size()), data);
  ASSERT_EQ(test::Flush(*ref), 0);
  EXPECT_EQ(h.store->Keys(SegmentPrefix("v")).size(), 1u);
  EXPECT_EQ(ReadBack(4096 * 10, data.size()), data);
  // Straddling written and unwritten ranges.
  Bytes around = ReadBack(4096 * 9, data.size() + 8192);
  EXPECT_EQ(Bytes(around.begin(), around.begin() + 4096), Bytes(4096, 0));
  EXPECT_EQ(Bytes(around.begin() + 4096, around.end() - 4096), data);
}

TEST_F(VolumeIo, UnalignedWritesMergeWithBufferedAndStoredData) {
  Bytes base = Pattern(5 * 4096, 2);
  ASSERT_EQ(test::Write(*ref, 0, base), 0);
  Bytes model = base;
  auto apply = [&](uint64_t off, const Bytes& d) {
    ASSERT_EQ(test::Write(*ref, off, d), 0);
    std::copy(d.begin(), d.end(), model.begin() + off);
  };
  apply(100, Pattern(10, 3));          // inside one buffered block
  apply(4000, Pattern(200, 4));        // across a block boundary
  ASSERT_EQ(test::Flush(*ref), 0);     // now the blocks live in a segment
  apply(8190, Pattern(4096 + 7, 5));   // three partial blocks against stored data
  apply(5 * 4096 - 1, Pattern(1, 6));  // last byte
  EXPECT_EQ(ReadBack(0, model.size()), model);
  ASSERT_EQ(test::Flush(*ref), 0);
  ASSERT_OK(h.Restart());
  ref = h.Ref();
  EXPECT_EQ(ReadBack(0, model.size()), model);
  // Partial block read.
  EXPECT_EQ(ReadBack(4001, 17), Bytes(model.begin() + 4001, model.begin() + 4018));
}

TEST_F(VolumeIo, UnalignedWriteFetchesUnitsWhenCacheIsCold) {
  h.options.cache_memory = 0;  // every stored block must come from the store
  ASSERT_OK(h.Restart());
  ref = h.Ref();
  Bytes base = Pattern(8 * 4096, 7);
  ASSERT_EQ(test::Write(*ref, 0, base), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  uint64_t reads_before = h.store->CountOps(MemoryStore::Op::kRead);
  Bytes patch = Pattern(5000, 8);
  ASSERT_EQ(test::Write(*ref, 3000, patch), 0);
  EXPECT_GT(h.store->CountOps(MemoryStore::Op::kRead), reads_before);
  std::copy(patch.begin(), patch.end(), base.begin() + 3000);
  EXPECT_EQ(ReadBack(0, base.size()), base);
}

TEST_F(VolumeIo, TrimAndZeroesReadAsZerosAndZeroDataStoresNothing) {
  Bytes data = Pattern(16 * 4096, 9);
  ASSERT_EQ(test::Write(*ref, 0, data), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, 4096, 4096 * 2, nullptr), 0);
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_WRITE_ZEROES, 4096 * 4, 4096, nullptr, BP_IO_FLAG_NO_HOLE),
            0);
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_WRITE_ZEROES, 4096 * 6, 100, nullptr, BP_IO_FLAG_FAST_ZERO),
            0);
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, 4096 * 8 + 10, 20, nullptr), 0);  // partial block
  Bytes model = data;
  std::fill(model.begin() + 4096, model.begin() + 3 * 4096, 0);
  std::fill(model.begin() + 4 * 4096, model.begin() + 5 * 4096, 0);
  std::fill(model.begin() + 6 * 4096, model.begin() + 6 * 4096 + 100, 0);
  std::fill(model.begin() + 8 * 4096 + 10, model.begin() + 8 * 4096 + 30, 0);
  EXPECT_EQ(ReadBack(0, model.size()), model);
  ASSERT_EQ(test::Flush(*ref), 0);
  EXPECT_EQ(ReadBack(0, model.size()), model);
  // All-zero data becomes a map entry, not stored bytes.
  auto before = h.manager->List()[0];
  ASSERT_EQ(test::Write(*ref, 1 << 20, Bytes(1 << 20, 0)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  auto after = h.manager->List()[0];
  EXPECT_EQ(after.mapped_bytes, before.mapped_bytes);
  EXPECT_LT(after.stored_bytes - before.stored_bytes, 4096u);
  // Whole-device trim is cheap and empties the map.
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, 0, 16u << 20, nullptr), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  EXPECT_EQ(h.manager->List()[0].mapped_bytes, 0u);
  EXPECT_EQ(ReadBack(0, 4096 * 16), Bytes(4096 * 16, 0));
}

TEST_F(VolumeIo, BoundsErrors) {
  Bytes buf(8192);
  const uint64_t size = 16u << 20;
  EXPECT_EQ(test::DoIo(*ref, BP_IO_OP_READ, size - 4096, 8192, buf.data()), EINVAL);
  EXPECT_EQ(test::DoIo(*ref, BP_IO_OP_READ, ~0ull - 10, 100, buf.data()), EINVAL);
  EXPECT_EQ(test::DoIo(*ref, BP_IO_OP_WRITE, size - 4096, 8192, buf.data()), ENOSPC);
  EXPECT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, size, 1, nullptr), ENOSPC);
  EXPECT_EQ(test::DoIo(*ref, BP_IO_OP_WRITE_ZEROES, size + 4096, 4096, nullptr), ENOSPC);
  EXPECT_EQ(test::DoIo(*ref, BP_IO_OP_CACHE, size, 4096, nullptr), EINVAL);
  EXPECT_EQ(test::DoIo(*ref, 99, 0, 0, nullptr), EINVAL);
  EXPECT_EQ(test::DoIo(*ref, BP_IO_OP_READ, size, 0, buf.data()), 0);
  EXPECT_EQ(test::DoIo(*ref, BP_IO_OP_WRITE, size - 4096, 4096, buf.data()), 0);
  auto ro = h.Ref("v", /*read_only=*/true);
  EXPECT_EQ(test::DoIo(*ro, BP_IO_OP_WRITE, 0, 4096, buf.data()), EROFS);
  EXPECT_EQ(test::DoIo(*ro, BP_IO_OP_READ, 0, 4096, buf.data()), 0);
}

TEST_F(VolumeIo, CorruptUnitIsEioNeverGarbage) {
  Bytes data = Pattern(8 * 4096, 11);
  ASSERT_EQ(test::Write(*ref, 0, data), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  h.options.cache_memory = 0;
  ASSERT_OK(h.Restart());
  ref = h.Ref();
  auto keys = h.store->Keys(SegmentPrefix("v"));
  ASSERT_EQ(keys.size(), 1u);
  Bytes seg = h.store->Peek(keys[0]);
  seg[seg.size() - 20] ^= 0xFF;  // inside the last unit
  h.store->Poke(keys[0], seg);
  Bytes out;
  EXPECT_EQ(test::Read(*ref, 0, data.size(), &out), EIO);
  EXPECT_EQ(test::Read(*ref, 0, 4096, &out), 0);  // the first unit is intact
  EXPECT_EQ(out, Bytes(data.begin(), data.begin() + 4096));
  // A read-modify-write needing the corrupt unit fails too, and changes nothing.
  Bytes patch(10, 1);
  EXPECT_EQ(test::Write(*ref, data.size() - 100, patch), EIO);
}

TEST_F(VolumeIo, CachePrefetchesAndConcurrentReadersAgree) {
  Bytes data = Pattern(1 << 20, 12);
  ASSERT_EQ(test::Write(*ref, 0, data), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  ASSERT_OK(h.Restart());
  ref = h.Ref();
  ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_CACHE, 0, 256 << 10, nullptr), 0);
  uint64_t reads = h.store->CountOps(MemoryStore::Op::kRead);
  EXPECT_EQ(ReadBack(0, 256 << 10), Bytes(data.begin(), data.begin() + (256 << 10)));
  EXPECT_EQ(h.store->CountOps(MemoryStore::Op::kRead), reads) << "served from the cache";
  std::vector<std::thread> threads;
  std::atomic<int> good{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      auto r = h.Ref();
      bool ok = true;
      for (uint64_t off = t * 4096; off < data.size(); off += 64 << 10) {
        Bytes out;
        ok &= test::Read(*r, off, 8192, &out) == 0 &&
              out == Bytes(data.begin() + off, data.begin() + off + 8192);
      }
      if (ok) good++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(good.load(), 4);
}

TEST(VolumeManagerTest, CreateDeleteListAndNames) {
  Harness h;
  h.Start();
  EXPECT_TRUE(IsValidVolumeName("data_01.img-x"));
  for (const char* bad : {"", ".hidden", "-x", "a/b", "a b", "é"}) {
    EXPECT_FALSE(IsValidVolumeName(bad)) << bad;
    EXPECT_EQ(h.manager->Create(bad, 1 << 20).code(), Status::Code::kInvalid);
  }
  EXPECT_FALSE(IsValidVolumeName(std::string(65, 'a')));
  EXPECT_EQ(h.manager->Create("v", 1000).code(), Status::Code::kInvalid);
  EXPECT_EQ(h.manager->Create("v", 0).code(), Status::Code::kInvalid);
  ASSERT_OK(h.manager->Create("v", 1ull << 60));  // 1 EiB, sparse
  EXPECT_TRUE(h.manager->Create("v", 1 << 20).IsPrecondition());
  ASSERT_OK(h.manager->Create("w", 1 << 20));
  auto list = h.manager->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].codecs, "xor");
  EXPECT_EQ(list[0].uuid.size(), 32u);
  {
    auto ref = h.Ref("v");
    EXPECT_EQ(h.manager->List()[0].references, 1u);
    EXPECT_EQ(test::Write(*ref, (1ull << 60) - 4096, Pattern(4096, 1)), 0);
    EXPECT_EQ(test::DoIo(*ref, BP_IO_OP_TRIM, 0, 1ull << 60, nullptr), 0);
    EXPECT_EQ(test::Flush(*ref), 0);
    EXPECT_TRUE(h.manager->Delete("v").IsPrecondition());
  }
  ASSERT_OK(h.manager->Delete("v"));
  EXPECT_FALSE(h.manager->Exists("v"));
  EXPECT_TRUE(h.store->Keys(VolumePrefix("v")).empty());
  EXPECT_TRUE(h.manager->Delete("v").IsNotFound());
  std::unique_ptr<VolumeRef> ref;
  EXPECT_TRUE(h.manager->OpenRef("v", false, &ref).IsNotFound());
  // Re-creating the name gives a fresh, empty volume.
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  Bytes out;
  auto r = h.Ref("v");
  EXPECT_EQ(test::Read(*r, 0, 4096, &out), 0);
  EXPECT_EQ(out, Bytes(4096, 0));
}

TEST(VolumeManagerTest, MissingCodecFailsNamingPluginAndOtherVolumesStillOpen) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("good", 1 << 20));
  ASSERT_OK(h.manager->Create("odd", 1 << 20));
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  // Rewrite odd's metadata to name a codec this host lacks.
  Bytes meta = h.store->Peek(MetaKey("odd"));
  VolumeMeta decoded;
  ASSERT_OK(DecodeVolumeMetaObject(meta.data(), meta.size(), &decoded));
  decoded.codecs[0].name = "zstd";
  h.store->Poke(MetaKey("odd"), EncodeVolumeMetaObject(decoded));
  h.Start();
  Status s = h.manager->OpenAll();
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("odd"), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("zstd"), std::string::npos) << s.ToString();
  EXPECT_TRUE(h.manager->Exists("good"));
  EXPECT_FALSE(h.manager->Exists("odd"));
}

}  // namespace
}  // namespace bp
