// EngineOptions: the tunables of the volume engine, filled from the [engine] config section
// (config/) with the defaults below. Every memory bound the engine honours is here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace bp {

// Deliberate bugs for the simulator's test of itself (tests/sim): each breaks one durability
// rule, so a seed with the matching fault kind must fail. Never set outside that test; no config
// key reaches them.
struct Sabotage {
  // A segment upload that failed counts as durable (caught by transient store errors).
  static constexpr uint32_t kAckUploadFailure = 1u << 0;
  // RetryingStore does not read back a conditional put whose reply was lost, so the volume
  // fences itself (caught by lost replies). Set through RetryPolicy::resolve_lost_replies.
  static constexpr uint32_t kNoLostReplyResolution = 1u << 1;
  // Any encoded segment may upload before the ones sealed earlier, and a FLUSH completes when
  // the newest durable segment covers it (caught by reordered completions plus a crash).
  static constexpr uint32_t kAckFlushOnNewestDurable = 1u << 2;
  // A FLUSH or FUA completes once its writes are sealed, before the upload (caught by crashes).
  static constexpr uint32_t kAckFlushOnSeal = 1u << 3;
  // Local journal: segments leave the journal as soon as it has them, before their upload
  // (caught by crashes with durability = "local").
  static constexpr uint32_t kDropJournalBeforeUpload = 1u << 4;
  // Garbage collection relocates a block without checking that the map still points where it
  // read it and that no sealed buffer holds a newer write (caught by overwrites during GC).
  static constexpr uint32_t kGcStaleRelocation = 1u << 5;
  // Reclaim passes keep what every stored checkpoint needs but not what snapshots and clone
  // references pin: segments a snapshot replays after its checkpoint are deleted once the live
  // map no longer needs them (caught by reading snapshots and clones after overwrites).
  static constexpr uint32_t kReclaimIgnoresPins = 1u << 6;
  // Checkpoint pruning deletes old checkpoints that a snapshot or clone reference names
  // (caught by reading a snapshot after a few more checkpoints).
  static constexpr uint32_t kPrunePinnedCheckpoints = 1u << 7;
  // Deleting a volume that clones share deletes all of its objects, the shared segments too
  // (caught by reading a clone after its base is deleted).
  static constexpr uint32_t kDeleteSharedSegments = 1u << 8;
  // On a store with deferred durability, a FLUSH completes once its segments are uploaded,
  // before they are synced (caught by power losses).
  static constexpr uint32_t kAckFlushBeforeSync = 1u << 9;
  // Local journal: a delta of the active buffer counts as committed without being written
  // (caught by crashes with durability = "local").
  static constexpr uint32_t kSkipDeltaCommit = 1u << 10;
};

struct EngineOptions {
  // A segment is sealed and uploaded when its buffered data reaches this size.
  uint64_t segment_size = 16ull << 20;
  // Largest logical size of one stored unit (a unit is the granule of ranged GET + decode).
  uint32_t unit_size = 64u << 10;
  // Unflushed acknowledged writes are sealed after at most this long (ms), bounding the data at
  // risk if the host dies without a FLUSH.
  uint32_t flush_interval_ms = 1000;
  // Write a checkpoint after this many segments since the last one (and at clean shutdown),
  // once they also hold 8 times the previous checkpoint's size (Volume::MaybeCheckpointLocked).
  // Dead segments are deleted a checkpoint or two later, so this also bounds how far the store
  // of a volume that is rewritten in place outgrows its live data.
  uint32_t checkpoint_every_segments = 16;
  // Total bytes of write buffers (active + sealing) per volume before writers wait.
  uint64_t write_buffer_limit = 128ull << 20;
  // Decoded-unit memory cache, shared by all volumes.
  uint64_t cache_memory = 256ull << 20;
  // Read side ([engine] keys): a sequential stream reads ahead at most this many bytes (0: no
  // read-ahead), and one ranged GET fetches at most read_coalesce_max bytes of adjacent units.
  // On a remote store a stream needs several GETs in flight to reach the store's throughput, so
  // the window holds several runs: 32 MiB is 8 GETs of 4 MiB (docs/benchmarks.md).
  uint64_t read_ahead_max = 32ull << 20;
  uint64_t read_coalesce_max = 4ull << 20;
  // Disk cache of stored units ([disk_cache] section): directory (empty: <data_dir>/cache) and
  // size in bytes, 0 = no disk cache (cache/disk_cache.h).
  std::string disk_cache_dir;
  uint64_t disk_cache_size = 0;
  // Segment uploads per volume in flight at once (segments become durable strictly in seq
  // order whatever order their uploads finish in; see segment_committer.h). At least 1.
  uint32_t uploads_in_flight = 4;
  // Where a FLUSH or FUA is acknowledged: kStore once the object store has every segment it
  // covers; kLocal once they are committed to the local journal (journal/local_journal.h),
  // uploading in the background.
  enum class Durability { kStore, kLocal };
  Durability durability = Durability::kStore;
  // [journal] dir (the daemon defaults it to DATA_DIR/journal) and max_size: the bound on the
  // encoded bytes the journal holds before FLUSH waits for uploads instead.
  std::string journal_dir;
  uint64_t journal_max_size = 1ull << 30;
  // Threads for backend calls and codec work, shared by all volumes. 0: chosen by the store,
  // kIoThreadsRemote on a remote one (a GET holds its thread for the round trip, and read-ahead
  // needs many in flight), kIoThreadsLocal on one that reads local files (the work is CPU, and
  // more threads than that only take turns on the cores).
  static constexpr uint32_t kIoThreadsRemote = 16;
  static constexpr uint32_t kIoThreadsLocal = 8;
  uint32_t io_threads = 0;
  // Backend retry budget for transient errors, per operation (ms).
  uint32_t retry_deadline_ms = 30000;
  // Open volumes for writing even when the backend lacks atomic put-if-absent (no fencing).
  bool allow_unfenced = false;

  // Volume ownership (volumes/<name>/owner, see engine/volume_owner.h). Not [engine] keys: the
  // daemon fills them from its data dir and from `blockpipe run --take-over`.
  // The stable id of this writer (32 hex digits from DATA_DIR/writer-id). Empty: a random id
  // for this manager, so a second manager on the same store counts as another writer.
  std::string writer_id;
  // Volumes whose active owner record, held by another writer, may be overridden ("all" for
  // every volume). Anything else held by another writer is refused at a writable open.
  std::vector<std::string> take_over;
  // `blockpipe run --take-over NAME --force`: also take volumes whose owner ran with the local
  // journal, losing the flushed writes that only its journal holds.
  bool take_over_force = false;

  // Garbage collection ([gc], collector.h). Background collection on/off (`blockpipe gc` runs a
  // pass either way); the dead share of a segment from which its live blocks are rewritten;
  // the pace of background rewriting in bytes per second; how often a volume looks for work.
  bool gc_enabled = true;
  double gc_min_dead_ratio = 0.3;
  uint64_t gc_rate = 64ull << 20;
  uint32_t gc_interval_ms = 1000;

  // Sabotage bits (above), for the simulator's self-test only. 0 in every real use.
  uint32_t sabotage = 0;
};

}  // namespace bp
