// The read-only volume check (see volume_fsck.h). Order of work: list the volume's objects once;
// read and authenticate every checkpoint; read the header and map of every segment; rebuild the
// map as recovery would (newest valid checkpoint, then the valid prefix of later segments);
// cross-check what each checkpoint says about its segments; then fetch, checksum and decode
// every unit the rebuilt map points to, on a few threads. Each finding names the object and,
// where the map says so, which bytes of the volume depend on it.
#include "engine/volume_fsck.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "engine/checkpoint_format.h"
#include "engine/object_format.h"
#include "engine/recovery_plan.h"
#include "engine/segment_format.h"
#include "engine/snapshot_catalog.h"
#include "engine/store_layout.h"
#include "engine/volume_layers.h"
#include "engine/volume_owner.h"
#include "engine/volume_state.h"

namespace bp {
namespace {

class ReadOnlyStore final : public ObjectStore {
 public:
  explicit ReadOnlyStore(std::shared_ptr<ObjectStore> inner) : inner_(std::move(inner)) {}
  Status Get(const std::string& key, Bytes* out) override { return inner_->Get(key, out); }
  Status Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
              uint64_t* nread) override {
    return inner_->Read(key, offset, length, buf, nread);
  }
  Status Put(const std::string& key, const void*, uint64_t, bool) override {
    return Status::Permanent("read-only inspection: refusing to write " + key);
  }
  Status Delete(const std::string& key) override {
    return Status::Permanent("read-only inspection: refusing to delete " + key);
  }
  Status List(const std::string& prefix, std::vector<ObjectInfo>* out) override {
    return inner_->List(prefix, out);
  }
  uint64_t Capabilities() const override { return inner_->Capabilities(); }
  std::string Describe() const override { return inner_->Describe() + " (read-only)"; }

 private:
  std::shared_ptr<ObjectStore> inner_;
};

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

// Append [first, last] (bytes), merging with the previous range when they touch.
void AddRange(Ranges* ranges, uint64_t first, uint64_t last) {
  if (!ranges->empty() && ranges->back().second + 1 == first) {
    ranges->back().second = last;
    return;
  }
  ranges->emplace_back(first, last);
}

void AddBlocks(Ranges* ranges, uint64_t lba, uint64_t blocks) {
  AddRange(ranges, lba * kBlockSize, (lba + blocks) * kBlockSize - 1);
}

// The format readers prefix their messages with the key; the report prints the key already.
std::string WithoutKey(const std::string& key, const std::string& message) {
  if (message.compare(0, key.size(), key) != 0) return message;
  size_t at = key.size();
  if (message.compare(at, 2, ": ") == 0) at += 2;
  else if (message.compare(at, 1, " ") == 0) at += 1;
  return message.substr(at);
}

// One unit the rebuilt map needs, and the bytes of the volume stored in it.
struct UnitCheck {
  uint64_t seq = 0;
  uint32_t index = 0;
  UnitLoc loc;
  Ranges ranges;
  Status result;
};

class Checker {
 public:
  Checker(ObjectStore& store, const VolumeMeta& meta, const CodecChain& chain,
          const FsckOptions& options, FsckReport* report)
      : store_(store),
        meta_(meta),
        chain_(chain),
        options_(options),
        report_(report),
        name_(meta.name),
        volume_blocks_(meta.max_size() / kBlockSize) {}

  Status Run() {
    report_->volume = name_;
    BP_RETURN_IF_ERROR(ListObjects());
    OpenLayers();
    CheckCheckpoints();
    CheckSegmentFronts();
    CrossCheckCheckpoints();
    Replay();
    CheckUnits();
    CheckSnapshots();
    CheckCloneRefs();
    CheckBases();
    return Status::Ok();
  }

 private:
  void Problem(const std::string& object, const std::string& what, Ranges ranges = {}) {
    report_->problems.push_back(FsckProblem{object, what, std::move(ranges)});
  }
  void Progress(const std::string& message) {
    if (options_.progress) options_.progress(message);
  }

  Status ListObjects() {
    std::vector<ObjectInfo> objects;
    BP_RETURN_IF_ERROR(store_.List(VolumePrefix(name_), &objects)
                           .WithContext("volume " + name_ + ": listing its objects"));
    for (const auto& o : objects) {
      uint64_t seq = 0;
      switch (ClassifyVolumeKey(name_, o.key, &seq)) {
        case VolumeKeyKind::kCheckpoint: checkpoints_[seq] = o.size; break;
        case VolumeKeyKind::kSegment: segments_[seq] = o.size; break;
        case VolumeKeyKind::kMeta: break;
        case VolumeKeyKind::kOwner: {
          std::string who = OwnerNote(store_, name_);  // "; in use by …" or ""
          if (who.size() > 2) who = " (" + who.substr(2) + ")";
          report_->notes.push_back(o.key + ": the volume's ownership record" + who +
                                   "; advisory, not checked");
          break;
        }
        case VolumeKeyKind::kQuarantined:
          report_->notes.push_back(o.key +
                                   " was moved aside by an earlier open (damaged or past "
                                   "the valid prefix); it is not part of the volume");
          break;
        case VolumeKeyKind::kSnapshot: snapshot_keys_.push_back(o.key); break;
        case VolumeKeyKind::kCloneRef: clone_ref_keys_.push_back(o.key); break;
        case VolumeKeyKind::kUnknown:
        case VolumeKeyKind::kOutside:  // a store that lists more than the prefix asked for
          report_->notes.push_back(o.key + " is not an object of the volume format; ignored");
          break;
      }
    }
    return Status::Ok();
  }

  // Newest first: the first one that validates is where recovery starts.
  void CheckCheckpoints() {
    for (auto it = checkpoints_.rbegin(); it != checkpoints_.rend(); ++it) {
      const uint64_t seq = it->first;
      const std::string key = CheckpointKey(name_, seq);
      VolumeState state;
      Status st = ReadCheckpoint(store_, key, seq, meta_.uuid, chain_, volume_blocks_, &state);
      report_->checkpoints_checked++;
      if (!st.ok()) checkpoint_errors_[seq] = st;
      if (!st.ok()) {
        Problem(key,
                WithoutKey(key, st.message()) +
                    (base_ == 0 ? " (recovery falls back to an older checkpoint or to the segments)"
                                : ""));
        continue;
      }
      checkpoint_segments_[seq] = state.segments;
      if (base_ == 0) {
        base_ = seq;
        state_ = std::move(state);
      }
    }
    report_->newest_checkpoint = base_;
  }

  void CheckSegmentFronts() {
    size_t done = 0;
    for (const auto& [seq, listed] : segments_) {
      const std::string key = SegmentKey(name_, seq);
      SegmentMeta meta;
      uint64_t size = 0;
      Status st = ReadSegmentMeta(store_, key, seq, meta_.uuid, chain_, volume_blocks_, listed,
                                  &meta, &size);
      report_->segments_checked++;
      if (st.ok()) {
        fronts_.emplace(seq, Front{std::move(meta), size});
      } else {
        front_errors_[seq] = st;
        Problem(key, WithoutKey(key, st.message()));
      }
      if (++done % 256 == 0) {
        Progress("volume " + name_ + ": " + std::to_string(done) + " of " +
                 std::to_string(segments_.size()) + " segment headers checked");
      }
    }
  }

  // Every kept checkpoint is a state recovery may start from: the segments it lists as live
  // must exist and match what it recorded about them. The newest one's segments are checked
  // unit by unit later, so only size and unit tables are compared here.
  void CrossCheckCheckpoints() {
    for (const auto& [ckpt, segments] : checkpoint_segments_) {
      for (const auto& [seq, info] : segments) {
        if (seq <= base_through()) continue;  // a clone's base segment: checked with its units
        const std::string key = SegmentKey(name_, seq);
        auto listed = segments_.find(seq);
        if (listed == segments_.end()) {
          if (ckpt != base_) {
            Problem(key, "is missing, but checkpoint " + std::to_string(ckpt) +
                             " (kept as a fallback) lists it as holding live data");
          }
          continue;  // the newest checkpoint's missing segments are reported with their ranges
        }
        if (listed->second != info.object_size) {
          Problem(key, "is " + std::to_string(listed->second) + " bytes, but checkpoint " +
                           std::to_string(ckpt) + " recorded " + std::to_string(info.object_size));
          continue;
        }
        auto front = fronts_.find(seq);
        if (front == fronts_.end()) continue;  // its own problem is reported already
        const auto& units = front->second.meta.units;
        bool same = units.size() == info.units.size();
        for (size_t i = 0; same && i < units.size(); ++i) {
          const UnitLoc& a = units[i];
          const UnitLoc& b = info.units[i];
          same = a.offset == b.offset && a.stored_length == b.stored_length &&
                 a.logical_length == b.logical_length && a.crc == b.crc &&
                 a.first_block == b.first_block;
        }
        if (!same) {
          Problem(key, "its unit table differs from the one checkpoint " + std::to_string(ckpt) +
                           " recorded for it");
        }
      }
    }
  }

  // Rebuild the map by the same plan an open follows (recovery_plan.h), answering its reads
  // from what the checks above read, and report where it stops.
  void Replay() {
    RecoveryListing listing{checkpoints_, segments_};
    RecoveryReaders readers;
    readers.checkpoint = [&](uint64_t seq, VolumeState* state) {
      auto failed = checkpoint_errors_.find(seq);
      if (failed != checkpoint_errors_.end()) return failed->second;
      if (seq != base_) return Status::Corrupt("checkpoint " + std::to_string(seq) + " unread");
      *state = std::move(state_);
      return Status::Ok();
    };
    readers.segment = [&](uint64_t seq, uint64_t, SegmentMeta* meta, uint64_t* size) {
      auto front = fronts_.find(seq);
      if (front == fronts_.end()) {
        auto failed = front_errors_.find(seq);
        return failed != front_errors_.end() ? failed->second : Status::NotFound("segment unread");
      }
      *meta = front->second.meta;
      *size = front->second.size;
      return Status::Ok();
    };
    if (layers_ && !layers_->bases().empty()) {
      readers.base = [&](VolumeState* state) {
        return layers_->LoadBaseState(store_, volume_blocks_, state);
      };
      readers.base_through = layers_->base_through();
    }
    readers.restore = [&](uint64_t checkpoint, uint64_t through, VolumeState* state) {
      if (!layers_) return Status::Corrupt("a restore marker needs the volume's layers");
      return layers_->LoadStateAt(store_, volume_blocks_, checkpoint, through, state);
    };
    RecoveryPlan plan;
    Status planned = PlanRecovery(listing, readers, &plan);
    if (!planned.ok()) {  // the readers above only answer Ok, Corrupt or NotFound
      Problem(VolumePrefix(name_), "cannot be rebuilt: " + planned.ToString());
      return;
    }
    if (!plan.unrecoverable.ok()) {
      Problem(SegmentKey(name_, 1),
              "is missing, segments 1 to " + std::to_string(segments_.begin()->first - 1) +
                  " are gone and no checkpoint is usable: the volume cannot be opened");
      report_->last_segment = 0;
      next_ = 1;
      return;
    }
    state_ = std::move(plan.state);
    next_ = state_.through_seq + 1;
    report_->last_segment = state_.through_seq;
    // Objects after the end of the valid prefix are not part of the volume.
    if (plan.past_prefix.empty()) return;
    if (plan.stop.IsNotFound()) {
      Problem(SegmentKey(name_, next_),
              "is missing while later segments exist: recovery stops at segment " +
                  std::to_string(next_ - 1) +
                  ", so writes stored after it are not part of the volume");
    }
    for (uint64_t seq : plan.past_prefix) {
      if (seq == next_) continue;  // the invalid segment that ends the prefix: reported
      Problem(SegmentKey(name_, seq),
              "lies past the valid prefix (through segment " + std::to_string(next_ - 1) +
                  "): its writes are not part of the volume, and a writable open moves it to "
                  "quarantine/");
    }
  }

  // The units the rebuilt map points to, each with the byte ranges stored in it.
  void CollectUnits(std::map<std::pair<uint64_t, uint32_t>, UnitCheck>* units) {
    std::map<uint64_t, Ranges> missing;   // segment gone from the store
    std::map<uint64_t, Ranges> unlisted;  // map points where no unit table reaches
    for (const auto& [lba, e] : state_.map.extents()) {
      if (e.kind != ExtentKind::kData) continue;
      report_->logical_bytes_mapped += e.blocks * kBlockSize;
      if (segments_.count(e.seq) == 0 && e.seq > base_through()) {
        AddBlocks(&missing[e.seq], lba, e.blocks);
        continue;
      }
      auto seg = state_.segments.find(e.seq);
      const std::vector<UnitLoc>* table =
          seg != state_.segments.end() ? &seg->second.units : nullptr;
      uint64_t index = e.index;
      const uint64_t end = e.index + e.blocks;
      while (index < end) {
        uint32_t unit_index = 0;
        const UnitLoc* loc = state_.FindUnit(e.seq, index, &unit_index);
        if (table == nullptr || loc == nullptr) {
          AddBlocks(&unlisted[e.seq], lba + (index - e.index), end - index);
          break;
        }
        const uint64_t unit_end =
            std::min<uint64_t>(end, loc->first_block + loc->logical_length / kBlockSize);
        UnitCheck& check = (*units)[{e.seq, unit_index}];
        check.seq = e.seq;
        check.index = unit_index;
        check.loc = *loc;
        AddBlocks(&check.ranges, lba + (index - e.index), unit_end - index);
        index = unit_end;
      }
    }
    for (auto& [seq, ranges] : missing) {
      Problem(SegmentKey(name_, seq), "is missing, but the volume's map stores data in it",
              std::move(ranges));
    }
    for (auto& [seq, ranges] : unlisted) {
      Problem(SegmentKey(name_, seq),
              "the volume's map points to blocks no unit of this segment holds", std::move(ranges));
    }
  }

  void CheckUnits() {
    std::map<std::pair<uint64_t, uint32_t>, UnitCheck> units;
    CollectUnits(&units);
    std::vector<UnitCheck*> work;
    work.reserve(units.size());
    for (auto& [id, check] : units) work.push_back(&check);
    Progress("volume " + name_ + ": reading and decoding " + std::to_string(work.size()) +
             " units");

    std::atomic<size_t> next{0};
    std::atomic<uint64_t> bytes{0};
    std::mutex progress_mu;
    auto last_progress = std::chrono::steady_clock::now();
    auto worker = [&] {
      Bytes decoded;
      for (size_t i = next++; i < work.size(); i = next++) {
        UnitCheck& c = *work[i];
        if (layers_) {
          const SegmentSource from = layers_->For(c.seq);
          c.result = ReadUnit(store_, SegmentKey(*from.volume, c.seq), c.seq, c.index, c.loc,
                              *from.chain, &decoded);
        } else {
          c.result =
              ReadUnit(store_, SegmentKey(name_, c.seq), c.seq, c.index, c.loc, chain_, &decoded);
        }
        bytes += c.loc.stored_length;
        std::lock_guard<std::mutex> lock(progress_mu);
        const auto now = std::chrono::steady_clock::now();
        if (now - last_progress >= std::chrono::seconds(2)) {
          last_progress = now;
          Progress("volume " + name_ + ": " + std::to_string(i + 1) + " of " +
                   std::to_string(work.size()) + " units checked");
        }
      }
    };
    const size_t threads =
        std::clamp<size_t>(options_.threads, 1, std::max<size_t>(1, work.size()));
    std::vector<std::thread> pool;
    for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();

    report_->units_checked = work.size();
    report_->stored_bytes_checked = bytes.load();
    for (UnitCheck* c : work) {
      if (c->result.ok()) continue;
      const std::string key = SegmentKey(name_, c->seq);
      Problem(key,
              "unit " + std::to_string(c->index) + " (" + std::to_string(c->loc.stored_length) +
                  " bytes at offset " + std::to_string(c->loc.offset) + "): " +
                  WithoutKey(key + " unit " + std::to_string(c->index), c->result.message()) +
                  "; reads of its range fail with EIO",
              std::move(c->ranges));
    }
  }

  uint64_t base_through() const { return layers_ ? layers_->base_through() : 0; }

  // A clone reads its shared segments with its bases' codec chains.
  void OpenLayers() {
    std::vector<VolumeLayers::Base> bases;
    std::vector<CloneBase> listed;
    Status st = DecodeCloneBases(meta_.extensions, &listed);
    if (st.ok() && !listed.empty()) {
      st = options_.codecs == nullptr
               ? Status::Unsupported("no codec factory to open the bases' chains")
               : VolumeLayers::OpenBases(*options_.codecs, meta_.extensions, &bases);
    }
    if (!st.ok()) {
      Problem(MetaKey(name_), "its clone bases cannot be opened: " + st.message());
      return;
    }
    layers_.emplace(name_, meta_.uuid, &chain_, std::move(bases));
  }

  // Every snapshot must rebuild exactly: its checkpoint and segments present and valid, and
  // every segment its map points into present.
  void CheckSnapshots() {
    if (!layers_) return;
    for (const std::string& key : snapshot_keys_) {
      std::string snapshot;
      if (!ParseSnapshotKey(name_, key, &snapshot)) continue;
      SnapshotRecord record;
      Status st = ReadSnapshot(store_, name_, meta_.uuid, snapshot, &record);
      if (st.IsNotFound()) {
        report_->notes.push_back(key + " belongs to an earlier volume of this name; ignored");
        continue;
      }
      if (!st.ok()) {
        Problem(key, WithoutKey(key, st.message()) +
                         " (no segment or checkpoint is reclaimed while it is unreadable)");
        continue;
      }
      report_->snapshots_checked++;
      VolumeState state;
      st = layers_->LoadStateAt(store_, volume_blocks_, record.checkpoint_seq, record.through_seq,
                                &state);
      if (!st.ok()) {
        Problem(key, "snapshot " + snapshot + " cannot be rebuilt: " + st.message());
        continue;
      }
      for (const auto& [seq, info] : state.segments) {
        if (seq > base_through() && segments_.count(seq) == 0) {
          Problem(SegmentKey(name_, seq),
                  "is missing, but snapshot " + snapshot + " stores data in it");
        }
      }
    }
  }

  // Each clone reference must name an existing clone of this volume; a stray one only keeps
  // space (a clone creation that was interrupted, or a clone deleted elsewhere).
  void CheckCloneRefs() {
    std::vector<CloneRef> refs;
    bool unreadable = false;
    Status st = ListCloneRefs(store_, name_, meta_.uuid, &refs, &unreadable);
    if (!st.ok()) {
      Problem(CloneRefPrefix(name_), "cannot be listed: " + st.message());
      return;
    }
    if (unreadable) {
      Problem(CloneRefPrefix(name_),
              "holds a clone reference that does not decode (no "
              "segment is reclaimed while it is unreadable)");
    }
    for (const CloneRef& ref : refs) {
      report_->clone_refs_checked++;
      const std::string key = CloneRefKey(name_, UuidToHex(ref.clone_uuid));
      Bytes bytes;
      VolumeMeta clone;
      Status got = store_.Get(MetaKey(ref.clone_name), &bytes);
      if (got.ok()) got = DecodeVolumeMetaObject(bytes.data(), bytes.size(), &clone);
      if (!got.ok() || clone.uuid != ref.clone_uuid) {
        report_->notes.push_back(key + ": clone " + ref.clone_name +
                                 " no longer exists; this reference only keeps shared "
                                 "segments (delete it to let them go)");
      }
      if (ref.checkpoint_seq > base_through() && checkpoints_.count(ref.checkpoint_seq) == 0) {
        Problem(CheckpointKey(name_, ref.checkpoint_seq),
                "is missing, but clone " + ref.clone_name + " starts from it");
      }
    }
  }

  // A clone's bases must still hold the reference that keeps its shared segments.
  void CheckBases() {
    if (!layers_) return;
    for (const VolumeLayers::Base& b : layers_->bases()) {
      Bytes bytes;
      const std::string key = CloneRefKey(b.base.volume, UuidToHex(meta_.uuid));
      Status st = store_.Get(key, &bytes);
      if (!st.ok()) {
        Problem(key, "is missing: base " + b.base.volume +
                         " does not know this clone shares its segments, so deleting or "
                         "reclaiming there may break it (" +
                         st.message() + ")");
      }
    }
  }

  struct Front {
    SegmentMeta meta;
    uint64_t size = 0;
  };

  ObjectStore& store_;
  const VolumeMeta& meta_;
  const CodecChain& chain_;
  const FsckOptions& options_;
  FsckReport* report_;
  const std::string name_;
  const uint64_t volume_blocks_;
  std::optional<VolumeLayers> layers_;  // unset when a clone's bases cannot be opened
  std::vector<std::string> snapshot_keys_;
  std::vector<std::string> clone_ref_keys_;

  std::map<uint64_t, uint64_t> checkpoints_;                                 // seq → listed size
  std::map<uint64_t, uint64_t> segments_;                                    // seq → listed size
  std::map<uint64_t, std::map<uint64_t, SegmentInfo>> checkpoint_segments_;  // valid ones
  std::map<uint64_t, Front> fronts_;              // segments whose header and map validate
  std::map<uint64_t, Status> front_errors_;       // segments whose header or map does not
  std::map<uint64_t, Status> checkpoint_errors_;  // checkpoints that do not validate
  uint64_t base_ = 0;                             // newest valid checkpoint
  uint64_t next_ = 1;                             // first seq past the valid prefix
  VolumeState state_;
};

}  // namespace

Status CheckVolume(ObjectStore& store, const VolumeMeta& meta, const CodecChain& chain,
                   const FsckOptions& options, FsckReport* report) {
  Checker checker(store, meta, chain, options, report);
  return checker.Run();
}

std::shared_ptr<ObjectStore> ReadOnlyView(std::shared_ptr<ObjectStore> store) {
  return std::make_shared<ReadOnlyStore>(std::move(store));
}

}  // namespace bp
