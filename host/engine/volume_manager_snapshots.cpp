// VolumeManager: snapshots and their read-only exports, clones, restore and resize. The objects
// are described in snapshot_format.h and docs/format.md ("Snapshots and clones"); what a
// snapshot or clone pins is snapshot_catalog.h's rule.
#include <algorithm>

#include <spdlog/spdlog.h>

#include "engine/checkpoint_format.h"
#include "engine/segment_format.h"
#include "engine/snapshot_catalog.h"
#include "engine/volume_manager_impl.h"

namespace bp {
namespace {

std::string ExportName(const std::string& volume, const std::string& snapshot) {
  return volume + "@" + snapshot;
}

Status CheckSnapshotName(const std::string& name) {
  if (IsValidVolumeName(name)) return Status::Ok();
  return Status::Invalid("invalid snapshot name '" + name +
                         "': use 1-64 characters of A-Z a-z 0-9 . _ - not starting with . or -");
}

// The segments (seq -> object size) a snapshot-like pin's map points into, own segments only.
Status PinMap(ObjectStore& store, const VolumeLayers& layers, uint64_t blocks, uint64_t checkpoint,
              uint64_t through, std::map<uint64_t, uint64_t>* out) {
  VolumeState state;
  BP_RETURN_IF_ERROR(layers.LoadStateAt(store, blocks, checkpoint, through, &state));
  out->clear();
  for (const auto& [seq, info] : state.segments) {
    if (seq > layers.base_through()) out->emplace(seq, info.object_size);
  }
  return Status::Ok();
}

}  // namespace

Status VolumeManager::Impl::Served(const std::string& name, std::shared_ptr<Volume>* out) const {
  std::lock_guard<std::mutex> lock(mu);
  if (shut_down) return Status::Permanent("volume manager is shut down");
  auto it = volumes.find(name);
  if (it == volumes.end() || busy.count(name)) {
    return Status::NotFound("no volume named " + name);
  }
  *out = it->second;
  return Status::Ok();
}

std::shared_ptr<Volume> VolumeManager::Impl::ServedAs(const std::string& name,
                                                      const Uuid& uuid) const {
  std::shared_ptr<Volume> served;
  if (!Served(name, &served).ok() || served->meta().uuid != uuid) return nullptr;
  return served;
}

Status VolumeManager::Impl::StillOwner(const std::string& name, const Uuid& uuid) {
  uint64_t claim_id = 0;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = claims.find(name);
    if (it == claims.end()) {
      // Unfenced stores (engine.allow_unfenced) claim too; no claim means not opened for writing.
      return Status::Precondition("volume " + name + " is not open for writing here");
    }
    claim_id = it->second.claim_id;
  }
  OwnerFinding found;
  BP_RETURN_IF_ERROR(ReadOwner(*store, name, uuid, &found).WithContext("volume " + name));
  if (found.present && found.unreadable.ok() && !found.foreign &&
      found.record.state == OwnerState::kActive && found.record.claim_id == claim_id) {
    return Status::Ok();
  }
  return Status::Precondition("volume " + name + " was taken over by another daemon" +
                              OwnerNote(*store, name) + "; it is read-only here");
}

Status VolumeManager::Impl::OpenViewRef(const std::string& volume, const std::string& snapshot,
                                        std::unique_ptr<VolumeRef>* ref) {
  const std::string key = ExportName(volume, snapshot);
  std::shared_ptr<Volume> v;
  BP_RETURN_IF_ERROR(Served(volume, &v));
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = views.find(key);
    if (it != views.end()) {
      it->second->references++;
      *ref = std::make_unique<VolumeRefImpl>(it->second, /*read_only=*/true, &trimmer);
      return Status::Ok();
    }
  }
  // Not open yet: read the record and rebuild the snapshot's map without holding the lock.
  const VolumeMeta& meta = v->meta();
  SnapshotRecord record;
  BP_RETURN_IF_ERROR(ReadSnapshot(*store, volume, meta.uuid, snapshot, &record));
  VolumeMeta view_meta = meta;
  view_meta.size = record.size;
  std::unique_ptr<CodecChain> chain;
  BP_RETURN_IF_ERROR(codecs->OpenChain(meta.uuid.data(), volume, meta.codecs, &chain));
  Volume::OpenOptions options;
  options.view = &record;
  BP_RETURN_IF_ERROR(VolumeLayers::OpenBases(*codecs, meta.extensions, &options.bases));
  Volume::Services services = Services();
  services.journal = nullptr;  // a view writes nothing
  std::shared_ptr<Volume> view;
  BP_RETURN_IF_ERROR(
      Volume::Open(services, std::move(view_meta), std::move(chain), std::move(options), &view));
  std::lock_guard<std::mutex> lock(mu);
  if (shut_down) {
    IgnoreError(view->Close(/*clean=*/false), "a view holds no data to flush");
    return Status::Permanent("volume manager is shut down");
  }
  auto [it, inserted] = views.emplace(key, view);
  if (!inserted) {
    IgnoreError(view->Close(/*clean=*/false), "another connection opened the view first");
  }
  it->second->references++;
  *ref = std::make_unique<VolumeRefImpl>(it->second, /*read_only=*/true, &trimmer);
  return Status::Ok();
}

Status VolumeManager::Impl::CloseViews(const std::string& volume, const std::string& snapshot) {
  std::vector<std::shared_ptr<Volume>> closing;
  {
    std::lock_guard<std::mutex> lock(mu);
    const std::string prefix = volume + "@";
    for (auto& [key, view] : views) {
      if (key.compare(0, prefix.size(), prefix) != 0) continue;
      if (!snapshot.empty() && key != ExportName(volume, snapshot)) continue;
      if (const uint32_t refs = view->references.load(); refs > 0) {
        return Status::Precondition("snapshot export " + key + " is in use by " +
                                    std::to_string(refs) + " connection(s)");
      }
    }
    for (auto it = views.begin(); it != views.end();) {
      const bool match = it->first.compare(0, prefix.size(), prefix) == 0 &&
                         (snapshot.empty() || it->first == ExportName(volume, snapshot));
      if (!match) {
        ++it;
        continue;
      }
      closing.push_back(it->second);
      it = views.erase(it);
    }
  }
  for (auto& view : closing) {
    IgnoreError(view->Close(/*clean=*/false), "a view holds no data to flush");
  }
  return Status::Ok();
}

Status VolumeManager::CreateSnapshot(const std::string& volume, const std::string& snapshot,
                                     SnapshotSummary* out) {
  Impl& m = *impl_;
  BP_RETURN_IF_ERROR(CheckSnapshotName(snapshot));
  if (!m.writable) {
    return Status::Unsupported("cannot take a snapshot: the store is read-only here");
  }
  std::shared_ptr<Volume> v;
  BP_RETURN_IF_ERROR(m.Served(volume, &v));
  BP_RETURN_IF_ERROR(m.StillOwner(volume, v->meta().uuid));
  SnapshotRecord record;
  BP_RETURN_IF_ERROR(v->CreateSnapshot(snapshot, &record));
  SnapshotSummary s;
  s.volume = volume;
  s.name = record.name;
  s.created_unix_ms = record.created_unix_ms;
  s.size = record.size;
  s.checkpoint_seq = record.checkpoint_seq;
  s.through_seq = record.through_seq;
  *out = std::move(s);
  return Status::Ok();
}

Status VolumeManager::DeleteSnapshot(const std::string& volume, const std::string& snapshot) {
  Impl& m = *impl_;
  BP_RETURN_IF_ERROR(CheckSnapshotName(snapshot));
  if (!m.writable) {
    return Status::Unsupported("cannot delete a snapshot: the store is read-only here");
  }
  std::shared_ptr<Volume> v;
  BP_RETURN_IF_ERROR(m.Served(volume, &v));
  BP_RETURN_IF_ERROR(m.StillOwner(volume, v->meta().uuid));
  BP_RETURN_IF_ERROR(m.CloseViews(volume, snapshot));
  return v->DeleteSnapshot(snapshot);
}

Status VolumeManager::ListSnapshots(const std::string& volume, std::vector<SnapshotSummary>* out) {
  Impl& m = *impl_;
  std::vector<std::shared_ptr<Volume>> targets;
  if (!volume.empty()) {
    std::shared_ptr<Volume> v;
    BP_RETURN_IF_ERROR(m.Served(volume, &v));
    targets.push_back(std::move(v));
  } else {
    std::lock_guard<std::mutex> lock(m.mu);
    for (auto& [name, v] : m.volumes) targets.push_back(v);
  }
  out->clear();
  for (const auto& v : targets) {
    const VolumeMeta& meta = v->meta();
    std::vector<SnapshotRecord> records;
    BP_RETURN_IF_ERROR(bp::ListSnapshots(*m.store, meta.name, meta.uuid, &records));
    if (records.empty()) continue;
    // What each snapshot holds alone: the segments its map points into that neither the
    // current map, nor another snapshot, nor a clone reference needs.
    std::map<uint64_t, uint64_t> shared = v->LiveSegments();
    std::vector<std::map<uint64_t, uint64_t>> maps(records.size());
    std::vector<std::string> problems(records.size());
    std::map<uint64_t, uint32_t> users;  // seq -> how many snapshots point into it
    const uint64_t blocks = std::max(meta.max_size(), v->size()) / kBlockSize;
    for (size_t i = 0; i < records.size(); ++i) {
      Status st = PinMap(*m.store, v->layers(), blocks, records[i].checkpoint_seq,
                         records[i].through_seq, &maps[i]);
      if (!st.ok() && !st.IsCorrupt() && !st.IsNotFound()) return st;
      if (!st.ok()) problems[i] = st.message();  // listed, with the reason; the rest goes on
      for (const auto& [seq, size] : maps[i]) users[seq]++;
    }
    for (const Pin& p : v->Pins().pins) {
      if (p.kind != Pin::Kind::kClone) continue;
      std::map<uint64_t, uint64_t> clone_map;
      Status st =
          PinMap(*m.store, v->layers(), blocks, p.checkpoint_seq, p.through_seq, &clone_map);
      if (!st.ok() && !st.IsCorrupt() && !st.IsNotFound()) return st;
      shared.insert(clone_map.begin(), clone_map.end());
    }
    for (size_t i = 0; i < records.size(); ++i) {
      SnapshotSummary s;
      s.volume = meta.name;
      s.name = records[i].name;
      s.created_unix_ms = records[i].created_unix_ms;
      s.size = records[i].size;
      s.checkpoint_seq = records[i].checkpoint_seq;
      s.through_seq = records[i].through_seq;
      s.problem = problems[i];
      for (const auto& [seq, size] : maps[i]) {
        if (users[seq] == 1 && shared.count(seq) == 0) s.exclusive_bytes += size;
      }
      {
        std::lock_guard<std::mutex> lock(m.mu);
        auto it = m.views.find(ExportName(meta.name, s.name));
        if (it != m.views.end()) s.references = it->second->references.load();
      }
      out->push_back(std::move(s));
    }
  }
  return Status::Ok();
}

Status VolumeManager::Clone(const std::string& volume, const std::string& snapshot,
                            const std::string& clone) {
  Impl& m = *impl_;
  BP_RETURN_IF_ERROR(CheckSnapshotName(snapshot));
  if (!IsValidVolumeName(clone)) {
    return Status::Invalid("invalid volume name '" + clone +
                           "': use 1-64 characters of A-Z a-z 0-9 . _ - not starting with . or -");
  }
  if (!m.writable) return Status::Unsupported("cannot clone: the store is read-only here");
  std::shared_ptr<Volume> parent;
  BP_RETURN_IF_ERROR(m.Served(volume, &parent));
  BP_RETURN_IF_ERROR(m.StillOwner(volume, parent->meta().uuid));
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.volumes.count(clone) || m.busy.count(clone)) {
      return Status::Precondition("volume " + clone + " already exists");
    }
    m.busy.insert(clone);
  }
  auto finish = [&](Status s, std::shared_ptr<Volume> v) {
    std::lock_guard<std::mutex> lock(m.mu);
    m.busy.erase(clone);
    if (s.ok()) m.volumes[clone] = std::move(v);
    return s;
  };
  const std::string what = "cloning " + ExportName(volume, snapshot) + " as " + clone;
  const VolumeMeta& pm = parent->meta();
  SnapshotRecord record;
  Status s = ReadSnapshot(*m.store, volume, pm.uuid, snapshot, &record);
  if (!s.ok()) return finish(s.WithContext(what), nullptr);

  // The clone's bases: the parent's own bases, then the parent at the snapshot (unless the
  // snapshot holds nothing of the parent's own, taken before the parent wrote anything).
  std::vector<CloneBase> bases;
  s = DecodeCloneBases(pm.extensions, &bases);
  if (!s.ok()) return finish(s.WithContext(what), nullptr);
  const uint64_t parent_through = bases.empty() ? 0 : bases.back().through_seq;
  if (record.through_seq > parent_through) {
    CloneBase b;
    b.volume = volume;
    b.uuid = pm.uuid;
    b.snapshot = snapshot;
    b.checkpoint_seq = record.checkpoint_seq;
    b.through_seq = record.through_seq;
    b.unit_size = pm.unit_size;
    b.codecs = pm.codecs;
    bases.push_back(std::move(b));
  }
  if (bases.empty()) {
    // A snapshot of an empty, never-written volume: a clone of it is just a new volume.
    // Only the name is released for Create (finish(Ok) would serve a null volume).
    spdlog::info("{}: the snapshot is empty; creating a plain volume", what);
    {
      std::lock_guard<std::mutex> lock(m.mu);
      m.busy.erase(clone);
    }
    return Create(clone, record.size);
  }

  VolumeMeta meta;
  meta.uuid = m.NewUuid();
  meta.name = clone;
  meta.size = record.size;
  meta.unit_size = pm.unit_size;
  meta.created_unix_ms = m.NowMs();
  std::unique_ptr<CodecChain> chain;
  // The clone's own segments get a chain of their own (a new data key, bound to the clone's
  // uuid); the bases' segments are read with the bases' chains, recorded in the extension.
  s = m.codecs->CreateChain(meta.uuid.data(), clone, &meta.codecs, &chain);
  if (!s.ok()) return finish(s.WithContext(what), nullptr);
  meta.extensions.push_back(EncodeCloneBases(bases));

  // References first, so the shared segments are pinned before the clone exists: a crash
  // between leaves a reference to no clone, which fsck reports and the base's deletion ignores.
  CloneRef ref;
  ref.clone_uuid = meta.uuid;
  ref.clone_name = clone;
  ref.created_unix_ms = meta.created_unix_ms;
  for (const CloneBase& b : bases) {
    ref.snapshot = b.snapshot;
    ref.checkpoint_seq = b.checkpoint_seq;
    ref.through_seq = b.through_seq;
    std::shared_ptr<Volume> served = m.ServedAs(b.volume, b.uuid);
    if (served) {
      served->AddPin(Pin{Pin::Kind::kClone, UuidToHex(meta.uuid), b.checkpoint_seq, b.through_seq});
    }
    uint64_t stored_bytes = 0;
    s = PutCloneRef(*m.store, b.volume, b.uuid, ref, m.fenced_puts, &stored_bytes);
    if (!s.ok()) return finish(s.WithContext(what + ": reference in " + b.volume), nullptr);
    if (served) served->ObjectStored(CloneRefKey(b.volume, UuidToHex(meta.uuid)), stored_bytes);
  }
  Bytes object = EncodeVolumeMetaObject(meta);
  s = m.store->Put(MetaKey(clone), object.data(), object.size(), m.fenced_puts);
  if (!s.ok() && !s.IsPrecondition()) {
    // The put may have landed all the same (a lost reply whose read-back failed too): then
    // the clone exists and needs its references. Look once more; only metadata known to be
    // absent (or another volume's) lets them go.
    Bytes stored;
    const Status found = m.store->Get(MetaKey(clone), &stored);
    if (found.ok() && stored == object) {
      s = Status::Ok();
    } else if (found.ok()) {
      s = Status::Precondition("volume " + clone + " already exists");
    } else if (!found.IsNotFound()) {
      return finish(s.WithContext(what + " (the clone may exist: `volume list` after a restart "
                                         "tells, and its references stay)"),
                    nullptr);
    }
  }
  if (s.IsPrecondition()) s = Status::Precondition("volume " + clone + " already exists");
  bool meta_stored = s.ok();
  if (s.ok()) {
    // The owner of a base opening meanwhile may have taken a reference for a stray one (no
    // clone metadata yet: DropStrayCloneRefs). Each must still be there now that the metadata
    // is; if one went, the clone is undone rather than left with unpinned segments.
    for (const CloneBase& b : bases) {
      Bytes check;
      Status got = m.store->Get(CloneRefKey(b.volume, UuidToHex(meta.uuid)), &check);
      if (got.IsNotFound()) {
        got = Status::Transient("its reference in " + b.volume +
                                " was removed while it was created (the base was opened "
                                "elsewhere?); try again");
      }
      if (!got.ok()) {
        s = got.WithContext("checking the references");
        break;
      }
    }
  }
  if (!s.ok()) {
    if (meta_stored) {
      IgnoreError(m.store->Delete(MetaKey(clone)),
                  "should it stay, fsck reports the clone whose base lacks its reference");
    }
    for (const CloneBase& b : bases) {
      if (!DeleteCloneRef(*m.store, b.volume, meta.uuid).ok()) continue;  // fsck reports it
      if (std::shared_ptr<Volume> served = m.ServedAs(b.volume, b.uuid)) {
        served->ObjectDeleted(CloneRefKey(b.volume, UuidToHex(meta.uuid)));
      }
    }
    return finish(s.WithContext(what), nullptr);
  }
  const Uuid uuid = meta.uuid;
  s = m.Claim(clone, uuid);
  if (!s.ok()) return finish(s.WithContext(what), nullptr);
  Volume::OpenOptions open;
  open.writable = m.writable;
  open.fenced_puts = m.fenced_puts;
  s = VolumeLayers::OpenBases(*m.codecs, meta.extensions, &open.bases);
  std::shared_ptr<Volume> v;
  if (s.ok())
    s = Volume::Open(m.Services(), std::move(meta), std::move(chain), std::move(open), &v);
  if (!s.ok()) {
    m.Release(clone, uuid);
    return finish(s.WithContext(what), nullptr);
  }
  spdlog::info("volume {}: cloned from {} (shares segments 1-{})", clone,
               ExportName(volume, snapshot), v->layers().base_through());
  return finish(Status::Ok(), std::move(v));
}

void VolumeManager::Impl::DropStrayCloneRefs(const std::string& name, const Uuid& uuid) {
  std::vector<CloneRef> refs;
  if (Status s = ListCloneRefs(*store, name, uuid, &refs); !s.ok()) {
    spdlog::warn("volume {}: checking clone references: {}", name, s.ToString());
    return;
  }
  // Whether clone metadata of that name and uuid exists (an error counts as yes: keep).
  auto clone_exists = [&](const CloneRef& ref) {
    Bytes bytes;
    Status got = store->Get(MetaKey(ref.clone_name), &bytes);
    if (got.IsNotFound()) return false;
    VolumeMeta clone;
    if (got.ok() && DecodeVolumeMetaObject(bytes.data(), bytes.size(), &clone).ok()) {
      return clone.uuid == ref.clone_uuid;
    }
    return true;
  };
  for (const CloneRef& ref : refs) {
    if (clone_exists(ref)) continue;
    Bytes object;
    const std::string key = CloneRefKey(name, UuidToHex(ref.clone_uuid));
    if (!store->Get(key, &object).ok()) continue;
    if (Status s = store->Delete(key); !s.ok() && !s.IsNotFound()) {
      spdlog::warn("volume {}: deleting stray clone reference {}: {}", name, key, s.ToString());
      continue;
    }
    if (clone_exists(ref)) {
      // Its creator stored the metadata meanwhile: the reference goes back (the creator may
      // also have seen it missing and undone the clone; then it is stray again, for next time).
      Status s = store->Put(key, object.data(), object.size(), /*if_absent=*/false);
      if (!s.ok()) {
        spdlog::error("volume {}: putting back clone reference {} of clone {}: {}", name, key,
                      ref.clone_name, s.ToString());
      }
      continue;
    }
    spdlog::warn(
        "volume {}: deleted clone reference {}: clone {} does not exist (its creation or "
        "deletion was interrupted); what only it pinned is reclaimed",
        name, key, ref.clone_name);
  }
}

Status VolumeManager::Impl::DeleteObjectsKeepingShared(const std::string& name,
                                                       const std::shared_ptr<Volume>& v) {
  // Meta first, as for any deletion: the volume is gone from then on. What its clones share
  // stays under its prefix with their reference records, until the last clone goes.
  BP_RETURN_IF_ERROR(store->Delete(MetaKey(name)).WithContext("deleting volume " + name));
  VolumePins clones;
  for (const Pin& p : v->Pins().pins) {
    if (p.kind == Pin::Kind::kClone) clones.pins.push_back(p);
  }
  PinnedSegmentSet shared;
  BP_RETURN_IF_ERROR(
      PinnedSegments(*store, v->layers(), v->meta().max_size() / kBlockSize, clones, &shared)
          .WithContext("deleting volume " + name));
  std::set<uint64_t> pinned_checkpoints;
  for (const Pin& p : clones.pins) pinned_checkpoints.insert(p.checkpoint_seq);
  std::vector<ObjectInfo> objects;
  BP_RETURN_IF_ERROR(
      store->List(VolumePrefix(name), &objects).WithContext("deleting volume " + name));
  uint64_t kept = 0;
  for (const auto& o : objects) {
    uint64_t seq = 0;
    const VolumeKeyKind kind = ClassifyVolumeKey(name, o.key, &seq);
    if (kind == VolumeKeyKind::kCloneRef ||
        (kind == VolumeKeyKind::kSegment && shared.Contains(seq)) ||
        (kind == VolumeKeyKind::kCheckpoint && pinned_checkpoints.count(seq))) {
      ++kept;
      continue;
    }
    BP_RETURN_IF_ERROR(store->Delete(o.key).WithContext("deleting volume " + name));
  }
  spdlog::info("volume {}: deleted; {} object(s) stay for its clones", name, kept);
  return Status::Ok();
}

void VolumeManager::Impl::ReleaseBases(const VolumeMeta& clone) {
  std::vector<CloneBase> bases;
  if (!DecodeCloneBases(clone.extensions, &bases).ok()) return;
  const std::string hex = UuidToHex(clone.uuid);
  for (const CloneBase& b : bases) {
    Status s = DeleteCloneRef(*store, b.volume, clone.uuid);
    if (!s.ok()) {
      spdlog::warn("volume {}: removing its reference in {}: {} (fsck reports it)", clone.name,
                   b.volume, s.ToString());
      continue;
    }
    if (std::shared_ptr<Volume> served = ServedAs(b.volume, b.uuid)) {
      served->ObjectDeleted(CloneRefKey(b.volume, hex));
      served->RemovePin(Pin::Kind::kClone, hex);
      continue;
    }
    // A deleted base whose last clone this was: its remnant goes now.
    Bytes meta;
    if (!store->Get(MetaKey(b.volume), &meta).IsNotFound()) continue;
    std::vector<ObjectInfo> left;
    if (!store->List(VolumePrefix(b.volume), &left).ok()) continue;
    bool referenced = false;
    for (const auto& o : left) {
      referenced |= ClassifyVolumeKey(b.volume, o.key) == VolumeKeyKind::kCloneRef;
    }
    if (referenced) continue;
    for (const auto& o : left) {
      IgnoreError(store->Delete(o.key), "a leftover is removed by the next create of the name");
    }
    spdlog::info("volume {}: removed the remnant of deleted base {}", clone.name, b.volume);
  }
}

Status VolumeManager::Resize(const std::string& volume, uint64_t size, bool force) {
  Impl& m = *impl_;
  if (size == 0 || size % kBlockSize != 0 || size > kMaxVolumeSize) {
    return Status::Invalid("invalid size " + std::to_string(size) + " for volume " + volume +
                           ": must be a positive multiple of 4096 bytes up to 4 EiB");
  }
  if (!m.writable) return Status::Unsupported("cannot resize: the store is read-only here");
  std::shared_ptr<Volume> v;
  BP_RETURN_IF_ERROR(m.Served(volume, &v));
  if (v->read_only()) return Status::Precondition("volume " + volume + " is read-only here");
  BP_RETURN_IF_ERROR(m.StillOwner(volume, v->meta().uuid));
  const uint64_t old_size = v->size();
  if (size == old_size) return Status::Ok();
  if (size < old_size) {
    bool mapped = false;
    BP_RETURN_IF_ERROR(v->MappedBeyond(size, &mapped));
    if (mapped && !force) {
      return Status::Precondition("volume " + volume + " holds data past " + std::to_string(size) +
                                  " bytes; shrinking would drop it (use --force to trim it)");
    }
    // From now on nothing is written past the new end; then trim what lies there.
    v->SetSize(size);
    Status s = v->TrimFrom(size, old_size);
    if (!s.ok()) {
      v->SetSize(old_size);
      return s.WithContext("shrinking volume " + volume);
    }
  }
  // The new size in the metadata object, replaced with a compare-and-swap against the version
  // read (as change-password does); its max-size record keeps older objects valid.
  Bytes before;
  std::string tag;
  Status s = m.store->GetTagged(MetaKey(volume), &before, &tag);
  VolumeMeta meta;
  if (s.ok()) s = DecodeVolumeMetaObject(before.data(), before.size(), &meta);
  if (s.ok()) {
    meta.SetSize(size);
    const Bytes object = EncodeVolumeMetaObject(meta);
    std::string new_tag;
    s = m.store->PutIfMatch(MetaKey(volume), object.data(), object.size(), tag, &new_tag);
    if (s.IsPrecondition()) {
      s = Status::Precondition("the metadata of volume " + volume +
                               " changed meanwhile (another tool?); run the resize again");
    }
  }
  if (!s.ok()) {
    if (size < old_size) {
      spdlog::error("volume {}: data past {} was trimmed, but the new size was not stored: {}",
                    volume, size, s.ToString());
    }
    v->SetSize(old_size);
    return s.WithContext("resizing volume " + volume);
  }
  if (size > old_size) v->SetSize(size);
  spdlog::info("volume {}: resized from {} to {} bytes", volume, old_size, size);
  return Status::Ok();
}

Status VolumeManager::RestoreSnapshot(const std::string& volume, const std::string& snapshot) {
  Impl& m = *impl_;
  BP_RETURN_IF_ERROR(CheckSnapshotName(snapshot));
  if (!m.writable) return Status::Unsupported("cannot restore: the store is read-only here");
  const std::string what = "restoring " + ExportName(volume, snapshot);
  std::shared_ptr<Volume> v;
  {
    std::lock_guard<std::mutex> lock(m.mu);
    if (m.shut_down) return Status::Permanent("volume manager is shut down");
    auto it = m.volumes.find(volume);
    if (it == m.volumes.end() || m.busy.count(volume)) {
      return Status::NotFound("no volume named " + volume);
    }
    if (const uint32_t refs = it->second->references.load(); refs > 0) {
      return Status::Precondition(what + ": the volume is in use by " + std::to_string(refs) +
                                  " connection(s); disconnect them first");
    }
    v = it->second;
    m.busy.insert(volume);  // no connection opens it until the restored volume serves
  }
  bool closed = false;  // the old Volume is closed: it must be replaced or dropped
  auto finish = [&](Status s, std::shared_ptr<Volume> reopened) {
    std::lock_guard<std::mutex> lock(m.mu);
    m.busy.erase(volume);
    if (reopened) {
      m.volumes[volume] = std::move(reopened);
    } else if (closed) {
      m.volumes.erase(volume);
    }
    return s;
  };
  if (v->read_only()) return finish(Status::Precondition(what + ": read-only here"), nullptr);
  if (Status owner = m.StillOwner(volume, v->meta().uuid); !owner.ok()) {
    return finish(owner.WithContext(what), nullptr);
  }
  const VolumeMeta meta = v->meta();
  SnapshotRecord record;
  Status s = ReadSnapshot(*m.store, volume, meta.uuid, snapshot, &record);
  if (!s.ok()) return finish(s.WithContext(what), nullptr);
  if (record.size > v->size()) {
    return finish(
        Status::Precondition(what + ": the snapshot is larger (" + std::to_string(record.size) +
                             " bytes) than the volume now; grow the volume first"),
        nullptr);
  }
  const uint64_t blocks = std::max(meta.max_size(), v->size()) / kBlockSize;
  // Read the snapshot's map before anything changes: a snapshot that cannot be read leaves the
  // volume as it is.
  VolumeState restored;
  s = v->layers().LoadStateAt(*m.store, blocks, record.checkpoint_seq, record.through_seq,
                              &restored);
  if (!s.ok()) return finish(s.WithContext(what), nullptr);
  // A clean close: every write is in the store and a final checkpoint is written.
  s = v->Close(/*clean=*/true);
  closed = true;
  if (!s.ok()) {
    return finish(s.WithContext(what + ": closing the volume"), nullptr);
  }
  const uint64_t marker_seq = v->Summary().last_segment + 1;
  // The restore marker is the commit point: one put-if-absent of the next segment (a writer
  // that took the volume over meanwhile makes it fail), after which every open rebuilds the
  // snapshot's map. The checkpoint that follows only saves the next open the rebuild.
  SegmentMeta marker;
  marker.seq = marker_seq;
  const Uuid random = m.NewUuid();
  for (int i = 0; i < 8; ++i) marker.run_id = (marker.run_id << 8) | random[i];
  marker.run_id |= 1;  // a run id is nonzero
  marker.run_first_seq = marker_seq;
  marker.restore = true;
  marker.restore_checkpoint = record.checkpoint_seq;
  marker.restore_through = record.through_seq;
  Bytes object;
  s = BuildMetaOnlySegment(marker, meta.uuid, v->chain(), &object);
  if (s.ok()) {
    s = m.store->Put(SegmentKey(volume, marker_seq), object.data(), object.size(), m.fenced_puts);
    if (s.IsPrecondition()) {
      s = Status::Precondition("segment " + SegmentKey(volume, marker_seq) +
                               " exists: another writer owns the volume");
    }
  }
  auto reopen = [&]() -> std::shared_ptr<Volume> {
    std::unique_ptr<CodecChain> chain;
    Volume::OpenOptions open;
    open.writable = m.writable;
    open.fenced_puts = m.fenced_puts;
    VolumeMeta reopened_meta = meta;
    reopened_meta.size = v->size();
    std::shared_ptr<Volume> out;
    Status r = m.codecs->OpenChain(meta.uuid.data(), volume, meta.codecs, &chain);
    if (r.ok()) r = VolumeLayers::OpenBases(*m.codecs, meta.extensions, &open.bases);
    if (r.ok()) {
      r = Volume::Open(m.Services(), std::move(reopened_meta), std::move(chain), std::move(open),
                       &out);
    }
    if (!r.ok()) {
      spdlog::error("volume {}: reopening after a restore: {} (restart the daemon)", volume,
                    r.ToString());
      return nullptr;
    }
    return out;
  };
  if (!s.ok()) {
    return finish(s.WithContext(what), reopen());
  }
  restored.ApplySegment(marker, object.size());
  restored.through_seq = marker_seq;
  Bytes checkpoint;
  s = BuildCheckpointObject(SerializeCheckpoint(restored), marker_seq, meta.uuid, v->chain(),
                            &checkpoint);
  if (s.ok()) {
    s = m.store->Put(CheckpointKey(volume, marker_seq), checkpoint.data(), checkpoint.size(),
                     m.fenced_puts);
  }
  if (!s.ok()) {
    spdlog::warn("volume {}: checkpoint after the restore failed: {} (the next open replays it)",
                 volume, s.ToString());
  }
  std::shared_ptr<Volume> reopened = reopen();
  if (!reopened) {
    return finish(Status::Transient(what + ": restored, but the volume could not be reopened; "
                                           "restart the daemon"),
                  nullptr);
  }
  spdlog::info("volume {}: restored to snapshot {} (marker segment {})", volume, snapshot,
               marker_seq);
  return finish(Status::Ok(), std::move(reopened));
}

}  // namespace bp
