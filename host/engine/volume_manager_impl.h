// The inside of VolumeManager, shared by its implementation files: volume_manager.cpp
// (discovery, create, delete, references, shutdown) and volume_manager_snapshots.cpp
// (snapshots, their read-only exports, clones, restore and resize). Not part of the engine's
// interface: include volume_manager.h.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include <blockpipe/bp_thread_safety.h>

#include "cache/disk_cache.h"
#include "cache/unit_cache.h"
#include "engine/thread_pool.h"
#include "engine/volume.h"
#include "engine/volume_manager.h"
#include "engine/volume_owner.h"
#include "journal/local_journal.h"
#include "util/memory_trim.h"

namespace bp {

// Largest volume accepted: leaves headroom so byte offsets never overflow.
constexpr uint64_t kMaxVolumeSize = 1ull << 62;

class VolumeRefImpl : public VolumeRef {
 public:
  VolumeRefImpl(std::shared_ptr<Volume> volume, bool read_only, IdleTrimmer* trimmer)
      : volume_(std::move(volume)), read_only_(read_only), trimmer_(trimmer) {}
  ~VolumeRefImpl() override { volume_->references--; }
  void Info(bp_volume_info* info) override { volume_->Info(info, read_only_); }
  void Submit(bp_io* io) override {
    trimmer_->NoteActivity();
    volume_->Submit(io, read_only_);
  }
  Status Extents(uint64_t offset, uint64_t length, size_t max_extents,
                 std::vector<bp_extent>* out) override {
    return volume_->Extents(offset, length, max_extents, out);
  }

 private:
  std::shared_ptr<Volume> volume_;
  bool read_only_;
  IdleTrimmer* trimmer_;
};

struct VolumeManager::Impl {
  std::shared_ptr<ObjectStore> store;
  CodecFactory* codecs = nullptr;
  EngineOptions options;
  Clock* clock = nullptr;
  Environment env;
  std::unique_ptr<ThreadPool> pool;  // when env.executor is null
  Executor* executor = nullptr;      // env.executor or pool
  std::unique_ptr<UnitCache> cache;
  std::unique_ptr<DiskCache> disk_cache;  // opened by OpenAll when configured
  IdleTrimmer trimmer;                    // gives freed memory back when no request comes
  bool fenced_puts = true;                // the store has atomic put-if-absent
  bool writable = true;                   // fenced, or the user opted out of fencing
  WriterIdentity identity;                // who this manager is in ownership records
  // durability = "local": the journal every volume shares, or why it could not be opened
  // (then no volume opens for writing).
  std::unique_ptr<LocalJournal> own_journal;
  LocalJournal* journal = nullptr;  // env.journal or own_journal
  Status journal_error;

  mutable std::mutex mu;
  std::map<std::string, std::shared_ptr<Volume>> volumes;
  std::set<std::string> busy;                 // being created or deleted
  std::map<std::string, OwnerRecord> claims;  // ownership records this manager wrote, by volume
  // Open read-only views of snapshots, by export name "VOLUME@SNAPSHOT" (opened on a client's
  // first connection, closed when the snapshot or its volume is deleted, and at shutdown).
  std::map<std::string, std::shared_ptr<Volume>> views;
  bool shut_down = false;

  std::thread ticker;
  Mutex tick_mu;
  CondVar tick_cv;
  bool stopping BP_GUARDED_BY(tick_mu) = false;

  Volume::Services Services() const {
    Volume::Services services{store, executor, cache.get(), options, clock};
    services.journal = journal;
    services.disk_cache = disk_cache.get();
    if (env.random) services.run_id = env.random() | 1;
    return services;
  }
  // A new random (version 4) uuid, from env.random when given.
  Uuid NewUuid() const;
  // A wall-clock stamp for new records (the environment's clock).
  uint64_t NowMs() const { return clock->UnixMs(); }
  Status OpenOne(const std::string& name, std::shared_ptr<Volume>* out);
  // The served volume `name` (not being created or deleted), or NotFound.
  Status Served(const std::string& name, std::shared_ptr<Volume>* out) const;
  // The served volume `name` if it is the volume `uuid` (not a later one of that name), else
  // null: where records of a volume change, its owner here must hear of them.
  std::shared_ptr<Volume> ServedAs(const std::string& name, const Uuid& uuid) const;
  // Snapshot operations write records that the owner of the volume must know about (its pins):
  // they run only while the ownership record still holds this manager's claim. Precondition,
  // naming the new owner, after a take-over that this daemon has not noticed yet.
  Status StillOwner(const std::string& name, const Uuid& uuid);
  // A reference to the read-only view of volume@snapshot, opening the view if needed.
  Status OpenViewRef(const std::string& volume, const std::string& snapshot,
                     std::unique_ptr<VolumeRef>* ref);
  // Close and forget the views of `volume` (every snapshot when snapshot is empty). Precondition
  // while one is connected (nothing is closed then).
  Status CloseViews(const std::string& volume, const std::string& snapshot);
  // Delete the objects of `name`, keeping what the clone references it holds still need.
  Status DeleteObjectsKeepingShared(const std::string& name, const std::shared_ptr<Volume>& v);
  // A clone is being deleted: drop its references in its bases, and the remnants of deleted
  // bases that nothing references any more.
  void ReleaseBases(const VolumeMeta& clone);
  // At the open of a volume this manager just claimed: delete its clone references whose clone
  // does not exist (a clone creation or deletion interrupted between the reference and the
  // clone's metadata), which would otherwise keep the segments they pin forever. A reference
  // is dropped only while no metadata of its clone exists, and put back if the clone's
  // metadata appears meanwhile; the creator checks its references after storing the clone's
  // metadata (Clone), so a clone being created elsewhere keeps its reference either way.
  // Errors only leave references in place (logged).
  void DropStrayCloneRefs(const std::string& name, const Uuid& uuid);
  // Read-only: the refusal a writable open of `name` would meet, or Ok.
  Status CheckOwner(const std::string& name);
  // Write this manager's ownership record of a volume it is about to open for writing.
  Status Claim(const std::string& name, const Uuid& uuid);
  // Mark the record released if it is still this manager's claim (after a clean close).
  void Release(const std::string& name, const Uuid& uuid);
  Status DeleteObjects(const std::string& name);
  void TickLoop();
  // Tick every served volume; returns them (for the idle trim that follows in TickLoop).
  std::vector<std::shared_ptr<Volume>> TickVolumes(Clock::TimePoint now);
};

}  // namespace bp
