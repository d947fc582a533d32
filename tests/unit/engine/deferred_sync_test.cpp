// Deferred durability (BP_BACKEND_CAP_DEFER_SYNC, volume_sync.cpp): on a store that offers it,
// segments are uploaded without a sync, a FLUSH syncs what it covers before it completes, a
// checkpoint syncs the segments it refers to before it is stored, an open syncs what a crashed
// process left unsynced, and a crash of the machine (MemoryStore::LosePower) takes only writes
// no FLUSH covered — whether it loses or tears the unsynced segments. Also the in-flight gauges
// the read-ahead and upload settings are judged by.
#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "engine/object_format.h"
#include "engine_test_util.h"
#include "support/status_assert.h"
#include "util/metrics.h"

namespace bp {
namespace {

using test::Harness;
using test::Pattern;
using test::WaitFor;

constexpr uint64_t kSegment = 256u << 10;  // SmallOptions().segment_size

// A harness whose store defers durability, and a crash of the machine on top of Harness::Crash:
// `fate` decides what happens to each unsynced object (MemoryStore::LosePower), then the
// process dies and a new one opens what is left.
struct DeferHarness : Harness {
  DeferHarness() { store->SetDeferSync(true); }
  Status PowerLoss(int fate) {
    store->LosePower([fate](const std::string&) { return fate; });
    return CrashKeepingDeferral();
  }
  // Harness::Crash, with the survivor still deferring durability.
  Status CrashKeepingDeferral() {
    auto survivor = std::make_shared<MemoryStore>();
    survivor->SetDeferSync(true);
    for (const auto& k : store->Keys()) survivor->Poke(k, store->Peek(k));
    store->FailNext(MemoryStore::Op::kPut, Status::Permanent("crashed"), 1 << 30);
    store->FailNext(MemoryStore::Op::kSync, Status::Permanent("crashed"), 1 << 30);
    manager.reset();
    store = survivor;
    return StartAndOpen();
  }
};

// Writes `segments` full segments at `offset` without a flush and waits until they are in
// the store (uploaded, so unsynced).
void WriteSegments(VolumeRef& ref, MemoryStore& store, uint64_t offset, int segments, uint32_t seed,
                   Bytes* data) {
  *data = Pattern(kSegment * segments, seed);
  const size_t before = store.Keys(SegmentPrefix("v")).size();
  for (int i = 0; i < segments; ++i) {
    Bytes part(data->begin() + static_cast<ptrdiff_t>(i * kSegment),
               data->begin() + static_cast<ptrdiff_t>((i + 1) * kSegment));
    ASSERT_EQ(test::Write(ref, offset + i * kSegment, part), 0);
  }
  // The last segment is sealed when the next write fills it, or by the flush interval; the
  // ones before it are all in the store once each of them is (uploads run in parallel, so a
  // count could be met by a later segment while an earlier one is still uploading).
  ASSERT_TRUE(WaitFor([&] {
    const std::vector<std::string> keys = store.Keys(SegmentPrefix("v"));
    for (uint64_t seq = before + 1; seq < before + static_cast<uint64_t>(segments); ++seq) {
      if (std::find(keys.begin(), keys.end(), SegmentKey("v", seq)) == keys.end()) return false;
    }
    return true;
  }));
}

TEST(DeferredSync, SegmentsUploadWithoutSyncAndAFlushSyncsThem) {
  DeferHarness h;
  h.options.checkpoint_every_segments = 1000;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 8u << 20));
  auto ref = h.Ref();
  Bytes data;
  WriteSegments(*ref, *h.store, 0, 3, 1, &data);
  EXPECT_FALSE(h.store->UnsyncedKeys().empty()) << "segments were synced though nothing asked";
  EXPECT_EQ(h.store->CountOps(MemoryStore::Op::kSync), 0u);
  ASSERT_EQ(test::Flush(*ref), 0);
  EXPECT_TRUE(h.store->UnsyncedKeys().empty());
  EXPECT_GE(h.store->CountOps(MemoryStore::Op::kSync), 1u);
  // What the flush covered survives the machine's crash.
  ASSERT_OK(h.PowerLoss(/*lose every unsynced object=*/1));
  auto r = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*r, 0, data.size(), &out), 0);
  EXPECT_EQ(out, data);
}

TEST(DeferredSync, AFlushFailsWhenItsSyncFailsAndTheNextOneSucceeds) {
  DeferHarness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 8u << 20));
  auto ref = h.Ref();
  Bytes data = Pattern(64u << 10, 7);
  ASSERT_EQ(test::Write(*ref, 0, data), 0);
  h.store->FailNext(MemoryStore::Op::kSync, Status::Permanent("disk write-back failed"));
  EXPECT_EQ(test::Flush(*ref), EIO);
  EXPECT_FALSE(h.store->UnsyncedKeys().empty());
  ASSERT_EQ(test::Flush(*ref), 0);
  EXPECT_TRUE(h.store->UnsyncedKeys().empty());
  ASSERT_OK(h.PowerLoss(1));
  auto r = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*r, 0, data.size(), &out), 0);
  EXPECT_EQ(out, data);
}

TEST(DeferredSync, FuaWriteSyncsBeforeItCompletes) {
  DeferHarness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 8u << 20));
  auto ref = h.Ref();
  Bytes data = Pattern(4096, 9);
  ASSERT_EQ(test::Write(*ref, 4096, data, BP_IO_FLAG_FUA), 0);
  EXPECT_TRUE(h.store->UnsyncedKeys().empty());
  ASSERT_OK(h.PowerLoss(1));
  auto r = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*r, 4096, 4096, &out), 0);
  EXPECT_EQ(out, data);
}

// Lost or torn, the unsynced segments after the last flush go; the flushed data stays and the
// volume opens, its later writes reading as the old data (a prefix), never as an error.
void PowerLossKeepsThePrefix(int fate) {
  DeferHarness h;
  h.options.checkpoint_every_segments = 1000;  // no checkpoint syncs the later segments
  h.Start();
  ASSERT_OK(h.manager->Create("v", 8u << 20));
  auto ref = h.Ref();
  Bytes flushed;
  WriteSegments(*ref, *h.store, 0, 2, 11, &flushed);
  ASSERT_EQ(test::Flush(*ref), 0);
  Bytes later;
  WriteSegments(*ref, *h.store, 0, 2, 12, &later);  // overwrites, uploaded, not synced
  ASSERT_FALSE(h.store->UnsyncedKeys().empty());
  ASSERT_OK(h.PowerLoss(fate));
  auto r = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*r, 0, flushed.size(), &out), 0);
  // Each segment of the overwrite is there entirely or not at all, in order: the volume is a
  // prefix of its writes. Nothing was synced after the flush, so here: the flushed data.
  EXPECT_EQ(out, flushed);
  // And it takes new writes.
  Bytes again = Pattern(4096, 13);
  ASSERT_EQ(test::Write(*r, 0, again, BP_IO_FLAG_FUA), 0);
}

TEST(DeferredSync, PowerLossThatLosesUnsyncedSegmentsKeepsWhatWasFlushed) {
  PowerLossKeepsThePrefix(1);
}

TEST(DeferredSync, PowerLossThatTearsUnsyncedSegmentsKeepsWhatWasFlushed) {
  PowerLossKeepsThePrefix(2);
}

TEST(DeferredSync, ACheckpointSyncsTheSegmentsItRefersTo) {
  DeferHarness h;
  h.options.checkpoint_every_segments = 2;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 8u << 20));
  auto ref = h.Ref();
  Bytes data;
  WriteSegments(*ref, *h.store, 0, 5, 21, &data);
  ASSERT_TRUE(WaitFor([&] { return !test::Seqs(*h.store, CheckpointPrefix("v")).empty(); }));
  const uint64_t checkpoint = test::Seqs(*h.store, CheckpointPrefix("v")).back();
  for (const std::string& key : h.store->UnsyncedKeys()) {
    uint64_t seq = 0;
    ASSERT_TRUE(ParseSeqKey(key, SegmentPrefix("v"), &seq)) << key;
    EXPECT_GT(seq, checkpoint) << key << " is unsynced though checkpoint " << checkpoint
                               << " refers to it";
  }
  // A power loss now loses at most the segments after that checkpoint.
  ASSERT_OK(h.PowerLoss(1));
  auto r = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*r, 0, data.size(), &out), 0);
}

TEST(DeferredSync, TheAgeBoundSyncsWhatNoFlushAskedFor) {
  DeferHarness h;
  h.options.flush_interval_ms = 50;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 8u << 20));
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, Pattern(8192, 31)), 0);
  EXPECT_TRUE(WaitFor([&] {
    return !h.store->Keys(SegmentPrefix("v")).empty() && h.store->UnsyncedKeys().empty();
  }));
}

TEST(DeferredSync, OpenSyncsWhatACrashedProcessLeftUnsynced) {
  DeferHarness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 8u << 20));
  auto ref = h.Ref();
  Bytes data;
  WriteSegments(*ref, *h.store, 0, 2, 41, &data);
  ref.reset();
  // The process dies (kill -9): the page cache keeps the segments, nothing synced them.
  ASSERT_OK(h.CrashKeepingDeferral());
  // The survivor's copies are not marked unsynced; what matters is that the open asked.
  EXPECT_GE(h.store->CountOps(MemoryStore::Op::kSync), 1u);
  auto r = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*r, 0, kSegment, &out), 0);
}

TEST(DeferredSync, AStoreWithoutTheCapabilityIsNeverAskedToSync) {
  Harness h;  // every put durable
  h.Start();
  ASSERT_OK(h.manager->Create("v", 8u << 20));
  auto ref = h.Ref();
  Bytes data;
  WriteSegments(*ref, *h.store, 0, 2, 51, &data);
  ASSERT_EQ(test::Flush(*ref), 0);
  EXPECT_EQ(h.store->CountOps(MemoryStore::Op::kSync), 0u);
}

// The gauges the read-ahead and upload settings are judged by (docs/engine.md): with a slow
// remote store, a sequential stream keeps several uploads and several GETs going at once.
TEST(InFlight, SlowStoreSeesSeveralUploadsAndGetsAtOnce) {
  Harness h;
  h.options.uploads_in_flight = 4;
  h.options.io_threads = 8;
  h.options.write_buffer_limit = 4u << 20;
  h.options.read_ahead_max = 2u << 20;
  h.options.read_coalesce_max = 64u << 10;
  h.options.cache_memory = 16u << 20;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 8u << 20));
  auto ref = h.Ref();
  Metrics::Global().SetGauge("segment_uploads_in_flight_peak", 0);
  h.store->SetDelay(MemoryStore::Op::kPut, 30);
  Bytes data;
  WriteSegments(*ref, *h.store, 0, 8, 61, &data);
  ASSERT_EQ(test::Flush(*ref), 0);
  h.store->SetDelay(MemoryStore::Op::kPut, 0);
  EXPECT_GE(Metrics::Global().Value("segment_uploads_in_flight_peak"), 2);
  EXPECT_LE(Metrics::Global().Value("segment_uploads_in_flight_peak"), 4)
      << "more segment uploads at once than uploads_in_flight";
  ref.reset();
  ASSERT_OK(h.Restart());  // cold caches
  auto r = h.Ref();
  Metrics::Global().SetGauge("unit_reads_in_flight_peak", 0);
  h.store->SetDelay(MemoryStore::Op::kRead, 20);
  Bytes out(data.size());
  // Sequential 64 KiB reads, one at a time: what runs beside each is read-ahead.
  for (uint64_t at = 0; at < data.size(); at += 64u << 10) {
    ASSERT_EQ(test::DoIo(*r, BP_IO_OP_READ, at, 64u << 10, out.data() + at), 0);
  }
  h.store->SetDelay(MemoryStore::Op::kRead, 0);
  EXPECT_EQ(out, data);
  // A remote store: read-ahead may use three quarters of the 8 workers.
  EXPECT_GE(Metrics::Global().Value("unit_reads_in_flight_peak"), 3);
}

}  // namespace
}  // namespace bp
