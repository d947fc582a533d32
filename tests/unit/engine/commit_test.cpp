// Durability machinery: group commit, FUA, fencing, failed uploads and their retry, write
// buffer backpressure, the seal timer, read-only opening without put-if-absent, and the pacing
// of periodic checkpoints.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "engine/object_format.h"
#include "engine_test_util.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using test::AsyncIo;
using test::Harness;
using test::ManualClock;
using test::Pattern;

using test::WaitFor;

TEST(GroupCommit, ConcurrentFlushesShareOneUpload) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  Bytes a = Pattern(4096, 1);
  ASSERT_EQ(test::Write(*ref, 0, a), 0);
  h.store->PausePuts();
  AsyncIo first(BP_IO_OP_FLUSH, 0, 0, nullptr);
  ref->Submit(first.io());
  ASSERT_TRUE(WaitFor([&] { return h.store->PausedPuts() == 1; }));
  // While segment 1 is in flight, 8 connections write and flush.
  std::vector<std::unique_ptr<VolumeRef>> refs;
  std::vector<std::unique_ptr<AsyncIo>> flushes;
  std::vector<Bytes> data;
  for (int c = 0; c < 8; ++c) {
    refs.push_back(h.Ref());
    data.push_back(Pattern(4096, 100 + c));
    ASSERT_EQ(test::Write(*refs.back(), (c + 1) * 4096, data.back()), 0);
    flushes.push_back(std::make_unique<AsyncIo>(BP_IO_OP_FLUSH, 0, 0, nullptr));
    refs.back()->Submit(flushes.back()->io());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(first.Finished());
  for (auto& f : flushes)
    EXPECT_FALSE(f->Finished()) << "flush finished before its data was durable";
  uint64_t puts_before = h.store->CountOps(MemoryStore::Op::kPut);
  h.store->ResumePuts();
  EXPECT_EQ(first.Wait(), 0);
  for (auto& f : flushes) EXPECT_EQ(f->Wait(), 0);
  // Segment 1 (already counted) plus exactly one more for all eight flushes.
  EXPECT_EQ(h.store->CountOps(MemoryStore::Op::kPut) - puts_before, 1u);
  EXPECT_EQ(h.store->Keys(SegmentPrefix("v")).size(), 2u);
  // A flush with nothing new completes at once without a put.
  EXPECT_EQ(test::Flush(*ref), 0);
  EXPECT_EQ(h.store->Keys(SegmentPrefix("v")).size(), 2u);
}

TEST(GroupCommit, FuaWriteIsDurableWhenAcknowledged) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  Bytes d = Pattern(4096, 5);
  h.store->PausePuts();
  AsyncIo w(BP_IO_OP_WRITE, 8192, 4096, d.data(), BP_IO_FLAG_FUA);
  ref->Submit(w.io());
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(w.Finished());
  h.store->ResumePuts();
  ASSERT_EQ(w.Wait(), 0);
  ASSERT_OK(h.Crash());
  auto r = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*r, 8192, 4096, &out), 0);
  EXPECT_EQ(out, d);
}

TEST(Fencing, SecondWriterIsFencedByPutIfAbsent) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, Pattern(4096, 1)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  // A second host (another data dir) takes the volume over and writes segment 2 first.
  test::TestCodecFactory codecs2;
  EngineOptions other_options = test::SmallOptions();
  other_options.writer_id = "ffeeddccbbaa99887766554433221100";
  other_options.take_over = {"v"};
  VolumeManager other(h.store, &codecs2, other_options);
  ASSERT_OK(other.OpenAll());
  std::unique_ptr<VolumeRef> ref2;
  ASSERT_OK(other.OpenRef("v", false, &ref2));
  Bytes theirs = Pattern(4096, 2);
  ASSERT_EQ(test::Write(*ref2, 4096, theirs), 0);
  ASSERT_EQ(test::Flush(*ref2), 0);
  // Our next segment collides: we are fenced, and stay fenced.
  ASSERT_EQ(test::Write(*ref, 4096, Pattern(4096, 3)), 0);
  EXPECT_EQ(test::Flush(*ref), EIO);
  EXPECT_EQ(test::Write(*ref, 0, Pattern(4096, 4)), EROFS);
  EXPECT_EQ(test::Flush(*ref), EIO);
  EXPECT_TRUE(h.manager->List()[0].read_only);
  bp_volume_info info{};
  info.struct_size = sizeof(info);
  ref->Info(&info);
  EXPECT_TRUE(info.flags & BP_VOLUME_READ_ONLY);
  // The store holds the other writer's data.
  ref2.reset();
  ASSERT_OK(other.Shutdown());
  Harness fresh;
  fresh.store = h.store;
  ASSERT_OK(fresh.StartAndOpen());
  Bytes out;
  auto r = fresh.Ref();
  ASSERT_EQ(test::Read(*r, 4096, 4096, &out), 0);
  EXPECT_EQ(out, theirs);
}

TEST(FailedUpload, FlushFailsThenSucceedsWithoutLosingData) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  Bytes a = Pattern(3 * 4096, 1);
  ASSERT_EQ(test::Write(*ref, 0, a), 0);
  h.store->FailNext(MemoryStore::Op::kPut, Status::Transient("backend down"), 2, "/seg/");
  EXPECT_EQ(test::Flush(*ref), EIO);
  // Data is still readable, and a later write lands after it.
  Bytes out;
  ASSERT_EQ(test::Read(*ref, 0, a.size(), &out), 0);
  EXPECT_EQ(out, a);
  Bytes b = Pattern(4096, 2);
  ASSERT_EQ(test::Write(*ref, 8 * 4096, b), 0);
  EXPECT_EQ(test::Flush(*ref), EIO);  // second injected failure: still not durable
  EXPECT_EQ(test::Flush(*ref), 0);    // retried: both segments now durable, in order
  ASSERT_OK(h.Crash());
  auto r = h.Ref();
  ASSERT_EQ(test::Read(*r, 0, a.size(), &out), 0);
  EXPECT_EQ(out, a);
  ASSERT_EQ(test::Read(*r, 8 * 4096, 4096, &out), 0);
  EXPECT_EQ(out, b);
}

TEST(FailedUpload, PutThatSucceededButReportedFailureIsNotAFence) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, Pattern(4096, 1)), 0);
  ASSERT_EQ(test::Flush(*ref), 0);
  // The store keeps segment 2 but the reply is lost: the retry meets our own object.
  ASSERT_EQ(test::Write(*ref, 4096, Pattern(4096, 2)), 0);
  h.store->FailNextPutAfterStoring(Status::Transient("reply lost"), "/seg/");
  EXPECT_EQ(test::Flush(*ref), EIO);
  EXPECT_TRUE(h.store->Has(SegmentKey("v", 2)));
  EXPECT_EQ(test::Flush(*ref), 0);
  EXPECT_FALSE(h.manager->List()[0].read_only);
}

TEST(Backpressure, WritesWaitForBufferRoomWithoutBlockingSubmit) {
  Harness h;
  h.options.write_buffer_limit = 256u << 10;
  h.options.segment_size = 128u << 10;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  h.store->PausePuts();
  std::vector<std::unique_ptr<AsyncIo>> writes;
  std::vector<Bytes> data;
  for (int i = 0; i < 128; ++i) data.push_back(Pattern(4096, 1000 + i));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 128; ++i) {
    writes.push_back(std::make_unique<AsyncIo>(BP_IO_OP_WRITE, i * 4096ull, 4096, data[i].data()));
    ref->Submit(writes.back()->io());  // must return at once even when the buffer is full
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(500));
  ASSERT_TRUE(WaitFor([&] { return h.store->PausedPuts() >= 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  int finished = 0;
  for (auto& w : writes) finished += w->Finished();
  EXPECT_GT(finished, 0);
  EXPECT_LT(finished, 128) << "the buffer limit did not hold writes back";
  h.store->ResumePuts();
  for (auto& w : writes) EXPECT_EQ(w->Wait(), 0);
  EXPECT_EQ(test::Flush(*ref), 0);
  Bytes out;
  ASSERT_EQ(test::Read(*ref, 0, 128 * 4096, &out), 0);
  for (int i = 0; i < 128; ++i) {
    ASSERT_EQ(Bytes(out.begin() + i * 4096, out.begin() + (i + 1) * 4096), data[i]) << i;
  }
}

TEST(Backpressure, WaitingWritesFailAfterTheRetryDeadline) {
  Harness h;
  h.options.write_buffer_limit = 64u << 10;
  h.options.retry_deadline_ms = 200;
  h.options.flush_interval_ms = 20;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  h.store->FailNext(MemoryStore::Op::kPut, Status::Permanent("disk full"), 1000, "/seg/");
  Bytes d = Pattern(32 << 10, 1);
  std::vector<std::unique_ptr<AsyncIo>> writes;
  for (int i = 0; i < 6; ++i) {
    writes.push_back(std::make_unique<AsyncIo>(BP_IO_OP_WRITE, i * d.size(), d.size(), d.data()));
    ref->Submit(writes.back()->io());
  }
  int eio = 0;
  for (auto& w : writes) {
    int e = w->Wait(3000);
    ASSERT_NE(e, -1000) << "a write hung";
    eio += e == EIO;
  }
  EXPECT_GT(eio, 0);
}

// On virtual time: a write is sealed when the flush interval has passed on the engine's clock,
// not before, however long the test takes in real time.
TEST(Timer, SealingFollowsTheInjectedClock) {
  test::ManualClock clock;  // outlives the harness, whose shutdown still reads it
  Harness h;
  h.clock = &clock;
  h.options.flush_interval_ms = 60000;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, Pattern(4096, 1)), 0);
  clock.Advance(std::chrono::seconds(59));
  // The ticker runs every 100 ms of virtual time; give it real time to look at the clock.
  EXPECT_FALSE(WaitFor([&] { return !h.store->Keys(SegmentPrefix("v")).empty(); }, 200));
  clock.Advance(std::chrono::seconds(2));
  EXPECT_TRUE(WaitFor([&] { return h.store->Keys(SegmentPrefix("v")).size() == 1; }, 3000));
}

TEST(Timer, UnflushedWritesAreSealedWithinTheInterval) {
  Harness h;
  h.options.flush_interval_ms = 50;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  auto ref = h.Ref();
  ASSERT_EQ(test::Write(*ref, 0, Pattern(4096, 1)), 0);
  EXPECT_TRUE(WaitFor([&] { return h.store->Keys(SegmentPrefix("v")).size() == 1; }, 2000));
}

TEST(Unfenced, StoreWithoutPutIfAbsentOpensReadOnlyUnlessAllowed) {
  Harness h;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 1 << 20));
  {
    auto ref = h.Ref();
    ASSERT_EQ(test::Write(*ref, 0, Pattern(4096, 1)), 0);
  }
  ASSERT_OK(h.manager->Shutdown());
  h.manager.reset();
  h.store->SetPutIfAbsentSupported(false);
  ASSERT_OK(h.StartAndOpen());
  auto ref = h.Ref();
  Bytes out;
  ASSERT_EQ(test::Read(*ref, 0, 4096, &out), 0);
  EXPECT_EQ(out, Pattern(4096, 1));
  EXPECT_EQ(test::Write(*ref, 0, Pattern(4096, 2)), EROFS);
  EXPECT_EQ(h.manager->Create("w", 1 << 20).code(), Status::Code::kUnsupported);
  ref.reset();
  h.options.allow_unfenced = true;
  ASSERT_OK(h.Restart());
  ref = h.Ref();
  EXPECT_EQ(test::Write(*ref, 0, Pattern(4096, 2)), 0);
  EXPECT_EQ(test::Flush(*ref), 0);
}

// A periodic checkpoint rewrites the whole map. When the map is much larger than the segments
// written since the last checkpoint, the next one waits until they hold 8 times its size, so a
// fragmented map is not rewritten after every few small segments — and it still comes.
TEST(Checkpoints, AFragmentedMapWaitsForEnoughSegmentBytes) {
  Harness h;
  h.options.checkpoint_every_segments = 1;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 64u << 20));
  auto ref = h.Ref();
  // 3000 separate ZERO extents: a map far larger than any one small segment after it.
  for (uint64_t i = 0; i < 3000; ++i) {
    ASSERT_EQ(test::DoIo(*ref, BP_IO_OP_WRITE_ZEROES, i * 8192, 4096, nullptr, BP_IO_FLAG_NO_HOLE),
              0);
  }
  ASSERT_EQ(test::Flush(*ref), 0);
  const uint64_t through = h.manager->List().front().last_segment;
  ASSERT_TRUE(WaitFor([&] { return h.store->Has(CheckpointKey("v", through)); }));
  const uint64_t checkpoint_size = h.store->Peek(CheckpointKey("v", through)).size();
  ASSERT_GT(checkpoint_size, 30000u);

  // One 4 KiB block per segment, each far smaller than the checkpoint.
  uint64_t segment_bytes = 0;
  uint64_t next_checkpoint = 0;
  for (uint64_t i = 0; i < 400 && next_checkpoint == 0; ++i) {
    ASSERT_EQ(test::Write(*ref, (48u << 20) + i * 4096, Pattern(4096, static_cast<uint32_t>(i))),
              0);
    ASSERT_EQ(test::Flush(*ref), 0);
    const uint64_t seq = through + 1 + i;
    ASSERT_TRUE(h.store->Has(SegmentKey("v", seq)));
    segment_bytes += h.store->Peek(SegmentKey("v", seq)).size();
    // The decision for this segment was taken before its flush completed; give a checkpoint
    // it started the time to land (one that lands later is seen after the next segment).
    WaitFor([&] { return test::Seqs(*h.store, CheckpointPrefix("v")).back() > through; }, 20);
    const uint64_t newest = test::Seqs(*h.store, CheckpointPrefix("v")).back();
    if (newest > through) next_checkpoint = newest;
  }
  ASSERT_NE(next_checkpoint, 0u) << "no checkpoint after " << segment_bytes << " segment bytes";
  EXPECT_GT(next_checkpoint - through, 20u);
  // 8 times the plain map; the stored checkpoint carries a header and framing besides.
  EXPECT_GE(segment_bytes, 7 * checkpoint_size)
      << "checkpoint of " << checkpoint_size << " bytes after " << next_checkpoint - through
      << " segments";
}

TEST(Checkpoints, OneThatCameDueDuringAnotherStartsWhenItFinishes) {
  Harness h;
  h.options.checkpoint_every_segments = 2;
  h.Start();
  ASSERT_OK(h.manager->Create("v", 16u << 20));
  auto ref = h.Ref();
  h.store->PausePuts("/ckpt/");
  for (uint32_t i = 0; i < 2; ++i) {
    ASSERT_EQ(test::Write(*ref, i * 4096, Pattern(4096, i)), 0);
    ASSERT_EQ(test::Flush(*ref), 0);
  }
  ASSERT_TRUE(WaitFor([&] { return h.store->PausedPuts() == 1; })) << "checkpoint 2 not started";
  // Segments 3 and 4 make the next checkpoint due while checkpoint 2 is still being written.
  for (uint32_t i = 2; i < 4; ++i) {
    ASSERT_EQ(test::Write(*ref, i * 4096, Pattern(4096, i)), 0);
    ASSERT_EQ(test::Flush(*ref), 0);
  }
  EXPECT_FALSE(h.store->Has(CheckpointKey("v", 4)));
  h.store->ResumePuts();
  // The volume now stays idle: no further segment comes to start checkpoint 4.
  EXPECT_TRUE(WaitFor([&] { return h.store->Has(CheckpointKey("v", 4)); }));
  EXPECT_TRUE(h.store->Has(CheckpointKey("v", 2)));
}

}  // namespace
}  // namespace bp
