// VolumeManager: every volume in one object store — discovery at startup, create, delete,
// references held by frontends, and clean shutdown. The daemon owns one; the control server
// and the frontend adapter call it. Thread-safe.
// The keys of a volume's objects and the rule for valid volume names (IsValidVolumeName) are
// store_layout.h's; docs/format.md describes the objects.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <blockpipe/bp_frontend.h>

#include "engine/engine_options.h"
#include "engine/executor.h"
#include "engine/store_layout.h"
#include "pipeline/codec_chain.h"
#include "pipeline/object_store.h"
#include "util/clock.h"
#include "util/status.h"

namespace bp {

class Volume;           // engine/volume.h
class LocalJournal;     // journal/local_journal.h
struct JournalBacklog;  // journal/local_journal.h

struct VolumeSummary {
  std::string name;
  std::string uuid;               // hex
  uint64_t size = 0;              // bytes
  std::string codecs;             // "lz4"
  uint32_t references = 0;        // open frontend references (connections)
  uint64_t mapped_bytes = 0;      // bytes of the volume that hold data
  uint64_t live_bytes = 0;        // logical bytes of data the map references (= mapped_bytes)
  uint64_t stored_bytes = 0;      // bytes of every object the store holds for the volume
  uint64_t garbage_bytes = 0;     // stored bytes the map does not need (store_usage.h)
  uint64_t checkpoint_bytes = 0;  // of stored_bytes: the kept checkpoints
  uint64_t last_segment = 0;      // highest durable segment seq
  bool read_only = false;         // fenced or opened read-only
  // Garbage collection since the volume was opened (collector.h).
  uint64_t client_written_bytes = 0;
  uint64_t gc_rewritten_bytes = 0;
  bool gc_running = false;
  uint64_t gc_passes_requested = 0;
  uint64_t gc_passes_done = 0;
  // (client + rewritten) / client; 1 before anything was written.
  double gc_write_amplification() const {
    return client_written_bytes == 0
               ? 1.0
               : static_cast<double>(client_written_bytes + gc_rewritten_bytes) /
                     static_cast<double>(client_written_bytes);
  }
};

// One snapshot, as `snapshot list` shows it.
struct SnapshotSummary {
  std::string volume;
  std::string name;
  uint64_t created_unix_ms = 0;
  uint64_t size = 0;            // the volume's size when it was taken
  uint64_t checkpoint_seq = 0;  // where its map starts
  uint64_t through_seq = 0;     // the last segment it covers
  // Bytes of segment objects only this snapshot keeps (neither the volume's current map, nor
  // another snapshot, nor a clone needs them): what deleting it returns, through reclaim/GC.
  uint64_t exclusive_bytes = 0;
  uint32_t references = 0;  // open connections to its export VOLUME@NAME
  // Why its map cannot be rebuilt (a missing or damaged object; fsck tells more), else empty.
  std::string problem;
};

// A frontend's reference to a volume; releasing it (Close or destruction) lets deletion proceed.
class VolumeRef {
 public:
  virtual ~VolumeRef() = default;
  virtual void Info(bp_volume_info* info) = 0;
  // Asynchronous request; io->done is called exactly once (maybe inline).
  virtual void Submit(bp_io* io) = 0;
  // Allocation of [offset, offset+length) (bp_volume_api.extents, since ABI 1.7): appends at
  // most max_extents extents, at least one, from offset on. InvalidArgument for an empty or
  // out-of-range query. The default describes the whole range as data, which is always true.
  [[nodiscard]] virtual Status Extents(uint64_t offset, uint64_t length, size_t max_extents,
                                       std::vector<bp_extent>* out);
};

class VolumeManager {
 public:
  // What a manager runs on. The daemon passes the defaults: the real clock, a ThreadPool of
  // io_threads workers, a timer thread, identifiers from std::random_device and the journal of
  // options.journal_dir. The deterministic simulator (tests/sim) passes its own world instead:
  // a virtual clock, a one-task-at-a-time executor, no thread (it calls Tick), identifiers drawn
  // from its seed and a journal whose crash it stages.
  struct Environment {
    Clock* clock = Clock::Real();
    // Where every volume's background work runs (owned by the caller, outliving the manager);
    // null: a ThreadPool of max(2, io_threads) workers owned by the manager.
    Executor* executor = nullptr;
    // false: no timer thread; the owner calls Tick at the period the thread would use.
    bool timer_thread = true;
    // Source of the random 64-bit words behind new volume uuids (clones, plain volumes), writer
    // run ids and restore markers; null: std::random_device. Called from control operations
    // and opens, which the simulator runs on one thread.
    std::function<uint64_t()> random;
    // durability = "local": the journal to use (owned by the caller, outliving the manager);
    // null: the manager opens options.journal_dir.
    LocalJournal* journal = nullptr;
  };

  VolumeManager(std::shared_ptr<ObjectStore> store, CodecFactory* codecs, EngineOptions options);
  VolumeManager(std::shared_ptr<ObjectStore> store, CodecFactory* codecs, EngineOptions options,
                Environment env);
  ~VolumeManager();

  // One round of the timer's work (age-based sealing, upload retries, deferred reclaim,
  // garbage collection) for every served volume, at `now`. The timer thread calls it; a
  // manager built without one is ticked by its owner.
  void Tick(Clock::TimePoint now);
  // Forget every volume and snapshot view at once, as a process killed at this instant would:
  // nothing is flushed, checkpointed, closed or released, and destruction then does nothing
  // more. For the simulator's crashes, after it has dropped the work queued on its executor;
  // the daemon never calls it.
  void Kill();

  // Discover and open every volume under volumes/ (recovery: checkpoint + replay).
  // Volumes that fail to open are reported in the Status and not served.
  Status OpenAll();
  // Create a new volume (fails with Precondition if it exists) and open it.
  Status Create(const std::string& name, uint64_t size);
  // Delete a volume and all its objects. Fails with Precondition while references exist.
  Status Delete(const std::string& name);
  std::vector<VolumeSummary> List() const;
  bool Exists(const std::string& name) const;

  // ---- snapshots, clones, resize (volume_manager_snapshots.cpp) ----
  // Take snapshot `snapshot` of `volume` now (it implies a flush). O(1) in the volume's size.
  Status CreateSnapshot(const std::string& volume, const std::string& snapshot,
                        SnapshotSummary* out);
  // Delete a snapshot; refused while its export is connected. Space returns through reclaim.
  Status DeleteSnapshot(const std::string& volume, const std::string& snapshot);
  // The snapshots of `volume` (every served volume's when empty), by volume and name.
  Status ListSnapshots(const std::string& volume, std::vector<SnapshotSummary>* out);
  // Roll `volume` back to `snapshot` (no client may be connected); every snapshot stays.
  Status RestoreSnapshot(const std::string& volume, const std::string& snapshot);
  // Create volume `clone`, writable, whose base is `volume`@`snapshot`: segments are shared,
  // never copied, and a reference record in `volume` keeps them while the clone needs them.
  Status Clone(const std::string& volume, const std::string& snapshot, const std::string& clone);
  // Change the size of a volume. Growing takes effect for new connections at once; shrinking
  // is refused while data is mapped past the new end, unless `force` (which trims it first).
  Status Resize(const std::string& volume, uint64_t size, bool force);

  // Reference for a frontend connection; NotFound for an unknown volume. "VOLUME@SNAPSHOT"
  // names a snapshot's read-only export (read_only is then implied).
  Status OpenRef(const std::string& name, bool read_only, std::unique_ptr<VolumeRef>* ref);

  // Seal and upload every buffered write of every volume and wait (a global FLUSH).
  Status FlushAll();
  // Start a garbage collection pass now (`blockpipe gc`) on volume `name`, or on every writable
  // volume when name is empty. *passes receives (volume, pass number) for each pass started:
  // VolumeSummary::gc_passes_done reaches the number when it is finished. NotFound for an
  // unknown name; an error for a volume that is read-only or fenced.
  Status RunGc(const std::string& name, std::vector<std::pair<std::string, uint64_t>>* passes);
  // The local journal's backlog (segments and bytes not yet in the store), its file and bound;
  // false when the daemon runs without it.
  bool Journal(JournalBacklog* backlog, std::string* path, uint64_t* max_size) const;

  // Flush everything, write final checkpoints, stop background work. Idempotent.
  Status Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace bp
