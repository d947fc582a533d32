// Volume snapshots: taking one (flush, then one small record naming the newest stored checkpoint
// and the last durable segment) and deleting one, with the pins that keep what a snapshot needs
// (snapshot_catalog.h). The read-only view of a snapshot is a Volume opened with
// OpenOptions::view (volume_open.cpp, RecoverView).
#include <spdlog/spdlog.h>

#include "engine/volume.h"

namespace bp {

Status Volume::CreateSnapshot(const std::string& name, SnapshotRecord* out) {
  const std::string what = "snapshot " + meta_.name + "@" + name;
  if (view_) return Status::Invalid(what + ": a snapshot has no snapshots");
  // Every write acknowledged before the command is in a segment the flush waited for.
  BP_RETURN_IF_ERROR(FlushSync().WithContext(what + ": flushing the volume"));
  SnapshotRecord record;
  record.name = name;
  record.created_unix_ms = svc_.clock->UnixMs();
  record.size = size_.load();
  {
    MutexLock lock(&mu_);
    if (access_ != Access::kWritable || phase_ != Phase::kServing) {
      return Status::Precondition(what + ": the volume is read-only here (fenced or closing)");
    }
    // With the local journal the flush may have completed on the journal: the snapshot is read
    // from the store, so wait until the segments that hold the writes are there, and durable (on a store
    // with deferred durability a segment may be uploaded and not yet synced). After an open that
    // replayed a restore marker, also wait for a checkpoint past it (forcing one), so the
    // snapshot's own replay never meets the marker.
    // The journal may also hold the flushed writes as deltas of the active buffer, which is
    // in no segment yet: seal it, and cover every segment sealed so far.
    Seal();
    const uint64_t covered = committer_.next_seq() - 1;
    const auto patience =
        std::chrono::milliseconds(std::max<uint32_t>(svc_.options.retry_deadline_ms, 100));
    const Clock::TimePoint limit = svc_.clock->Now() + patience;
    while ((committer_.synced_seq() < covered || checkpointer_.last_seq() < restore_marker_seq_) &&
           access_ == Access::kWritable) {
      if (svc_.clock->Now() >= limit) {
        return Status::Transient(what +
                                 (committer_.synced_seq() < covered
                                      ? ": the segments it covers are not durable in the store yet"
                                      : ": the checkpoint after a restore is not stored "
                                        "yet"));
      }
      if (checkpointer_.last_seq() < restore_marker_seq_) {
        checkpointer_.Force();
        MaybeCheckpoint();
      }
      Pump(/*retry_now=*/committer_.RetryDue(svc_.clock->Now()));
      if (committer_.durable_seq() >= covered) MaybeSync(/*force=*/true);
      svc_.clock->WaitUntil(&idle_cv_, &mu_,
                            std::min(limit, svc_.clock->Now() + std::chrono::milliseconds(20)));
    }
    if (access_ != Access::kWritable) return Status::Precondition(what + ": the volume was fenced");
    record.through_seq = committer_.synced_seq();
    // The newest stored checkpoint: PruneOld keeps the newest two whatever the pins say, so it
    // cannot go before the pin below is in place; older ones may already be gone.
    record.checkpoint_seq = std::min(checkpointer_.last_seq(), record.through_seq);
    if (record.checkpoint_seq <= layers_.base_through()) record.checkpoint_seq = 0;
    for (const Pin& p : snapshot_pins_.Snapshot().pins) {
      if (p.kind == Pin::Kind::kSnapshot && p.id == name) {
        return Status::Precondition(what + " already exists");
      }
    }
    snapshot_pins_.Add(Pin{Pin::Kind::kSnapshot, name, record.checkpoint_seq, record.through_seq});
  }
  uint64_t stored_bytes = 0;
  Status s = PutSnapshot(*svc_.store, meta_.name, meta_.uuid, record, fenced_puts_, &stored_bytes);
  if (s.IsPrecondition()) {
    snapshot_pins_.Remove(Pin::Kind::kSnapshot, name);
    return Status::Precondition(what + " already exists");
  }
  if (!s.ok()) {
    // The put may have landed all the same (a lost reply whose read-back failed too): the
    // record then exists, and what it names must stay pinned. Look once more; only a record
    // known to be absent releases the pin, and one known to be ours is a success.
    SnapshotRecord stored;
    const Status found = ReadSnapshot(*svc_.store, meta_.name, meta_.uuid, name, &stored);
    if (found.ok() && stored.created_unix_ms == record.created_unix_ms &&
        stored.checkpoint_seq == record.checkpoint_seq &&
        stored.through_seq == record.through_seq) {
      s = Status::Ok();
    } else if (found.IsNotFound()) {
      snapshot_pins_.Remove(Pin::Kind::kSnapshot, name);
      return s.WithContext(what + ": storing its record");
    } else if (found.ok()) {
      // Another create's record of that name: it pins what it names, not what ours would.
      snapshot_pins_.Remove(Pin::Kind::kSnapshot, name);
      snapshot_pins_.Add(
          Pin{Pin::Kind::kSnapshot, name, stored.checkpoint_seq, stored.through_seq});
      return Status::Precondition(what + " already exists");
    } else {
      return s.WithContext(what +
                           ": storing its record (it may have been stored: `snapshot "
                           "list` tells, and it stays pinned until deleted)");
    }
  }
  ObjectStored(SnapshotKey(meta_.name, name), stored_bytes);
  spdlog::info("volume {}: snapshot {} taken (checkpoint {}, through segment {})", meta_.name, name,
               record.checkpoint_seq, record.through_seq);
  *out = std::move(record);
  return Status::Ok();
}

Status Volume::DeleteSnapshot(const std::string& name) {
  const std::string what = "snapshot " + meta_.name + "@" + name;
  {
    MutexLock lock(&mu_);
    if (access_ != Access::kWritable) {
      return Status::Precondition(what + ": the volume is read-only here (fenced)");
    }
  }
  SnapshotRecord record;
  Status read = ReadSnapshot(*svc_.store, meta_.name, meta_.uuid, name, &record);
  // A create whose outcome was unknown keeps its pin; with no record it pins nothing.
  if (read.IsNotFound()) snapshot_pins_.Remove(Pin::Kind::kSnapshot, name);
  // A damaged record can be deleted too: that is how an operator gets rid of it.
  if (!read.ok() && !read.IsCorrupt()) return read;
  // Record first, pin after: a crash in between leaves no record, and the next open pins only
  // what the records say.
  BP_RETURN_IF_ERROR(
      DeleteSnapshotRecord(*svc_.store, meta_.name, name).WithContext(what + ": deleting it"));
  ObjectDeleted(SnapshotKey(meta_.name, name));
  snapshot_pins_.Remove(Pin::Kind::kSnapshot, name);
  if (snapshot_pins_.Snapshot().unknown) {
    // An unreadable record held everything back; read the records again now that one went.
    VolumePins pins;
    if (LoadPins(*svc_.store, meta_.name, meta_.uuid, &pins).ok())
      snapshot_pins_.Reset(std::move(pins));
  }
  {
    MutexLock lock(&mu_);
    gc_.PinsReleased();
  }
  spdlog::info("volume {}: snapshot {} deleted", meta_.name, name);
  return Status::Ok();
}

void Volume::ObjectStored(const std::string& key, uint64_t size) {
  MutexLock lock(&mu_);
  usage_.ObjectStored(key, size);
}

void Volume::ObjectDeleted(const std::string& key) {
  MutexLock lock(&mu_);
  usage_.ObjectDeleted(key);
}

void Volume::RemovePin(Pin::Kind kind, const std::string& id) {
  snapshot_pins_.Remove(kind, id);
  MutexLock lock(&mu_);
  gc_.PinsReleased();
}

std::map<uint64_t, uint64_t> Volume::LiveSegments() const {
  MutexLock lock(&mu_);
  std::map<uint64_t, uint64_t> out;
  for (const auto& [seq, info] : state_.segments)
    out.emplace_hint(out.end(), seq, info.object_size);
  return out;
}

}  // namespace bp
