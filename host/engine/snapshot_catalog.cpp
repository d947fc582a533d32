// Snapshot catalog implementation (see snapshot_catalog.h).
#include "engine/snapshot_catalog.h"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "engine/checkpoint_format.h"
#include "engine/volume_layers.h"

namespace bp {

void CheckpointPins::Reset(VolumePins pins) {
  MutexLock lock(&mu_);
  pins_ = std::move(pins);
  ++generation_;
}

void CheckpointPins::Add(const Pin& pin) {
  MutexLock lock(&mu_);
  pins_.pins.push_back(pin);
  ++generation_;
}

void CheckpointPins::Remove(Pin::Kind kind, const std::string& id) {
  MutexLock lock(&mu_);
  auto& v = pins_.pins;
  v.erase(std::remove_if(v.begin(), v.end(),
                         [&](const Pin& p) { return p.kind == kind && p.id == id; }),
          v.end());
  ++generation_;
}

std::set<uint64_t> CheckpointPins::Checkpoints() const {
  MutexLock lock(&mu_);
  std::set<uint64_t> out;
  for (const Pin& p : pins_.pins) {
    if (p.checkpoint_seq != 0) out.insert(p.checkpoint_seq);
  }
  return out;
}

VolumePins CheckpointPins::Snapshot(uint64_t* generation) const {
  MutexLock lock(&mu_);
  if (generation != nullptr) *generation = generation_;
  return pins_;
}

uint64_t CheckpointPins::generation() const {
  MutexLock lock(&mu_);
  return generation_;
}

bool PinnedSegmentSet::Contains(uint64_t seq) const {
  if (everything) return true;
  for (const auto& [first, last] : ranges) {
    if (seq >= first && seq <= last) return true;
  }
  return std::binary_search(live.begin(), live.end(), seq);
}

Status ReadSnapshot(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                    const std::string& snapshot, SnapshotRecord* out) {
  const std::string key = SnapshotKey(volume, snapshot);
  Bytes bytes;
  Status s = store.Get(key, &bytes);
  if (s.IsNotFound()) return Status::NotFound("volume " + volume + " has no snapshot " + snapshot);
  BP_RETURN_IF_ERROR(s.WithContext("reading " + key));
  Uuid found{};
  BP_RETURN_IF_ERROR(
      DecodeSnapshotObject(bytes.data(), bytes.size(), &found, out).WithContext(key));
  if (found != uuid || out->name != snapshot) {
    return Status::NotFound("volume " + volume + " has no snapshot " + snapshot +
                            " (the record at " + key + " belongs to another volume)");
  }
  return Status::Ok();
}

Status ListSnapshots(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                     std::vector<SnapshotRecord>* out, bool* unreadable) {
  std::vector<ObjectInfo> objects;
  BP_RETURN_IF_ERROR(store.List(SnapshotPrefix(volume), &objects)
                         .WithContext("volume " + volume + ": listing snapshots"));
  out->clear();
  for (const ObjectInfo& o : objects) {
    std::string name;
    if (!ParseSnapshotKey(volume, o.key, &name)) continue;
    SnapshotRecord record;
    Status s = ReadSnapshot(store, volume, uuid, name, &record);
    if (s.IsNotFound()) continue;  // deleted meanwhile, or another volume's leftover
    if (s.IsCorrupt() || s.code() == Status::Code::kUnsupported) {
      spdlog::error("volume {}: snapshot record {}: {}", volume, o.key, s.ToString());
      if (unreadable != nullptr) *unreadable = true;
      continue;
    }
    BP_RETURN_IF_ERROR(s);
    out->push_back(std::move(record));
  }
  return Status::Ok();
}

Status PutSnapshot(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                   const SnapshotRecord& record, bool if_absent) {
  const Bytes object = EncodeSnapshotObject(uuid, record);
  return store.Put(SnapshotKey(volume, record.name), object.data(), object.size(), if_absent);
}

Status DeleteSnapshotRecord(ObjectStore& store, const std::string& volume,
                            const std::string& snapshot) {
  Status s = store.Delete(SnapshotKey(volume, snapshot));
  return s.IsNotFound() ? Status::Ok() : s;
}

Status ListCloneRefs(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                     std::vector<CloneRef>* out, bool* unreadable) {
  std::vector<ObjectInfo> objects;
  BP_RETURN_IF_ERROR(store.List(CloneRefPrefix(volume), &objects)
                         .WithContext("volume " + volume + ": listing clone references"));
  out->clear();
  for (const ObjectInfo& o : objects) {
    std::string hex;
    if (!ParseCloneRefKey(volume, o.key, &hex)) continue;
    Bytes bytes;
    Status s = store.Get(o.key, &bytes);
    if (s.IsNotFound()) continue;
    BP_RETURN_IF_ERROR(s.WithContext("reading " + o.key));
    CloneRef ref;
    Uuid found{};
    s = DecodeCloneRefObject(bytes.data(), bytes.size(), &found, &ref);
    if (s.ok() && UuidToHex(ref.clone_uuid) != hex) s = Status::Corrupt("names another clone");
    if (!s.ok()) {
      spdlog::error("volume {}: clone reference {}: {}", volume, o.key, s.ToString());
      if (unreadable != nullptr) *unreadable = true;
      continue;
    }
    if (found != uuid) continue;  // an earlier volume's leftover
    out->push_back(std::move(ref));
  }
  return Status::Ok();
}

Status PutCloneRef(ObjectStore& store, const std::string& volume, const Uuid& uuid,
                   const CloneRef& ref, bool if_absent) {
  const Bytes object = EncodeCloneRefObject(uuid, ref);
  return store.Put(CloneRefKey(volume, UuidToHex(ref.clone_uuid)), object.data(), object.size(),
                   if_absent);
}

Status DeleteCloneRef(ObjectStore& store, const std::string& volume, const Uuid& clone_uuid) {
  Status s = store.Delete(CloneRefKey(volume, UuidToHex(clone_uuid)));
  return s.IsNotFound() ? Status::Ok() : s;
}

Status LoadPins(ObjectStore& store, const std::string& volume, const Uuid& uuid, VolumePins* out) {
  VolumePins pins;
  std::vector<SnapshotRecord> snapshots;
  BP_RETURN_IF_ERROR(ListSnapshots(store, volume, uuid, &snapshots, &pins.unknown));
  for (const SnapshotRecord& s : snapshots) {
    pins.pins.push_back(Pin{Pin::Kind::kSnapshot, s.name, s.checkpoint_seq, s.through_seq});
  }
  std::vector<CloneRef> refs;
  BP_RETURN_IF_ERROR(ListCloneRefs(store, volume, uuid, &refs, &pins.unknown));
  for (const CloneRef& r : refs) {
    pins.pins.push_back(
        Pin{Pin::Kind::kClone, UuidToHex(r.clone_uuid), r.checkpoint_seq, r.through_seq});
  }
  *out = std::move(pins);
  return Status::Ok();
}

Status CheckpointLiveSets::Get(ObjectStore& store, const VolumeLayers& layers,
                               uint64_t volume_blocks, uint64_t seq, std::vector<uint64_t>* out) {
  {
    MutexLock lock(&mu_);
    auto it = sets_.find(seq);
    if (it != sets_.end()) {
      *out = it->second;
      return Status::Ok();
    }
  }
  VolumeState state;
  BP_RETURN_IF_ERROR(
      ReadCheckpoint(store, CheckpointKey(layers.name(), seq), seq, layers.uuid(), layers.chain(),
                     volume_blocks, &state)
          .WithContext("volume " + layers.name() + ": checkpoint " + std::to_string(seq)));
  std::vector<uint64_t> live;
  for (const auto& [segment, info] : state.segments) {
    if (segment > layers.base_through()) live.push_back(segment);
  }
  Put(seq, live);
  *out = std::move(live);
  return Status::Ok();
}

void CheckpointLiveSets::Put(uint64_t seq, std::vector<uint64_t> live) {
  MutexLock lock(&mu_);
  sets_[seq] = std::move(live);
}

void CheckpointLiveSets::Retain(const std::set<uint64_t>& seqs) {
  MutexLock lock(&mu_);
  for (auto it = sets_.begin(); it != sets_.end();) {
    it = seqs.count(it->first) ? std::next(it) : sets_.erase(it);
  }
}

Status PinnedSegments(ObjectStore& store, const VolumeLayers& layers, uint64_t volume_blocks,
                      const VolumePins& pins, PinnedSegmentSet* out, CheckpointLiveSets* cache) {
  CheckpointLiveSets local;
  if (cache == nullptr) cache = &local;
  PinnedSegmentSet set;
  set.everything = pins.unknown;
  std::set<uint64_t> live;
  std::set<uint64_t> read;  // checkpoints already read
  const uint64_t own_start = layers.base_through();
  for (const Pin& p : pins.pins) {
    // A pin from the initial state of a clone replays its own segments from the first one.
    const uint64_t from = std::max(p.checkpoint_seq, own_start);
    if (p.through_seq > from) set.ranges.emplace_back(from + 1, p.through_seq);
    if (p.checkpoint_seq <= own_start || !read.insert(p.checkpoint_seq).second) continue;
    std::vector<uint64_t> pinned;
    BP_RETURN_IF_ERROR(cache->Get(store, layers, volume_blocks, p.checkpoint_seq, &pinned)
                           .WithContext("a pinned checkpoint"));
    live.insert(pinned.begin(), pinned.end());
  }
  set.live.assign(live.begin(), live.end());
  *out = std::move(set);
  return Status::Ok();
}

Status KeptSegments(ObjectStore& store, const VolumeLayers& layers, uint64_t volume_blocks,
                    const VolumePins& pins, CheckpointLiveSets* cache, PinnedSegmentSet* out,
                    PinnedSegmentSet* pinned) {
  PinnedSegmentSet set;
  BP_RETURN_IF_ERROR(PinnedSegments(store, layers, volume_blocks, pins, &set, cache));
  if (pinned != nullptr) *pinned = set;
  std::vector<ObjectInfo> objects;
  const std::string prefix = CheckpointPrefix(layers.name());
  BP_RETURN_IF_ERROR(store.List(prefix, &objects));
  std::set<uint64_t> live(set.live.begin(), set.live.end());
  std::set<uint64_t> present;
  for (const ObjectInfo& o : objects) {
    uint64_t seq = 0;
    if (!ParseSeqKey(o.key, prefix, &seq)) continue;
    present.insert(seq);
    std::vector<uint64_t> kept;
    Status s = cache->Get(store, layers, volume_blocks, seq, &kept);
    if (s.IsNotFound()) continue;  // pruned meanwhile
    // A checkpoint that cannot be read now may be a fallback later: keep everything.
    if (!s.ok()) {
      set.everything = true;
      break;
    }
    live.insert(kept.begin(), kept.end());
  }
  cache->Retain(present);
  set.live.assign(live.begin(), live.end());
  *out = std::move(set);
  return Status::Ok();
}

}  // namespace bp
