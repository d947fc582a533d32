// Volume lifecycle: recovery at open (newest valid checkpoint, then in-order replay of later
// segments stopping at the first gap or invalid segment), clean close with a final checkpoint,
// and summaries.
#include <algorithm>
#include <ctime>
#include <cerrno>
#include <map>

#include <spdlog/spdlog.h>

#include <blockpipe/bp_backend.h>

#include "engine/checkpoint_format.h"
#include "engine/volume.h"

namespace bp {

Volume::Volume(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
               bool writable, bool fenced_puts)
    : svc_(services),
      meta_(std::move(meta)),
      chain_(std::move(chain)),
      volume_blocks_(meta_.size / kBlockSize),
      writable_(writable),
      fenced_puts_(fenced_puts),
      cache_written_units_((services.store->Capabilities() & BP_BACKEND_CAP_LOCAL_READS) == 0),
      active_(std::make_unique<WriteBuffer>()) {}

Volume::~Volume() = default;

Status Volume::Open(const Services& services, VolumeMeta meta, std::unique_ptr<CodecChain> chain,
                    bool writable, bool fenced_puts, std::shared_ptr<Volume>* out) {
  std::shared_ptr<Volume> v(
      new Volume(services, std::move(meta), std::move(chain), writable, fenced_puts));
  BP_RETURN_IF_ERROR(v->Recover().WithContext("opening volume " + v->name()));
  *out = std::move(v);
  return Status::Ok();
}

Status Volume::Recover() {
  ObjectStore& store = *svc_.store;
  const std::string& name = meta_.name;

  // 1. The newest checkpoint that validates. Falling back to an older one is always safe: the
  //    segments after it are still in the store and replay reaches the same state.
  std::vector<ObjectInfo> objects;
  const std::string ckpt_prefix = CheckpointPrefix(name);
  BP_RETURN_IF_ERROR(store.List(ckpt_prefix, &objects));
  std::vector<uint64_t> ckpts;
  for (const auto& o : objects) {
    uint64_t seq;
    if (ParseSeqKey(o.key, ckpt_prefix, &seq)) ckpts.push_back(seq);
  }
  std::sort(ckpts.rbegin(), ckpts.rend());
  VolumeState state;
  uint64_t ckpt_seq = 0;
  std::vector<uint64_t> unusable_ckpts;
  for (uint64_t seq : ckpts) {
    VolumeState candidate;
    Status s = ReadCheckpoint(store, CheckpointKey(name, seq), seq, meta_.uuid, *chain_,
                              volume_blocks_, &candidate);
    if (s.ok()) {
      state = std::move(candidate);
      ckpt_seq = seq;
      break;
    }
    if (!s.IsCorrupt() && !s.IsNotFound()) return s;
    spdlog::warn("volume {}: checkpoint {} is unusable ({}); trying an older one", name, seq,
                 s.ToString());
    if (s.IsCorrupt()) unusable_ckpts.push_back(seq);
  }
  if (!ckpts.empty() && ckpt_seq == 0) {
    spdlog::warn("volume {}: no valid checkpoint; replaying every segment", name);
  }
  // What this checkpoint lists as live decides which segments may be reclaimed later.
  std::vector<uint64_t> checkpoint_live;
  for (const auto& [segment, info] : state.segments) checkpoint_live.push_back(segment);

  // 2. Replay segments after the checkpoint in order; the volume is the longest valid prefix.
  const std::string seg_prefix = SegmentPrefix(name);
  BP_RETURN_IF_ERROR(store.List(seg_prefix, &objects));
  std::map<uint64_t, uint64_t> segments;  // seq → listed size
  for (const auto& o : objects) {
    uint64_t seq;
    if (ParseSeqKey(o.key, seg_prefix, &seq)) segments[seq] = o.size;
  }
  if (ckpt_seq == 0 && !segments.empty() && segments.begin()->first != 1) {
    // Segments before the first one present were reclaimed on the strength of checkpoints that
    // are now all unusable: the volume cannot be rebuilt, and serving a partial replay would
    // present old data as current.
    return Status::Corrupt("no usable checkpoint, and segments 1 to " +
                           std::to_string(segments.begin()->first - 1) +
                           " are gone (reclaimed or deleted); refusing to rebuild the volume from "
                           "a partial log");
  }
  uint64_t seq = ckpt_seq + 1;
  size_t replayed = 0;
  for (;; ++seq) {
    auto it = segments.find(seq);
    if (it == segments.end()) {
      if (segments.upper_bound(seq) != segments.end()) {
        spdlog::warn("volume {}: segment {} is missing; replay stops at {}", name, seq, seq - 1);
      }
      break;
    }
    SegmentMeta meta;
    uint64_t object_size = 0;
    Status s = ReadSegmentMeta(store, SegmentKey(name, seq), seq, meta_.uuid, *chain_,
                               volume_blocks_, it->second, &meta, &object_size);
    if (!s.ok()) {
      if (!s.IsCorrupt() && !s.IsNotFound()) return s;
      spdlog::warn("volume {}: {}; replay stops at segment {}", name, s.ToString(), seq - 1);
      break;
    }
    state.ApplySegment(meta, object_size);
    ++replayed;
  }
  state.through_seq = std::max(state.through_seq, seq - 1);

  // 3. Objects past the prefix are not part of the volume, but a writer's put-if-absent of the
  //    next seq would find them and fence itself. Uploads are sequential and atomic, so a crash
  //    never leaves such objects: they come from damage, tampering or manual deletion. Move them
  //    aside (copy, then delete) rather than delete them: opening for writing must never destroy
  //    bytes an operator may still want.
  const uint64_t now = svc_.clock->UnixMs() / 1000;
  auto move_aside = [&](const std::string& key, const std::string& aside) -> Status {
    Bytes bytes;
    Status got = store.Get(key, &bytes);
    if (got.IsNotFound()) return Status::Ok();
    BP_RETURN_IF_ERROR(got.WithContext("reading " + key + " to quarantine it"));
    BP_RETURN_IF_ERROR(store.Put(aside, bytes.data(), bytes.size(), /*if_absent=*/false)
                           .WithContext("quarantining " + key));
    return store.Delete(key).WithContext("removing quarantined " + key);
  };
  for (auto it = segments.lower_bound(seq); it != segments.end(); ++it) {
    const std::string key = SegmentKey(name, it->first);
    if (!writable_) {
      spdlog::warn("volume {}: ignoring {} past the valid prefix (read-only)", name, key);
      continue;
    }
    const std::string aside = QuarantineKey(name, "seg", it->first, now);
    spdlog::error("volume {}: {} lies past the valid prefix (through segment {}); moving it to {}",
                  name, key, seq - 1, aside);
    BP_RETURN_IF_ERROR(move_aside(key, aside));
  }
  // A damaged checkpoint would also block the writer's own later checkpoint of the same seq.
  for (uint64_t bad : unusable_ckpts) {
    if (!writable_) continue;
    const std::string key = CheckpointKey(name, bad);
    const std::string aside = QuarantineKey(name, "ckpt", bad, now);
    spdlog::error("volume {}: checkpoint {} failed validation; moving it to {}", name, key, aside);
    BP_RETURN_IF_ERROR(move_aside(key, aside));
  }

  std::lock_guard<std::mutex> lock(mu_);
  state_ = std::move(state);
  durable_seq_ = state_.through_seq;
  next_seq_ = durable_seq_ + 1;
  last_checkpoint_seq_ = ckpt_seq;
  if (ckpt_seq != 0) checkpoint_live_[ckpt_seq] = CheckpointLiveSet{0, std::move(checkpoint_live)};
  spdlog::info("volume {}: opened{} (checkpoint {}, {} segment(s) replayed, next segment {}, "
               "codecs {})",
               name, writable_ ? "" : " read-only", ckpt_seq, replayed, next_seq_,
               chain_->Describe());
  return Status::Ok();
}

Status Volume::Close(bool clean) {
  Status result;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return Status::Ok();
    accepting_writes_ = false;
  }
  if (clean && writable_) {
    result = FlushSync();
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [&] { return !checkpointing_; });
    if (result.ok() && !fenced_ && durable_seq_ > last_checkpoint_seq_) {
      checkpointing_ = true;
      Bytes plain = SerializeCheckpoint(state_);
      uint64_t seq = state_.through_seq;
      lock.unlock();
      Status s = PutCheckpoint(seq, plain);
      if (s.ok()) DeleteOldCheckpoints();
      lock.lock();
      checkpointing_ = false;
      if (!s.ok()) {
        spdlog::warn("volume {}: final checkpoint failed: {} (the next open replays segments)",
                     meta_.name, s.ToString());
      }
    }
  }
  Completions done;
  std::unique_lock<std::mutex> lock(mu_);
  closed_ = true;
  for (const DeferredWrite& d : deferred_) done.Add(d.io, ESHUTDOWN);
  deferred_.clear();
  FailWaitersLocked(ESHUTDOWN, &done);
  if (!pending_.empty() || !active_->empty()) {
    if (clean && writable_) {
      spdlog::error("volume {}: closing with unflushed data ({} segment(s) not uploaded)",
                    meta_.name, pending_.size() + (active_->empty() ? 0 : 1));
    }
  }
  // Background tasks hold a reference to the volume, so waiting is only for orderly logs and
  // store calls; it is bounded in case the backend hangs.
  const auto limit = std::chrono::milliseconds(svc_.options.retry_deadline_ms) +
                     std::chrono::seconds(30);
  if (!idle_cv_.wait_for(lock, limit, [&] { return background_ == 0; })) {
    spdlog::warn("volume {}: background work still running at close", meta_.name);
  }
  return result;
}

bool Volume::read_only() const {
  std::lock_guard<std::mutex> lock(mu_);
  return !writable_ || fenced_;
}

VolumeSummary Volume::Summary() const {
  std::lock_guard<std::mutex> lock(mu_);
  VolumeSummary s;
  s.name = meta_.name;
  s.uuid = UuidToHex(meta_.uuid);
  s.size = meta_.size;
  s.codecs = chain_->Describe();
  s.references = references.load();
  s.mapped_bytes = state_.map.data_blocks() * kBlockSize;
  s.stored_bytes = state_.StoredBytes();
  s.last_segment = durable_seq_;
  s.read_only = !writable_ || fenced_;
  return s;
}

}  // namespace bp
