// Helpers shared by the engine unit tests: an in-test codec that transforms and checksums each
// unit (so fail-closed paths are exercised without plugins), a CodecFactory over it, a
// synchronous wrapper around the asynchronous VolumeRef::Submit, and a harness that owns a
// MemoryStore and a VolumeManager and can reopen or "crash" (reopen from a copy of the store).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <cstring>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine_options.h"
#include "engine/object_format.h"
#include "engine/volume_manager.h"
#include "pipeline/codec_chain.h"
#include "pipeline/retrying_store.h"
#include "support/memory_store.h"
#include "support/status_assert.h"
#include "util/crc32c.h"

namespace bp::test {

// Sequence numbers of the segment or checkpoint keys under prefix, ascending.
inline std::vector<uint64_t> Seqs(MemoryStore& store, const std::string& prefix) {
  std::vector<uint64_t> out;
  for (const auto& k : store.Keys(prefix)) {
    uint64_t seq;
    if (ParseSeqKey(k, prefix, &seq)) out.push_back(seq);
  }
  return out;
}

// Xors every byte with a key stream derived from the volume uuid and the unit's identity, and
// appends a magic and the crc32c of the plain bytes. Decoding a unit with the wrong identity,
// or any flipped byte, fails with Corrupt.
class XorCodec : public Codec {
 public:
  explicit XorCodec(uint8_t salt) : salt_(salt) {}
  const std::string& name() const override { return name_; }
  uint32_t flags() const override { return BP_CODEC_AUTHENTICATES; }
  Status Encode(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                Bytes* out) override {
    // Appends, as the Codec contract says (the chain encodes units in place into segments).
    uint8_t k = Key(uuid, unit);
    const size_t base = out->size();
    out->resize(base + n + 8);
    uint8_t* dst = out->data() + base;
    for (size_t i = 0; i < n; ++i) dst[i] = in[i] ^ static_cast<uint8_t>(k + i);
    uint32_t crc = Crc32c(in, n);
    std::memcpy(dst + n, "XOR1", 4);
    std::memcpy(dst + n + 4, &crc, 4);
    return Status::Ok();
  }
  Status Decode(const uint8_t uuid[16], const UnitId& unit, const uint8_t* in, size_t n,
                Bytes* out) override {
    if (n < 8 || std::memcmp(in + n - 8, "XOR1", 4) != 0) return Status::Corrupt("xor: bad magic");
    uint8_t k = Key(uuid, unit);
    const size_t base = out->size();
    out->resize(base + n - 8);
    uint8_t* dst = out->data() + base;
    for (size_t i = 0; i < n - 8; ++i) dst[i] = in[i] ^ static_cast<uint8_t>(k + i);
    uint32_t crc;
    std::memcpy(&crc, in + n - 4, 4);
    if (crc != Crc32c(dst, n - 8)) return Status::Corrupt("xor: checksum mismatch");
    return Status::Ok();
  }

 private:
  uint8_t Key(const uint8_t uuid[16], const UnitId& unit) const {
    return static_cast<uint8_t>(uuid[0] ^ uuid[15] ^ salt_ ^ unit.kind * 7 ^ unit.object_seq * 13 ^
                                unit.unit_index * 31 ^ unit.logical_length);
  }
  std::string name_ = "xor";
  uint8_t salt_;
};

// Knows one codec, "xor", whose header is its salt byte.
class TestCodecFactory : public CodecFactory {
 public:
  std::vector<std::string> chain = {"xor"};
  Status CreateChain(const uint8_t uuid[16], const std::string&, std::vector<CodecRecord>* records,
                     std::unique_ptr<CodecChain>* out) override {
    std::vector<std::unique_ptr<Codec>> codecs;
    records->clear();
    for (const auto& name : chain) {
      if (name != "xor") return Status::NotFound("codec plugin " + name + " is not loaded");
      uint8_t salt = static_cast<uint8_t>(0x5A + records->size());
      records->push_back({name, Bytes{salt}});
      codecs.push_back(std::make_unique<XorCodec>(salt));
    }
    *out = std::make_unique<CodecChain>(uuid, std::move(codecs));
    return Status::Ok();
  }
  Status OpenChain(const uint8_t uuid[16], const std::string& volume,
                   const std::vector<CodecRecord>& records,
                   std::unique_ptr<CodecChain>* out) override {
    std::vector<std::unique_ptr<Codec>> codecs;
    for (const auto& r : records) {
      if (r.name != "xor") {
        return Status::NotFound("volume " + volume + " needs codec plugin '" + r.name +
                                "', which is not loaded");
      }
      if (r.header.size() != 1) return Status::Invalid("xor: bad header");
      codecs.push_back(std::make_unique<XorCodec>(r.header[0]));
    }
    *out = std::make_unique<CodecChain>(uuid, std::move(codecs));
    return Status::Ok();
  }
};

// Result of an asynchronous request, waited for with a bound.
struct IoResult {
  bool finished = false;
  int error = -1;
};

class AsyncIo {
 public:
  AsyncIo(uint32_t op, uint64_t offset, uint64_t length, void* buf, uint32_t flags = 0) {
    io_.op = op;
    io_.offset = offset;
    io_.length = length;
    io_.buf = buf;
    io_.flags = flags;
    io_.user = this;
    io_.done = [](bp_io* io, int error) {
      auto* self = static_cast<AsyncIo*>(io->user);
      std::lock_guard<std::mutex> lock(self->mu_);
      self->calls_++;
      self->error_ = error;
      self->cv_.notify_all();
    };
  }
  bp_io* io() { return &io_; }
  // Waits up to `ms`; returns -1000 on timeout.
  int Wait(int ms = 5000) {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return calls_ > 0; }))
      return -1000;
    return error_;
  }
  bool Finished() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_ > 0;
  }
  int calls() {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_;
  }

 private:
  bp_io io_{};
  std::mutex mu_;
  std::condition_variable cv_;
  int calls_ = 0;
  int error_ = 0;
};

inline int DoIo(VolumeRef& ref, uint32_t op, uint64_t offset, uint64_t length, void* buf,
                uint32_t flags = 0) {
  AsyncIo a(op, offset, length, buf, flags);
  ref.Submit(a.io());
  int e = a.Wait();
  EXPECT_NE(e, -1000) << "request timed out";
  EXPECT_EQ(a.calls(), 1);
  return e;
}
inline int Write(VolumeRef& ref, uint64_t offset, const Bytes& data, uint32_t flags = 0) {
  return DoIo(ref, BP_IO_OP_WRITE, offset, data.size(), const_cast<uint8_t*>(data.data()), flags);
}
inline int Read(VolumeRef& ref, uint64_t offset, uint64_t length, Bytes* out) {
  out->assign(length, 0xEE);
  return DoIo(ref, BP_IO_OP_READ, offset, length, out->data());
}
inline int Flush(VolumeRef& ref) { return DoIo(ref, BP_IO_OP_FLUSH, 0, 0, nullptr); }

// Polls cond for up to ms milliseconds.
inline bool WaitFor(const std::function<bool()>& cond, int ms = 3000) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (std::chrono::steady_clock::now() < until) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return cond();
}

inline Bytes Pattern(size_t n, uint32_t seed) {
  Bytes b(n);
  uint32_t x = seed * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    b[i] = static_cast<uint8_t>(x);
  }
  return b;
}

// A clock that moves only when the test says so. Waits on it return within a millisecond of
// real time so the engine's threads notice an Advance; the waiters re-check the virtual time.
class ManualClock final : public Clock {
 public:
  TimePoint Now() const override {
    MutexLock lock(&mu_);
    return now_;
  }
  uint64_t UnixMs() const override {
    return 1'800'000'000'000ull +
           std::chrono::duration_cast<std::chrono::milliseconds>(Now().time_since_epoch()).count();
  }
  void WaitUntil(CondVar* cv, Mutex* mu, TimePoint until) override BP_REQUIRES(mu) {
    (void)until;
    cv->WaitUntil(mu, std::chrono::steady_clock::now() + std::chrono::milliseconds(1));
  }
  void Advance(Duration d) {
    MutexLock lock(&mu_);
    now_ += d;
  }

 private:
  mutable Mutex mu_;
  TimePoint now_ BP_GUARDED_BY(mu_){std::chrono::hours(1)};
};

inline EngineOptions SmallOptions() {
  EngineOptions o;
  o.segment_size = 256u << 10;
  o.unit_size = 16u << 10;
  o.flush_interval_ms = 60000;  // tests seal explicitly unless they test the timer
  o.checkpoint_every_segments = 4;
  o.write_buffer_limit = 4u << 20;
  o.cache_memory = 1u << 20;
  o.io_threads = 4;
  o.retry_deadline_ms = 2000;
  // One data dir's writer: a harness that crashes and reopens takes its volumes back.
  o.writer_id = "00112233445566778899aabbccddeeff";
  // Background garbage collection would move data between segments on its own schedule; tests
  // that expect particular segments run it explicitly (VolumeManager::RunGc) or turn it on.
  o.gc_enabled = false;
  return o;
}

struct Harness {
  std::shared_ptr<MemoryStore> store = std::make_shared<MemoryStore>();
  TestCodecFactory codecs;
  EngineOptions options = SmallOptions();
  Clock* clock = Clock::Real();  // a test may point it at a ManualClock before Start
  std::unique_ptr<VolumeManager> manager;

  // The engine sees the store as the daemon does, through the layer that resolves lost
  // replies (RetryingStore), here with one attempt per call so failures reach the engine.
  void Start() {
    RetryPolicy once;
    once.deadline = std::chrono::milliseconds(0);
    once.clock = clock;
    VolumeManager::Environment env;
    env.clock = clock;
    manager = std::make_unique<VolumeManager>(std::make_shared<RetryingStore>(store, once), &codecs,
                                              options, std::move(env));
  }
  Status StartAndOpen() {
    Start();
    return manager->OpenAll();
  }
  std::unique_ptr<VolumeRef> Ref(const std::string& name = "v", bool read_only = false) {
    std::unique_ptr<VolumeRef> ref;
    Status s = manager->OpenRef(name, read_only, &ref);
    EXPECT_OK(s);
    return ref;
  }
  // Flushes `ref` and, when the segment that flush made durable is due a periodic checkpoint
  // (engine.checkpoint_every_segments after the newest one), waits for that checkpoint. The
  // engine writes one checkpoint at a time, so on a loaded machine (sanitizers, parallel
  // tests) a slow checkpoint would otherwise move the next one past the segment a test expects.
  void FlushSegment(VolumeRef& ref, const std::string& name = "v") {
    ASSERT_EQ(Flush(ref), 0);
    uint64_t last = 0;
    for (const auto& v : manager->List()) {
      if (v.name == name) last = v.last_segment;
    }
    auto checkpoints = Seqs(*store, CheckpointPrefix(name));
    const uint64_t newest = checkpoints.empty() ? 0 : checkpoints.back();
    if (last == 0 || last < newest + options.checkpoint_every_segments) return;
    ASSERT_TRUE(WaitFor([&] { return store->Has(CheckpointKey(name, last)); }))
        << "volume " << name << ": no checkpoint " << last;
  }
  // Clean restart: shutdown (flush + checkpoint) and open again.
  Status Restart() {
    Status s = manager->Shutdown();
    manager.reset();
    if (!s.ok()) return s;
    return StartAndOpen();
  }
  // Crash: keep only what the store holds right now, in a fresh store; the old manager is
  // detached from it first so its shutdown cannot add anything.
  Status Crash() {
    auto survivor = std::make_shared<MemoryStore>();
    for (const auto& k : store->Keys()) survivor->Poke(k, store->Peek(k));
    store->FailNext(MemoryStore::Op::kPut, Status::Permanent("crashed"), 1 << 30);
    manager.reset();
    store = survivor;
    return StartAndOpen();
  }
};

}  // namespace bp::test
