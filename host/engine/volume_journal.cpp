// Volume and the local journal ([engine] durability = "local", journal/local_journal.h): the
// segments a waiting FLUSH or FUA needs are committed to the journal, one transaction per group
// commit, and the flush completes at the frontier of segments that are durable or journaled;
// uploads go on in the background, and a durable segment leaves the journal. At open,
// ReplayJournal uploads what the store lacks before the volume serves.
//
// Only what a flush waits for is journaled: writes that no flush asks about go from the buffer
// to the store as in store mode, so streaming writes never squeeze through the journal.
#include <algorithm>
#include <cerrno>

#include <spdlog/spdlog.h>

#include <blockpipe/bp_backend.h>

#include "engine/object_format.h"
#include "engine/segment_format.h"
#include "engine/volume.h"

namespace bp {

void Volume::MaybeJournal() {
  if (!JournalTakesFlushes() || journal_busy_ || access_ != Access::kWritable ||
      phase_ == Phase::kClosed) {
    return;
  }
  const uint64_t target = write_.max_waiter_target();
  if (target <= committer_.AckFrontier()) return;
  std::vector<std::shared_ptr<PendingSegment>> segs = committer_.TakeForJournal(target);
  if (segs.empty()) return;  // the segments needed are still encoding: their tasks call back
  uint64_t bytes = 0;
  for (const auto& seg : segs) bytes += seg->image.size();
  if (!svc_.journal->Reserve(bytes)) {
    // Past the journal's bound: the flushes wait for the uploads instead (backpressure), and
    // the next flush or durable segment tries the journal again.
    committer_.Journaled(segs, /*ok=*/false);
    return;
  }
  journal_busy_ = true;
  auto self = shared_from_this();
  RunInBackground([self, segs = std::move(segs), bytes]() mutable {
    self->JournalSegments(std::move(segs), bytes);
  });
}

void Volume::JournalSegments(std::vector<std::shared_ptr<PendingSegment>> segs, uint64_t reserved) {
  // The images are immutable while `journaling` is set: the committer neither re-encodes nor
  // recycles them until Journaled below.
  std::vector<LocalJournal::Segment> entries;
  entries.reserve(segs.size());
  for (const auto& seg : segs)
    entries.push_back(LocalJournal::Segment{seg->seq, seg->image.Parts()});
  const Status s = svc_.journal->Append(meta_.uuid, meta_.name, entries, reserved);
  Completions done;
  MutexLock lock(&mu_);
  committer_.Journaled(segs, s.ok());
  journal_busy_ = false;
  if (s.ok()) {
    // Segments that became durable while they were being journaled leave it again at once.
    for (const auto& seg : segs) {
      if (seg->seq <= committer_.synced_seq() ||
          (svc_.options.sabotage & Sabotage::kDropJournalBeforeUpload)) {  // engine_options.h
        SegmentLeftJournal(seg->seq, /*journaled=*/true);
      }
    }
    write_.CompleteWaiters(committer_.AckFrontier(), &done);
  } else {
    spdlog::error(
        "volume {}: committing {} segment(s) to the local journal failed: {} (the flushes "
        "waiting for them fail; the data stays in memory and keeps uploading)",
        meta_.name, segs.size(), s.ToString());
    write_.FailWaiters(EIO, &done);
  }
  if (write_.active_has_waiters() && SealForWaitersNow()) Seal();
  MaybeJournal();
  BackgroundDone();
}

void Volume::SegmentLeftJournal(uint64_t seq, bool journaled) {
  if (svc_.journal == nullptr || !(journaled || journal_drop_failed_)) return;
  // Every segment up to `seq` is durable: the journal forgets all of them at once, so a drop
  // that failed (the journal's disk was full) is made good by the next one.
  journal_drop_through_ = std::max(journal_drop_through_, seq);
  if (journal_dropping_) return;
  journal_dropping_ = true;
  auto self = shared_from_this();
  RunInBackground([self] { self->DropJournaled(); });
}

void Volume::DropJournaled() {
  uint64_t through = 0;
  bool ok = true;
  for (;;) {
    {
      MutexLock lock(&mu_);
      if (ok) journal_dropped_through_ = std::max(journal_dropped_through_, through);
      journal_drop_failed_ = !ok;
      if (!ok || journal_drop_through_ <= journal_dropped_through_) {
        journal_dropping_ = false;
        BackgroundDone();
        return;
      }
      through = journal_drop_through_;
    }
    // A drop that fails (the journal's disk is full) or is lost to a crash only keeps uploaded
    // segments in the journal for a while: the next durable segment retries, and replay at the
    // next open finds them in the store already. Harmless, never a lost write.
    Status s = svc_.journal->DropThrough(meta_.uuid, through);
    if (!s.ok()) {
      spdlog::warn("volume {}: dropping uploaded segments through {} from the local journal: {}",
                   meta_.name, through, s.ToString());
      ok = false;
    }
  }
}

bool Volume::TornByPowerLoss(ObjectStore& store, const std::string& key, uint64_t seq,
                             uint64_t size) const {
  // Only a store that defers durability leaves torn objects behind (a crash of the machine
  // before the sync); anything valid, or unreadable for another reason, is not ours to replace.
  if ((store.Capabilities() & BP_BACKEND_CAP_DEFER_SYNC) == 0) return false;
  SegmentMeta meta;
  uint64_t object_size = 0;
  Status valid = ReadSegmentMeta(store, key, seq, meta_.uuid, *chain_,
                                 meta_.max_size() / kBlockSize, size, &meta, &object_size);
  if (valid.ok()) valid = CheckStoredUnits(store, key, meta);
  return valid.IsCorrupt();
}

Status Volume::ReplayJournal(uint64_t through, uint64_t* replayed) {
  LocalJournal& journal = *svc_.journal;
  ObjectStore& store = *svc_.store;
  const std::string& name = meta_.name;
  std::vector<JournalRow> rows;
  BP_RETURN_IF_ERROR(journal.List(&meta_.uuid, &rows).WithContext("reading the local journal"));
  if (rows.empty()) return Status::Ok();
  uint64_t next = through + 1;
  uint64_t lost = 0;  // journaled segments another writer superseded (after a forced take-over)
  for (const JournalRow& row : rows) {
    if (row.seq < next) continue;  // the store has it already
    if (row.seq != next) {
      spdlog::warn(
          "volume {}: the local journal skips from segment {} to {}; what follows the gap was "
          "never acknowledged and is not replayed",
          name, next - 1, row.seq);
      break;
    }
    Bytes image;
    Status s = journal.Read(meta_.uuid, row.seq, &image);
    if (s.IsCorrupt() || s.IsNotFound()) {
      spdlog::error("volume {}: {}; journal replay stops before it", name, s.ToString());
      break;
    }
    BP_RETURN_IF_ERROR(s.WithContext("reading the local journal"));
    const std::string key = SegmentKey(name, row.seq);
    s = store.Put(key, image.data(), image.size(), fenced_puts_);
    if (s.IsPrecondition()) {
      // An upload that landed before the crash holds exactly these bytes; anything else was
      // written by another writer, which took the volume over with --force.
      Bytes existing;
      BP_RETURN_IF_ERROR(store.Get(key, &existing).WithContext("reading " + key));
      if (existing != image && TornByPowerLoss(store, key, row.seq, existing.size())) {
        // Our own upload, deferred and never synced, torn by a crash of the machine: the
        // journal has the segment whole, so it replaces the remains.
        spdlog::warn(
            "volume {}: {} was torn by a crash before it was synced; replacing it "
            "from the local journal",
            name, key);
        BP_RETURN_IF_ERROR(store.Delete(key).WithContext("removing the torn " + key));
        s = store.Put(key, image.data(), image.size(), fenced_puts_);
        if (s.ok()) existing = image;
        else if (!s.IsPrecondition()) BP_RETURN_IF_ERROR(s.WithContext("replaying " + key));
        else BP_RETURN_IF_ERROR(store.Get(key, &existing).WithContext("reading " + key));
      }
      if (existing != image) {
        lost = rows.back().seq - row.seq + 1;
        spdlog::error(
            "volume {}: {} in the store is not the segment this host journaled: another "
            "writer took the volume over (--force); the {} segment(s) from here on that only "
            "this host's journal held are lost",
            name, key, lost);
        break;
      }
    } else {
      BP_RETURN_IF_ERROR(s.WithContext("replaying " + key + " from the local journal"));
    }
    ++*replayed;
    ++next;
  }
  if (*replayed != 0) {
    spdlog::warn("volume {}: uploaded {} segment(s) from the local journal (through segment {})",
                 name, *replayed, next - 1);
  }
  // A row the store already had may be a crashed process's upload that was never synced
  // (deferred durability): durable first, then the journal may forget it.
  BP_RETURN_IF_ERROR(SyncRecovered(through, next - 1));
  // Everything this volume's journal held is now in the store, superseded, or was never
  // acknowledged (past a gap or a damaged row).
  return journal.DropThrough(meta_.uuid, UINT64_MAX).WithContext("clearing the local journal");
}

}  // namespace bp
