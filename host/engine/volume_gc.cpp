// Volume garbage collection: planning a copy batch under the lock (the collector picks the
// segments, the map gives their live runs, the unit tables the units to read), reading those
// units without it, relocating each block that is still live and untouched into the active
// buffer, and settling — forcing the checkpoints after which the emptied segments may be
// deleted (collector.h explains the design, segment_pins.h the deletion rule).
#include <algorithm>
#include <cerrno>
#include <map>
#include <thread>

#include <spdlog/spdlog.h>

#include <blockpipe/bp_backend.h>

#include "engine/object_format.h"
#include "engine/segment_format.h"
#include "engine/volume.h"
#include "util/metrics.h"

namespace bp {
namespace {
// Blocks relocated per lock hold: requests get the lock in between.
constexpr uint64_t kRelocateSlice = 1024;
// The smallest paced batch: below it, wait for the token bucket to fill.
constexpr uint64_t kMinBatchBytes = 1ull << 20;
}  // namespace

struct Volume::GcBatch {
  struct Unit {
    UnitRef ref;
    UnitData data;      // null when it could not be read
    bool warm = false;  // it came from the memory cache
  };
  // Blocks [lba, lba+blocks) were at segment `seq` block `index`, which is block `at` of unit
  // `unit` (an index into `units`).
  struct Piece {
    uint64_t lba, blocks, seq, index, at;
    size_t unit;
  };
  std::vector<Unit> units;
  std::vector<Piece> pieces;
  uint64_t epoch = 0;
  uint64_t read_bytes = 0;  // read from the store (the rest came from the memory cache)
};

Status Volume::RequestGc(uint64_t* pass) {
  MutexLock lock(&mu_);
  if (phase_ != Phase::kServing) return Status::Permanent("volume " + meta_.name + " is closing");
  if (access_ != Access::kWritable) {
    return Status::Permanent(
        "volume " + meta_.name + " is " +
        (access_ == Access::kFenced ? "fenced by another writer" : "open read-only") +
        "; only its writer collects garbage");
  }
  *pass = gc_.Request(committer_.durable_seq());
  spdlog::info("volume {}: garbage collection pass {} requested", meta_.name, *pass);
  MaybeCollect(svc_.clock->Now());
  return Status::Ok();
}

void Volume::MaybeCollect(Clock::TimePoint now) {
  if (!accepting_writes() || !gc_.ShouldScan(now)) return;
  const bool manual = gc_.pass_pending();
  // Clients first: no batch while a write waits for room or the buffers are half full.
  const uint64_t limit = svc_.options.write_buffer_limit;
  if (write_.has_deferred() || write_.active_bytes() + committer_.pending_bytes() > limit / 2) {
    return;
  }
  const uint64_t largest = std::min<uint64_t>(limit / 4, svc_.options.segment_size);
  const uint64_t budget = std::min<uint64_t>(
      gc_.Allowance(now, client_reads_.load(std::memory_order_relaxed)), largest);
  if (budget < std::min<uint64_t>({kMinBatchBytes, svc_.options.gc_rate, largest})) return;

  // A clone's base segments stay for its reference, and what a snapshot pins stays for the
  // snapshot: moving their live blocks would only add copies. After the pins changed (a
  // snapshot or clone taken or deleted, or the volume just opened), learn what they hold
  // first: a held set from before a snapshot's deletion would keep the segments only it held
  // out of every pass, and their garbage in the store, until something else refreshed it.
  if (snapshot_pins_.generation() != held_generation_) {
    RefreshHeld(now);
    return;
  }
  const uint64_t base_through = layers_.base_through();
  const PinnedSegmentSet* held = &snapshot_held_;  // read under mu_, which this holds
  const std::vector<uint64_t> candidates =
      gc_.Candidates(state_, committer_.durable_seq(), manual ? gc_.pass_through() : UINT64_MAX,
                     [&](uint64_t seq) { return seq <= base_through || held->Contains(seq); });
  if (candidates.empty()) {
    uint64_t landing = 0;
    if (gc_.InFlight(committer_.durable_seq(), &landing)) {
      // Relocated blocks are still on their way to the map. The age timer seals them; a pass
      // someone waits for seals them now.
      if (manual && landing == committer_.next_seq() && !write_.active_empty()) Seal();
      return;
    }
    const bool settled = Settle(manual);
    gc_.Idle(now, settled);
    return;
  }
  auto batch = std::make_shared<GcBatch>();
  std::map<std::pair<uint64_t, uint32_t>, size_t> unit_of;
  uint64_t planned = 0;
  for (const GcMove& run : GarbageCollector::LiveRuns(state_, candidates, budget / kBlockSize)) {
    uint64_t done = 0;
    while (done < run.blocks) {
      const uint64_t index = run.index + done;
      uint32_t unit_index = 0;
      const UnitLoc* loc = state_.FindUnit(run.seq, index, &unit_index);
      if (loc == nullptr) {
        spdlog::error(
            "volume {}: map points to segment {} block {} which has no unit; not "
            "collecting that segment",
            meta_.name, run.seq, index);
        gc_.SkipSegment(run.seq);
        break;
      }
      const uint64_t in_unit = index - loc->first_block;
      const uint64_t n =
          std::min<uint64_t>(run.blocks - done, loc->logical_length / kBlockSize - in_unit);
      auto [it, added] = unit_of.emplace(std::make_pair(run.seq, unit_index), batch->units.size());
      if (added) {
        UnitKey key;
        key.volume = meta_.uuid;
        key.seq = run.seq;
        key.index = unit_index;
        batch->units.push_back(GcBatch::Unit{UnitRef{key, run.seq, unit_index, *loc}, nullptr});
      }
      batch->pieces.push_back(
          GcBatch::Piece{run.lba + done, n, run.seq, index, in_unit, it->second});
      done += n;
      planned += n * kBlockSize;
    }
  }
  if (batch->pieces.empty()) {
    gc_.Idle(now, false);
    return;
  }
  gc_.BatchStarted(planned);
  batch->epoch = pins_.BeginFetch();
  auto self = shared_from_this();
  RunInBackground([self, batch] {
    self->CopyLive(batch);
    MutexLock lock(&self->mu_);
    self->BackgroundDone();
  });
}

void Volume::CopyLive(std::shared_ptr<GcBatch> batch) {
  static std::atomic<int64_t>& rewritten_counter = Metrics::Global().Counter(
      "gc_rewritten_bytes_total", "Live bytes garbage collection relocated into new segments");
  // Read the units without the lock. A unit the cache holds is taken from there without
  // making it recent (its blocks are about to move away from it), and the blocks relocated
  // from it are cached again in their new place once that is stored (CacheUploadedUnits): a block
  // clients read keeps hitting the cache after it moved. Units read from the store do not
  // enter the cache: cold data that only moves is not what clients are about to read.
  std::vector<size_t> missing;
  for (size_t i = 0; i < batch->units.size(); ++i) {
    GcBatch::Unit& unit = batch->units[i];
    if (UnitData cached = svc_.cache->Peek(unit.ref.key)) {
      unit.data = std::move(cached);
      unit.warm = true;
    } else {
      missing.push_back(i);
    }
  }
  ReadForCollection(batch.get(), std::move(missing));

  uint64_t relocated = 0;
  MutexLock lock(&mu_);
  pins_.EndFetch(batch->epoch);
  uint64_t in_slice = 0;
  for (const GcBatch::Piece& piece : batch->pieces) {
    const GcBatch::Unit& unit = batch->units[piece.unit];
    if (!unit.data) {
      gc_.SkipSegment(piece.seq);  // transient or not, do not loop on it; a restart retries
      continue;
    }
    for (uint64_t b = 0; b < piece.blocks; ++b) {
      if (!accepting_writes()) break;
      const uint64_t lba = piece.lba + b;
      // Still live exactly where it was read from, and no buffer holds anything newer?
      const MapPiece now = state_.map.Lookup(lba, 1);
      const uint8_t* ignored = nullptr;
      const bool unchanged = now.mapped && now.kind == ExtentKind::kData && now.seq == piece.seq &&
                             now.index == piece.index + b &&
                             committer_.Lookup(lba, &ignored) == WriteBuffer::Hit::kMiss;
      if (!unchanged && !(svc_.options.sabotage & Sabotage::kGcStaleRelocation)) continue;
      const uint8_t* src = unit.data->data() + (piece.at + b) * kBlockSize;
      if (write_.PutRelocated(lba, src, svc_.clock->Now(), unit.warm)) {
        relocated += kBlockSize;
        gc_.Relocated(piece.seq, committer_.next_seq());  // the active buffer's seq-to-be
      }
      if (++in_slice == kRelocateSlice) {
        in_slice = 0;
        lock.Unlock();
        std::this_thread::yield();
        lock.Lock();
      }
    }
  }
  rewritten_counter += static_cast<int64_t>(relocated);
  gc_.BatchDone(relocated, batch->read_bytes);
  if (accepting_writes()) {
    SealIfFull();
    MaybeCollect(svc_.clock->Now());  // the next batch, if the rate allows it now
  }
}

void Volume::ReadForCollection(GcBatch* batch, std::vector<size_t> missing) {
  // In object order, segment by segment. On a remote store one ranged GET covers every unit
  // of a span of up to read_coalesce_max bytes, the dead units between the live ones included:
  // the live units of a mostly-dead segment of scattered writes are small and many, and a
  // request costs far more than the bytes it skips (a GET per 4 KiB unit held collection on
  // RGW to about 1.5 MB/s). A store that reads local files has no round trip to save, so there
  // each unit is read alone (and checked while it is in the CPU's cache).
  std::sort(missing.begin(), missing.end(), [&](size_t a, size_t b) {
    const UnitRef& x = batch->units[a].ref;
    const UnitRef& y = batch->units[b].ref;
    return x.seq != y.seq ? x.seq < y.seq : x.loc.offset < y.loc.offset;
  });
  const bool local = (svc_.store->Capabilities() & BP_BACKEND_CAP_LOCAL_READS) != 0;
  const uint64_t span_max = local ? 0 : svc_.options.read_coalesce_max;
  static std::atomic<int64_t>& reads_counter = Metrics::Global().Counter(
      "gc_reads_total", "Ranged reads of segment objects garbage collection made");
  static std::atomic<int64_t>& read_bytes_counter =
      Metrics::Global().Counter("gc_read_bytes_total",
                                "Bytes garbage collection read from segment objects (dead units "
                                "between live ones included)");
  Bytes scratch;  // at most read_coalesce_max (or one unit), for this batch only
  size_t first = 0;
  while (first < missing.size()) {
    const UnitRef& head = batch->units[missing[first]].ref;
    const uint64_t begin = head.loc.offset;
    uint64_t end = begin + head.loc.stored_length;
    size_t last = first + 1;
    while (last < missing.size()) {
      const UnitRef& next = batch->units[missing[last]].ref;
      const uint64_t next_end = next.loc.offset + next.loc.stored_length;
      if (next.seq != head.seq || next.loc.offset < end || next_end - begin > span_max) break;
      end = next_end;
      ++last;
    }
    const std::string key = SegmentKey(meta_.name, head.seq);
    if (scratch.size() < end - begin) scratch.resize(end - begin);
    uint64_t got = 0;
    const Status read = svc_.store->Read(key, begin, end - begin, scratch.data(), &got);
    reads_counter.fetch_add(1, std::memory_order_relaxed);
    read_bytes_counter.fetch_add(static_cast<int64_t>(got), std::memory_order_relaxed);
    batch->read_bytes += got;
    if (!read.ok()) {
      // Their segment is skipped (CopyLive); a restart retries it.
      spdlog::error("volume {}: garbage collection could not read {} unit(s) of segment {}: {}",
                    meta_.name, last - first, head.seq, read.ToString());
      first = last;
      continue;
    }
    for (size_t k = first; k < last; ++k) {
      GcBatch::Unit& unit = batch->units[missing[k]];
      const uint64_t at = unit.ref.loc.offset - begin;
      const uint64_t have = got > at ? std::min<uint64_t>(got - at, unit.ref.loc.stored_length) : 0;
      auto bytes = std::make_shared<Bytes>();
      const Status s = DecodeStoredUnit(scratch.data() + at, have, key, unit.ref.seq,
                                        unit.ref.unit_index, unit.ref.loc, *chain_, bytes.get());
      if (!s.ok()) {
        spdlog::error("volume {}: garbage collection could not read unit {} of segment {}: {}",
                      meta_.name, unit.ref.unit_index, unit.ref.seq, s.ToString());
        continue;
      }
      unit.data = std::move(bytes);
    }
    first = last;
  }
}

bool Volume::Settle(bool manual) {
  if (gc_.settle_through() == 0) {
    // Dead segment objects an earlier settling did not leave behind (pinned ones, say).
    uint64_t dead_bytes = 0;
    std::set<uint64_t> dead;
    for (const auto& [seq, size] : usage_.segments()) {
      if (state_.segments.count(seq) != 0) continue;
      dead.insert(seq);
      if (gc_.IsMarker(seq) || gc_.LeftBySettling(seq)) continue;
      dead_bytes += size;
    }
    if (dead_bytes == 0) return true;
    // A forced checkpoint rewrites the whole map; pay for it only when it frees several times
    // its size (as periodic ones are paced), or when asked to.
    if (!manual && dead_bytes < Checkpointer::kWriteRatio * last_checkpoint_bytes_) return true;
    gc_.StartSettling(committer_.durable_seq(), std::move(dead));
  }
  const uint64_t need = gc_.settle_through();
  if (reclaimer_.reclaimed_through() >= need) {
    std::set<uint64_t> still_dead;
    for (const auto& [seq, size] : usage_.segments()) {
      if (state_.segments.count(seq) == 0) still_dead.insert(seq);
    }
    gc_.Settled(still_dead);
    // Segments emptied while this settling ran (their last blocks relocated meanwhile) were
    // still live in the checkpoint it waited for: settle again for them. Ends once a round
    // finds no dead segment it did not start with (the collector has nothing left to move).
    return Settle(manual);
  }
  if (oldest_kept_checkpoint_ >= need && pins_.Knows(oldest_kept_checkpoint_)) {
    // Recovery can no longer need them: a deletion pass (it waits for older reads).
    if (!reclaimer_.running()) ScheduleReclaim(oldest_kept_checkpoint_);
    return false;
  }
  if (checkpointer_.writing()) return false;
  checkpointer_.Force();
  if (committer_.durable_seq() > checkpointer_.last_seq()) {
    MaybeCheckpoint();
    return false;
  }
  // The next segment brings the checkpoint along; on an idle volume, an empty one moves the log
  // on (segments are numbered without gaps, and checkpoint seqs are segment seqs).
  if (committer_.has_pending() || !write_.active_empty()) return false;
  std::shared_ptr<PendingSegment> seg = committer_.Seal(committer_.FreshBuffer());
  gc_.MarkerSealed(seg->seq);
  auto self = shared_from_this();
  RunInBackground([self, seg] { self->EncodeSegment(seg); });
  return false;
}

void Volume::RefreshHeld(Clock::TimePoint now) {
  if (held_refreshing_ || now < held_retry_at_) return;
  held_refreshing_ = true;
  uint64_t generation = 0;
  VolumePins pins = snapshot_pins_.Snapshot(&generation);
  auto self = shared_from_this();
  RunInBackground([self, pins = std::move(pins), generation] {
    PinnedSegmentSet held;
    // Reads only the pinned checkpoints' live sets, once each (checkpoint_live_ keeps them).
    const Status s =
        PinnedSegments(*self->svc_.store, self->layers_, self->meta_.max_size() / kBlockSize, pins,
                       &held, &self->checkpoint_live_);
    MutexLock lock(&self->mu_);
    self->held_refreshing_ = false;
    if (s.ok()) {
      self->SetHeld(std::move(held), generation);
      if (self->accepting_writes()) self->MaybeCollect(self->svc_.clock->Now());
    } else {
      // Collection waits (it would only guess); the manager's tick tries again.
      spdlog::warn("volume {}: reading what snapshots and clones pin: {}", self->meta_.name,
                   s.ToString());
      self->held_retry_at_ = self->svc_.clock->Now() + std::chrono::seconds(1);
    }
    self->BackgroundDone();
  });
}

void Volume::SetHeld(PinnedSegmentSet held, uint64_t generation) {
  if (generation < held_generation_) return;  // a newer refresh already landed
  snapshot_held_ = std::move(held);
  held_generation_ = generation;
}

}  // namespace bp
