// Volume: one open log-structured volume. It coordinates five parts, each with one job and its
// own file, and runs the I/O they hand out on the executor:
//
//   WritePath         (write_path.h)         the active write buffer, applying writes, trims and
//                                            zeroes, backpressure, FLUSH/FUA waiters
//   SegmentCommitter  (segment_committer.h)  sealed segments until durable: seq numbers, the
//                                            upload slot, retries, memory recycling
//   Checkpointer      (checkpointer.h)       when to write a checkpoint; CheckpointStore writes
//   Reclaimer         (reclaimer.h)          when a dead segment may be deleted
//   ReadPath          (read_path.h)          planning reads, read-ahead and CACHE; UnitLoader
//                                            fetches and decodes units
//
// Locking. One mutex, mu_, guards the volume's state and every part's books (Clang's
// -Wthread-safety checks each access, see BP_GUARDED_BY below). It is held only for memory
// work (buffer copies, map lookups, cache lookups); backend I/O and codec work run on the
// executor with it released, through the parts' thread-safe halves (CheckpointStore,
// UnitLoader, ReclaimDeadSegments, the segment encoder), which touch only immutable data.
// Requests that need no I/O complete inline in Submit; completions are always delivered after
// mu_ is released (Completions). Unit data fetched for a read-modify-write is merged only after
// re-resolving the block under mu_, so a block that changed meanwhile is never overwritten with
// stale content.
//
// Implementation files: volume.cpp (requests in, tick, close, summary), volume_read.cpp,
// volume_write.cpp (modify, flush), volume_commit.cpp (seal, encode, upload, fence),
// volume_checkpoint.cpp (checkpoints and reclaim), volume_open.cpp (recovery).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <blockpipe/bp_frontend.h>
#include <blockpipe/bp_thread_safety.h>

#include "cache/disk_cache.h"
#include "cache/unit_cache.h"
#include "engine/checkpointer.h"
#include "engine/collector.h"
#include "engine/completions.h"
#include "engine/engine_options.h"
#include "engine/executor.h"
#include "engine/read_path.h"
#include "engine/reclaimer.h"
#include "engine/segment_committer.h"
#include "engine/segment_pins.h"
#include "engine/snapshot_catalog.h"
#include "engine/snapshot_format.h"
#include "engine/store_usage.h"
#include "engine/volume_layers.h"
#include "engine/volume_manager.h"
#include "engine/volume_meta.h"
#include "engine/volume_state.h"
#include "engine/write_path.h"
#include "journal/local_journal.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/clock.h"

namespace bp {

// Largest READ/WRITE payload a volume accepts (advertised as max_request).
constexpr uint32_t kMaxRequestBytes = 32u << 20;

struct RecoveryPlan;  // engine/recovery_plan.h

class Volume : public std::enable_shared_from_this<Volume> {
 public:
  // What every volume of one manager shares.
  struct Services {
    std::shared_ptr<ObjectStore> store;
    Executor* pool = nullptr;
    UnitCache* cache = nullptr;
    EngineOptions options;
    Clock* clock = Clock::Real();
    // The local journal when options.durability is kLocal (owned by the manager), else null.
    LocalJournal* journal = nullptr;
    // The writer-run id of the next open (nonzero); 0 draws a random one. The simulator sets it
    // from its seed, so a run never reads std::random_device.
    uint64_t run_id = 0;
    DiskCache* disk_cache = nullptr;  // null: no disk cache (owned by the manager)
  };

  // Open an existing volume: recover its map from the newest valid checkpoint and the segments
  // after it. writable=false serves reads only. fenced_puts=true puts segments with
  // put-if-absent.
  static Status Open(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
                     bool writable, bool fenced_puts, std::shared_ptr<Volume>* out);

  // The same for a clone (bases: VolumeLayers::OpenBases of its metadata), or, with `view`, a
  // read-only view of one of the volume's snapshots: its map is rebuilt strictly from the
  // snapshot's checkpoint and segments (a missing one fails the open), and it writes nothing.
  struct OpenOptions {
    bool writable = false;
    bool fenced_puts = false;
    std::vector<VolumeLayers::Base> bases;
    const SnapshotRecord* view = nullptr;
  };
  static Status Open(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
                     OpenOptions options, std::shared_ptr<Volume>* out);
  ~Volume();

  const std::string& name() const { return meta_.name; }
  const VolumeMeta& meta() const { return meta_; }
  const CodecChain& chain() const { return *chain_; }

  // Frontend entry points (see VolumeRef). ref_read_only: the reference may not write.
  void Info(bp_volume_info* info, bool ref_read_only) const BP_EXCLUDES(mu_);
  void Submit(bp_io* io, bool ref_read_only) BP_EXCLUDES(mu_);
  // The allocation of a byte range (VolumeRef::Extents; volume_extents.cpp).
  Status Extents(uint64_t offset, uint64_t length, size_t max_extents,
                 std::vector<bp_extent>* out) const BP_EXCLUDES(mu_);

  // Seal and upload everything written so far and wait for it (bounded by the retry deadline).
  Status FlushSync() BP_EXCLUDES(mu_);
  // Periodic work from the manager's timer: age-based sealing, upload retries, deferred
  // reclaim passes, and expiry of writes waiting for buffer room.
  void Tick(Clock::TimePoint now) BP_EXCLUDES(mu_);
  // Stop serving. clean: refuse new writes, flush, write a final checkpoint. Otherwise drop
  // buffered data (the volume is being deleted). Waits for background work. Idempotent.
  Status Close(bool clean) BP_EXCLUDES(mu_);

  // Give back memory kept for reuse (spare write buffers and images, an empty active buffer's
  // slabs) when the daemon is idle; the next writes allocate again.
  void ReleaseIdleMemory() BP_EXCLUDES(mu_);

  VolumeSummary Summary() const BP_EXCLUDES(mu_);
  bool read_only() const BP_EXCLUDES(mu_);

  // ---- snapshots (volume_snapshot.cpp) ----
  // Take snapshot `name` (a valid volume name): flush every write acknowledged so far, then
  // record the newest stored checkpoint and the last durable segment (put-if-absent of the
  // record, O(1) whatever the volume's size). Precondition when the name is taken or the
  // volume is read-only or fenced here.
  Status CreateSnapshot(const std::string& name, SnapshotRecord* out) BP_EXCLUDES(mu_);
  // Delete the record; what only it needed is reclaimed once no pin holds it.
  Status DeleteSnapshot(const std::string& name) BP_EXCLUDES(mu_);
  // A clone reference this volume holds (its record is in the store) pins like a snapshot.
  void AddPin(const Pin& pin) { snapshot_pins_.Add(pin); }
  void RemovePin(Pin::Kind kind, const std::string& id) BP_EXCLUDES(mu_);
  VolumePins Pins() const { return snapshot_pins_.Snapshot(); }
  // Another part (the volume manager's clones) put or deleted an object under this volume's
  // prefix: STORED follows it.
  void ObjectStored(const std::string& key, uint64_t size) BP_EXCLUDES(mu_);
  void ObjectDeleted(const std::string& key) BP_EXCLUDES(mu_);
  const VolumeLayers& layers() const { return layers_; }
  // ---- resize (volume_resize.cpp) ----
  // After a flush: whether data is mapped at or past byte `size`.
  Status MappedBeyond(uint64_t size, bool* mapped) BP_EXCLUDES(mu_);
  // Trim [offset, end) even past the served size, and flush.
  Status TrimFrom(uint64_t offset, uint64_t end) BP_EXCLUDES(mu_);
  // Serve `size` bytes from now on (new connections see it; requests past it are refused).
  void SetSize(uint64_t size) BP_EXCLUDES(mu_);
  uint64_t size() const { return size_.load(); }

  // The segments the current map points into, with their object sizes.
  std::map<uint64_t, uint64_t> LiveSegments() const BP_EXCLUDES(mu_);

  // Garbage collection (volume_gc.cpp): run a pass now, whatever [gc] enabled and rate say.
  // Returns the pass number; Summary().gc_passes_done reaches it when the pass has rewritten
  // what it could and the segments it emptied are deleted (or pinned). Fails on a volume that
  // is not writable (read-only or fenced: only the owner collects).
  Status RequestGc(uint64_t* pass) BP_EXCLUDES(mu_);

  std::atomic<uint32_t> references{0};

 private:
  // Where the volume is in its life. Requests are served while kServing; kDraining refuses new
  // writes while Close flushes; kClosed refuses everything.
  enum class Phase { kServing, kDraining, kClosed };
  // Whether writes are possible: opened read-only, writable, or fenced off by another writer
  // (which turns a writable volume read-only for good).
  enum class Access { kReadOnly, kWritable, kFenced };

  Volume(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
         OpenOptions options);
  static void Complete(bp_io* io, int error) { io->done(io, error); }
  // Run task on the executor as counted background work (Close waits for it).
  void RunInBackground(std::function<void()> task) BP_REQUIRES(mu_);
  void BackgroundDone() BP_REQUIRES(mu_);

  // ---- volume_open.cpp ----
  Status Recover() BP_EXCLUDES(mu_);
  // A snapshot view's open: the snapshot's map, strictly.
  Status RecoverView() BP_EXCLUDES(mu_);
  // Upload the journaled segments the store lacks (from `through` + 1, in seq order, up to the
  // first gap or damaged row), then forget this volume's journal rows. *replayed: how many.
  Status ReplayJournal(uint64_t through, uint64_t* replayed) BP_EXCLUDES(mu_);
  // Whether segment `key` (seq, `size` bytes) is one of this volume's own uploads that a crash
  // of the machine tore before it was synced: the store defers durability and the object fails
  // validation as a segment.
  bool TornByPowerLoss(ObjectStore& store, const std::string& key, uint64_t seq,
                       uint64_t size) const BP_EXCLUDES(mu_);
  // Segments past the valid prefix after a crash: claim the first missing seq with an empty
  // segment of this run, then delete the orphans (see docs/format.md, "Opening a volume").
  Status ClearOrphans(const RecoveryPlan& plan, uint64_t* through) BP_EXCLUDES(mu_);

  // ---- volume_read.cpp ----
  void SubmitRead(bp_io* io) BP_EXCLUDES(mu_);
  void SubmitCache(bp_io* io) BP_EXCLUDES(mu_);
  void RunFetches(bp_io* io, std::vector<UnitFetch> plan, uint64_t epoch) BP_EXCLUDES(mu_);
  // Load units into the cache in the background, a task per run of adjacent units so the runs
  // load in parallel (read-ahead: speculative tasks; CACHE: ordinary ones, and io completes
  // after the last).
  void PrefetchInBackground(std::vector<UnitRef> units, bp_io* io, bool speculative)
      BP_REQUIRES(mu_);

  // ---- volume_write.cpp ----
  void SubmitModify(bp_io* io) BP_EXCLUDES(mu_);
  // A modify that needs units loaded first, or waited for room: retried without the lock.
  void ModifySlow(bp_io* io) BP_EXCLUDES(mu_);
  // Outcome of trying to apply a modify under the lock.
  enum class Applied { kDone, kDeferred, kNeedUnit };
  Applied TryModify(bp_io* io, const HeldUnits& held, UnitRef* need, Completions* done)
      BP_REQUIRES(mu_);
  bool EdgeBlock(const HeldUnits& held, uint64_t lba, uint8_t* out, UnitRef* need,
                 bool* map_broken) const BP_REQUIRES(mu_);
  bool HasRoom(uint64_t length) const BP_REQUIRES(mu_);
  void SubmitFlush(bp_io* io) BP_EXCLUDES(mu_);
  void AddWaiter(bp_io* io, Completions* done) BP_REQUIRES(mu_);
  void DeferWrite(bp_io* io) BP_REQUIRES(mu_);
  void ResumeDeferred() BP_REQUIRES(mu_);

  // ---- volume_commit.cpp ----
  void Seal() BP_REQUIRES(mu_);
  void SealIfFull() BP_REQUIRES(mu_);
  // Start whatever the committer says comes next (an upload, or a re-encode).
  void Pump(bool retry_now) BP_REQUIRES(mu_);
  void EncodeSegment(std::shared_ptr<PendingSegment> seg) BP_EXCLUDES(mu_);
  void UploadSegment(std::shared_ptr<PendingSegment> seg) BP_EXCLUDES(mu_);
  // The upload of seg succeeded and its map delta is applied: release it, complete the flushes
  // it satisfies, and start what follows.
  void SegmentDurable(const std::shared_ptr<PendingSegment>& seg, Completions* done)
      BP_REQUIRES(mu_);
  // Apply uploaded segments at the head of the queue to the map, in seq order (drops mu_
  // between slices of a large segment), then start what follows.
  void ApplyDurableHeads(Completions* done) BP_REQUIRES(mu_);
  // An upload failed: fail the flushes nothing else will complete soon (all of them in store
  // mode; with the journal, those it cannot take either).
  void FailUncoveredWaiters(Completions* done) BP_REQUIRES(mu_);
  // Group commit: whether the active buffer is sealed now for the flushes waiting on it.
  bool SealForWaitersNow() const BP_REQUIRES(mu_);
  // Whether flushes are satisfied from the local journal now: durability = "local", and the
  // store is remote or its uploads are failing (on a local store the upload and sync cost what
  // the journal would, without writing the data twice).
  bool JournalTakesFlushes() const BP_REQUIRES(mu_);

  // ---- volume_sync.cpp (stores with deferred durability, BP_BACKEND_CAP_DEFER_SYNC) ----
  // Start a sync of every unsynced segment if a waiting flush needs one (or `force`: the tick's
  // age bound, a snapshot, a clean close), unless one is running.
  void MaybeSync(bool force) BP_REQUIRES(mu_);
  void SyncSegments(std::vector<uint64_t> seqs) BP_EXCLUDES(mu_);
  // Sync the given segments now, on the calling task (a checkpoint before it refers to them).
  Status SyncNow(const std::vector<uint64_t>& seqs) const BP_EXCLUDES(mu_);
  // Segments through `through` are synced: the journal may forget them, flushes complete.
  void SegmentsSynced(uint64_t through, Completions* done) BP_REQUIRES(mu_);
  // After recovery: what a crashed process uploaded without syncing becomes durable before
  // anything is acknowledged on top of it.
  Status SyncRecovered(uint64_t after, uint64_t through) const BP_EXCLUDES(mu_);

  // ---- volume_journal.cpp (durability = "local") ----
  // Journal what the waiting flushes need, if no journal commit is running: the sealed
  // segments whole, and the active buffer's changes as a delta (or, when they are too many for
  // one, the active buffer sealed, to go whole once encoded).
  void MaybeJournal() BP_REQUIRES(mu_);
  // One journal commit: the sealed segments the waiting flushes need, whole, and a delta of
  // the active buffer. Kept between commits (journal_spare_) so the delta's buffer and image
  // memory is reused.
  struct JournalBatch {
    std::vector<std::shared_ptr<PendingSegment>> segs;
    bool has_delta = false;
    uint64_t delta_seq = 0;
    uint32_t delta_number = 0;
    uint64_t delta_stamp = 0;  // the delta covers the active buffer's changes through this
    WriteBuffer delta;
    SegmentImage delta_image;
    uint64_t run_id = 0;
    uint64_t run_first_seq = 0;
  };
  void CommitJournalBatch(std::shared_ptr<JournalBatch> batch, uint64_t reserved) BP_EXCLUDES(mu_);
  // The batch's delta is committed (ok) or not: book it where its buffer is now.
  void DeltaCommitted(const JournalBatch& batch, bool ok) BP_REQUIRES(mu_);
  // Whether the active buffer's unjournaled changes go to the journal as a delta.
  bool ActiveDeltaFits() const BP_REQUIRES(mu_);
  // Complete the flushes that the durable, synced and journaled segments and deltas cover.
  void CompleteAckedWaiters(Completions* done) BP_REQUIRES(mu_);
  // The stamp through which the journal's deltas cover segment seq (0: none).
  uint64_t JournaledStampOf(uint64_t seq) const BP_REQUIRES(mu_);
  // Replay: rebuild segment `seq` from its deltas rows[begin, end) and upload it. *stop: the
  // replay ends after it (a damaged or missing delta, or another writer's segment).
  Status ReplayDeltas(const std::vector<JournalRow>& rows, size_t begin, size_t end, bool* uploaded,
                      bool* stop) BP_EXCLUDES(mu_);
  // A durable segment leaves the journal (batched drops on the executor).
  void SegmentLeftJournal(uint64_t seq, bool journaled) BP_REQUIRES(mu_);
  void DropJournaled() BP_EXCLUDES(mu_);
  // At a clean close: wait until every segment is uploaded and the journal holds none of them.
  Status DrainJournal() BP_EXCLUDES(mu_);
  // volume_commit.cpp: put units of a segment just uploaded into the unit cache (on a remote
  // store its scattered units, on any store those holding blocks garbage collection moved from
  // cached units); CacheUnits copies and inserts the chosen ones.
  void CacheUploadedUnits(const PendingSegment& seg) BP_EXCLUDES(mu_);
  void CacheUnits(const PendingSegment& seg, const std::vector<uint32_t>& unit_indexes)
      BP_EXCLUDES(mu_);
  // volume_read.cpp: queue the stored units of a segment just uploaded for the disk cache.
  void DiskCacheUploaded(const PendingSegment& seg) BP_EXCLUDES(mu_);
  void Fence(const std::string& why, Completions* done) BP_REQUIRES(mu_);
  bool accepting_writes() const BP_REQUIRES(mu_) {
    return phase_ == Phase::kServing && access_ == Access::kWritable;
  }

  // ---- volume_checkpoint.cpp ----
  void MaybeCheckpoint() BP_REQUIRES(mu_);
  // Store checkpoint seq (plain: serialized state; covered_bytes: Checkpointer::Begin's), after
  // syncing the segments through seq that were not yet (unsynced), prune old ones and schedule
  // a reclaim pass. Runs on the executor.
  void WriteCheckpoint(uint64_t seq, Bytes plain, uint64_t covered_bytes,
                       std::vector<uint64_t> unsynced) BP_EXCLUDES(mu_);
  // The state, for serializing it without the lock while the upload slot is borrowed (nothing
  // changes state_ without the slot). See MaybeCheckpoint.
  const VolumeState& StateWhileSlotBorrowed() const BP_NO_THREAD_SAFETY_ANALYSIS { return state_; }
  void ScheduleReclaim(uint64_t reference) BP_REQUIRES(mu_);

  // ---- volume_gc.cpp ----
  // Start a copy batch if the collector has work, clients leave room and the rate allows;
  // otherwise settle (force the checkpoints that let emptied segments be deleted).
  void MaybeCollect(Clock::TimePoint now) BP_REQUIRES(mu_);
  struct GcBatch;
  // Read the batch's units and relocate their still-live blocks into the active buffer.
  void CopyLive(std::shared_ptr<GcBatch> batch) BP_EXCLUDES(mu_);
  // Read and decode batch->units[i] for every i in `missing` (left null when it fails).
  void ReadForCollection(GcBatch* batch, std::vector<size_t> missing) BP_EXCLUDES(mu_);
  // Drive checkpoints until the dead segments lie below the oldest kept one. Returns true when
  // nothing is left to do.
  bool Settle(bool manual) BP_REQUIRES(mu_);
  // Recompute snapshot_held_ on the executor from the current pins (then collect again).
  void RefreshHeld(Clock::TimePoint now) BP_REQUIRES(mu_);
  // A held set computed from the pins of `generation`; an older one than we have is dropped.
  void SetHeld(PinnedSegmentSet held, uint64_t generation) BP_REQUIRES(mu_);

  // Immutable after construction; readable without the lock.
  const Services svc_;
  const VolumeMeta meta_;
  const std::unique_ptr<CodecChain> chain_;
  const bool opened_writable_;  // writable unless opened read-only (fencing comes later: access_)
  const bool fenced_puts_;
  // The store defers durability (BP_BACKEND_CAP_DEFER_SYNC) and this open writes: segments are
  // uploaded without syncing, and synced when a flush, a checkpoint or the age bound asks.
  const bool defer_sync_;
  // Scattered units enter the unit cache as they become durable, unless the backend reads
  // locally (BP_BACKEND_CAP_LOCAL_READS): then the page cache already holds them.
  const bool cache_written_units_;
  // The size served (meta_.size until a resize).
  std::atomic<uint64_t> size_;
  // Client reads submitted (writes are counted by the collector under the lock): garbage
  // collection is paced while clients read or write (GarbageCollector::Allowance).
  std::atomic<uint64_t> client_reads_{0};
  // Where each segment lives (own prefix, or a clone's base); thread-safe.
  const VolumeLayers layers_;
  // A snapshot view: the snapshot served (read-only); empty for the volume itself.
  const std::optional<SnapshotRecord> view_;
  // Checkpoints and segments the volume's snapshots and clone references need; thread-safe.
  CheckpointPins snapshot_pins_;
  // Live sets of the checkpoints in the store, for exact reclaim passes; thread-safe.
  CheckpointLiveSets checkpoint_live_;
  const CheckpointStore checkpoints_;  // thread-safe
  const UnitLoader loader_;            // thread-safe

  mutable Mutex mu_;
  CondVar idle_cv_;  // background work finished, or a checkpoint was stored
  Phase phase_ BP_GUARDED_BY(mu_) = Phase::kServing;
  Access access_ BP_GUARDED_BY(mu_);
  int background_ BP_GUARDED_BY(mu_) = 0;  // tasks on the executor that hold this volume
  VolumeState state_ BP_GUARDED_BY(mu_);   // the map of the durable segments
  WritePath write_ BP_GUARDED_BY(mu_);
  SegmentCommitter committer_ BP_GUARDED_BY(mu_);
  Checkpointer checkpointer_ BP_GUARDED_BY(mu_);
  Reclaimer reclaimer_ BP_GUARDED_BY(mu_);
  SegmentPins pins_ BP_GUARDED_BY(mu_);
  // What snapshots and clone references pin (GC leaves it alone), as of snapshot_pins_'s
  // generation held_generation_: refreshed by every deletion pass and, when the pins change,
  // before the collector picks segments again (RefreshHeld; one refresh at a time, a failed
  // one retried after held_retry_at_).
  PinnedSegmentSet snapshot_held_ BP_GUARDED_BY(mu_);
  uint64_t held_generation_ BP_GUARDED_BY(mu_) = 0;
  bool held_refreshing_ BP_GUARDED_BY(mu_) = false;
  Clock::TimePoint held_retry_at_ BP_GUARDED_BY(mu_){};
  GarbageCollector gc_ BP_GUARDED_BY(mu_);
  StoreUsage usage_ BP_GUARDED_BY(mu_);
  // The oldest kept checkpoint when two or more are kept (0: unknown, or recovery could start
  // from segment 1), and the size of the newest one, for the settling pace.
  uint64_t oldest_kept_checkpoint_ BP_GUARDED_BY(mu_) = 0;
  uint64_t last_checkpoint_bytes_ BP_GUARDED_BY(mu_) = 0;
  ReadPath read_ BP_GUARDED_BY(mu_);
  // Local journal: a commit task is running (flushes arriving meanwhile share the next one);
  // the durable seq through which the journal is to forget this volume's rows, and how far it
  // has (one drop task at a time); a drop failed, so the next durable segment retries it.
  bool journal_busy_ BP_GUARDED_BY(mu_) = false;
  std::shared_ptr<JournalBatch> journal_spare_ BP_GUARDED_BY(mu_);
  uint64_t journal_drop_through_ BP_GUARDED_BY(mu_) = 0;
  uint64_t journal_dropped_through_ BP_GUARDED_BY(mu_) = 0;
  bool journal_dropping_ BP_GUARDED_BY(mu_) = false;
  bool journal_drop_failed_ BP_GUARDED_BY(mu_) = false;
  // A restore marker recovery replayed after the newest checkpoint (its seq; 0: none). A
  // snapshot taken before a checkpoint past it is stored would replay the marker, which needs
  // the restored snapshot's checkpoint and segments, pinned by nothing once that snapshot is
  // deleted: CreateSnapshot waits for such a checkpoint first.
  uint64_t restore_marker_seq_ BP_GUARDED_BY(mu_) = 0;
  // Deferred durability: a sync task is running; a failed sync is retried by the tick from then.
  bool syncing_ BP_GUARDED_BY(mu_) = false;
  Clock::TimePoint sync_retry_at_ BP_GUARDED_BY(mu_){};
  uint32_t sync_backoff_ms_ BP_GUARDED_BY(mu_) = 0;
  // This open's writer run (random, nonzero), stamped on every segment it writes, so recovery
  // can tell a segment of an earlier run left past a gap from the log (docs/format.md).
  const uint64_t run_id_;
  // The first seq this run writes: set by Recover before the volume serves, read-only after.
  uint64_t run_first_seq_ = 0;
};

}  // namespace bp
