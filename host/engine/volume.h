// Volume: one open log-structured volume — the request path (reads, writes, trims, zeroes,
// flushes, prefetch), the write buffer and its sealing into segments, strictly sequential
// uploads with group commit, fencing, checkpoints, and recovery at open.
//
// Concurrency: one mutex per volume guards everything below it and is held only for memory
// work (buffer copies, map lookups, cache lookups); backend I/O and codec work run on the shared
// ThreadPool with the mutex released. Requests that need no I/O complete inline in Submit.
// Unit data fetched for a read-modify-write is merged only after re-resolving the block under
// the mutex, so a block that changed meanwhile is never overwritten with stale content.
//
// Implementation is split by concern: volume_io.cpp (requests), volume_commit.cpp (sealing,
// uploads, flush, checkpoints, timer), volume_open.cpp (recovery and close), volume_reclaim.cpp
// (deleting segments that no kept checkpoint needs).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <blockpipe/bp_frontend.h>

#include "cache/unit_cache.h"
#include "engine/engine_options.h"
#include "engine/executor.h"
#include "engine/segment_format.h"
#include "engine/thread_pool.h"
#include "engine/volume_manager.h"
#include "engine/volume_meta.h"
#include "engine/volume_state.h"
#include "engine/write_buffer.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/clock.h"

namespace bp {

// Largest READ/WRITE payload a volume accepts (advertised as max_request).
constexpr uint32_t kMaxRequestBytes = 32u << 20;

class Volume : public std::enable_shared_from_this<Volume> {
 public:
  // What every volume of one manager shares.
  struct Services {
    std::shared_ptr<ObjectStore> store;
    Executor* pool = nullptr;
    UnitCache* cache = nullptr;
    EngineOptions options;
    Clock* clock = Clock::Real();
  };

  // Open an existing volume: recover its map from the newest valid checkpoint and the segments
  // after it. writable=false serves reads only. fenced=true puts segments with put-if-absent.
  static Status Open(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
                     bool writable, bool fenced_puts, std::shared_ptr<Volume>* out);
  ~Volume();

  const std::string& name() const { return meta_.name; }
  const VolumeMeta& meta() const { return meta_; }
  const CodecChain& chain() const { return *chain_; }

  // Frontend entry points (see VolumeRef). ref_read_only: the reference may not write.
  void Info(bp_volume_info* info, bool ref_read_only) const;
  void Submit(bp_io* io, bool ref_read_only);

  // Seal and upload everything written so far and wait for it (bounded by the retry deadline).
  Status FlushSync();
  // Periodic work from the manager's timer: age-based sealing, upload retries, and expiry of
  // writes waiting for buffer room.
  void Tick(Clock::TimePoint now);
  // Stop serving. clean: refuse new writes, flush, write a final checkpoint. Otherwise drop
  // buffered data (the volume is being deleted). Waits for background work. Idempotent.
  Status Close(bool clean);

  VolumeSummary Summary() const;
  bool read_only() const;

  std::atomic<uint32_t> references{0};

 private:
  struct PendingSegment {
    uint64_t seq = 0;
    std::unique_ptr<WriteBuffer> buffer;  // readable until the segment is durable
    uint64_t bytes = 0;                   // buffer memory counted against the limit
    bool encoded = false;
    bool failed = false;
    Status encode_status;
    SegmentImage image;  // the encoded object, built in memory recycled between segments
  };
  struct FlushWaiter {
    uint64_t target;  // durable once seq >= target
    bp_io* io;
  };
  struct DeferredWrite {
    bp_io* io;
    Clock::TimePoint since;
  };
  // Completions collected under the lock and delivered after it is released.
  class Completions {
   public:
    void Add(bp_io* io, int error) { items_.push_back({io, error}); }
    void Fire();
    ~Completions() { Fire(); }
   private:
    std::vector<std::pair<bp_io*, int>> items_;
  };
  // Units a read-modify-write has fetched, kept alive across its retries.
  using HeldUnits = std::vector<std::pair<UnitKey, UnitData>>;
  struct UnitNeed {
    UnitKey key;
    uint64_t seq = 0;
    uint32_t unit_index = 0;
    UnitLoc loc;
    bool map_broken = false;  // the map names a unit the table lacks (never expected)
  };
  struct ReadSpan {
    uint64_t dst = 0, src = 0, len = 0;
  };
  struct UnitFetch {
    UnitNeed unit;
    std::vector<ReadSpan> spans;
  };
  // A span of a cached unit, copied into the request after the volume lock is released (the
  // unit is immutable and kept alive by the reference).
  struct CachedSpan {
    UnitData unit;
    ReadSpan span;
  };

  Volume(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
         bool writable, bool fenced_puts);
  static void Complete(bp_io* io, int error) { io->done(io, error); }

  // ---- volume_open.cpp ----
  Status Recover();

  // ---- volume_io.cpp ----
  void SubmitRead(bp_io* io);
  void SubmitModify(bp_io* io);
  void SubmitCache(bp_io* io);
  void ModifySlow(bp_io* io);
  // Fill what memory can serve; append unit fetches for the rest. False if the map is broken.
  bool PlanReadLocked(uint64_t offset, uint64_t length, uint8_t* buf,
                      std::vector<UnitFetch>* plan, std::vector<CachedSpan>* hits);
  void RunFetches(bp_io* io, std::vector<UnitFetch> plan, uint64_t epoch);
  void ReadAheadLocked(uint64_t next_block, uint64_t blocks, std::vector<UnitNeed>* out);
  void Prefetch(const std::vector<UnitNeed>& units);
  // Apply a write/trim/zero to the active buffer if every partial edge block is available in
  // memory; otherwise describe the unit to fetch in *need and change nothing.
  bool TryModifyLocked(const bp_io* io, const HeldUnits& held, UnitNeed* need);
  bool BlockForMergeLocked(uint64_t lba, const HeldUnits& held, uint8_t* out, UnitNeed* need);
  void StoreBlockLocked(uint64_t lba, const uint8_t* data);
  void AfterModifyLocked(bp_io* io, Completions* done);
  WriteBuffer::Hit LookupBuffersLocked(uint64_t lba, const uint8_t** data) const;
  bool HasRoomLocked(uint64_t length) const;
  void DeferLocked(bp_io* io);
  Status LoadUnit(const UnitNeed& unit, UnitData* out);
  UnitKey KeyFor(uint64_t seq, uint32_t unit_index) const;

  // ---- volume_commit.cpp ----
  void SubmitFlush(bp_io* io);
  void AddWaiterLocked(bp_io* io, Completions* done);
  void SealLocked();
  void MaybeSealFullLocked();
  void PumpLocked(bool retry_now);
  void EncodeSegment(std::shared_ptr<PendingSegment> seg);
  void UploadSegment(std::shared_ptr<PendingSegment> seg);
  void CacheScatteredUnits(const PendingSegment& seg);
  void FailWaitersLocked(int error, Completions* done);
  void ResumeDeferredLocked();
  void MaybeCheckpointLocked();
  // covered_bytes: durable_bytes_ when the checkpoint's state was taken.
  void WriteCheckpoint(uint64_t seq, Bytes plain, uint64_t covered_bytes);
  Status PutCheckpoint(uint64_t seq, const Bytes& plain);
  // Keep the newest kCheckpointsKept checkpoints; *kept (optional) receives the kept seqs.
  // False when the listing failed.
  bool DeleteOldCheckpoints(std::vector<uint64_t>* kept = nullptr);
  void FenceLocked(const std::string& why, Completions* done);
  void BackgroundDoneLocked();
  // Keep a durable segment's buffer and image memory for the next segments, within the limit.
  void RecycleLocked(PendingSegment* seg);

  // ---- volume_reclaim.cpp ----
  // A unit fetch planned under the lock registers the checkpoint epoch it was planned in.
  uint64_t BeginFetchLocked();
  void EndFetchLocked(uint64_t epoch);
  // Remember which segments checkpoint `seq` (serialized now, in `epoch`) lists as live.
  void RecordCheckpointLocked(uint64_t seq, uint64_t epoch);
  // Delete the dead segments at or below checkpoint `reference` (the oldest kept one) once no
  // older fetch is in flight; 0 retries a deferred pass.
  void ScheduleReclaimLocked(uint64_t reference);
  void ReclaimDeadSegments(uint64_t reference_seq, const std::vector<uint64_t>& live);

  const Services svc_;
  const VolumeMeta meta_;
  const std::unique_ptr<CodecChain> chain_;
  const uint64_t volume_blocks_;
  const bool writable_;
  const bool fenced_puts_;
  // Scattered units enter the unit cache as they become durable, unless the backend reads
  // locally (BP_BACKEND_CAP_LOCAL_READS): then the page cache already holds them.
  const bool cache_written_units_;

  mutable std::mutex mu_;
  std::condition_variable idle_cv_;  // background_ reached 0, or a checkpoint finished
  VolumeState state_;
  std::unique_ptr<WriteBuffer> active_;
  Clock::TimePoint active_since_{};
  bool active_has_waiters_ = false;
  std::deque<std::shared_ptr<PendingSegment>> pending_;
  std::vector<std::unique_ptr<WriteBuffer>> spare_buffers_;
  std::vector<Bytes> spare_images_;  // storage of uploaded segment images, kept for reuse
  uint64_t spare_bytes_ = 0;         // memory the two spare lists hold
  uint64_t pending_bytes_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t durable_seq_ = 0;
  uint64_t last_checkpoint_seq_ = 0;
  // Pacing of periodic checkpoints by size (MaybeCheckpointLocked).
  uint64_t durable_bytes_ = 0;  // bytes of the segments this process made durable
  uint64_t checkpoint_due_bytes_ = 0;  // no periodic checkpoint before durable_bytes_ reaches it
  bool uploading_ = false;  // the upload slot: an upload, or a checkpoint being serialized
  bool checkpointing_ = false;
  bool fenced_ = false;
  bool accepting_writes_ = true;
  bool closed_ = false;
  std::vector<FlushWaiter> waiters_;
  std::deque<DeferredWrite> deferred_;
  int background_ = 0;
  Clock::TimePoint retry_at_{};
  uint32_t retry_backoff_ms_ = 0;
  uint64_t sequential_next_block_ = UINT64_MAX;  // read-ahead detection

  // Dead-segment reclamation (volume_reclaim.cpp).
  struct CheckpointLiveSet {
    uint64_t epoch = 0;
    std::vector<uint64_t> live;  // ascending segment seqs with live data
  };
  uint64_t fetch_epoch_ = 0;                        // bumped when a checkpoint is serialized
  std::map<uint64_t, uint32_t> fetches_by_epoch_;   // planned unit fetches still running
  std::map<uint64_t, CheckpointLiveSet> checkpoint_live_;  // by checkpoint seq
  uint64_t reclaim_reference_ = 0;                  // deferred pass, 0 = none
  bool reclaiming_ = false;
};

}  // namespace bp
