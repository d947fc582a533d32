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
#include <functional>

#include <spdlog/spdlog.h>

#include <blockpipe/bp_backend.h>

#include "engine/object_format.h"
#include "engine/segment_format.h"
#include "engine/volume.h"

namespace bp {
namespace {
// What a delta adds to the bytes of its blocks (object header, meta, codec headers), for the
// journal's bound: an estimate, the bound is about disk use, not exact.
constexpr uint64_t kDeltaOverhead = 4096;

// Put a segment replayed from the journal, with put-if-absent. When the key holds the remains of
// this host's own upload, deferred and never synced, that a crash of the machine tore (`torn`),
// the journal has the segment whole and replaces them. Precondition: the key holds something
// valid, and the caller decides whose it is.
Status PutReplayed(ObjectStore& store, const std::string& volume, const std::string& key,
                   const Bytes& object, bool fenced, const std::function<bool()>& torn) {
  Status s = store.Put(key, object.data(), object.size(), fenced);
  if (!s.IsPrecondition() || !torn()) return s;
  spdlog::warn(
      "volume {}: {} was torn by a crash before it was synced; replacing it from the "
      "local journal",
      volume, key);
  BP_RETURN_IF_ERROR(store.Delete(key).WithContext("removing the torn " + key));
  return store.Put(key, object.data(), object.size(), fenced);
}
}  // namespace

bool Volume::ActiveDeltaFits() const {
  // Past a quarter of a segment a delta costs what the segment would: seal it instead (a
  // stream of large writes then still journals each byte once).
  const ChangeLog& changes = write_.changes();
  return !changes.overflow() && changes.delta_bytes() <= svc_.options.segment_size / 4;
}

void Volume::MaybeJournal() {
  if (!JournalTakesFlushes() || journal_busy_ || access_ != Access::kWritable ||
      phase_ == Phase::kClosed) {
    return;
  }
  const uint64_t target = write_.max_waiter_target();
  if (target <= committer_.AckFrontier()) return;
  std::shared_ptr<JournalBatch> batch =
      journal_spare_ ? std::move(journal_spare_) : std::make_shared<JournalBatch>();
  // Sealed segments go whole: a seq's deltas are only ever the journal's last rows of the
  // volume (replay relies on it), so once a newer seq is journaled the older one must be
  // complete. The segments needed that are still encoding call back when encoded.
  batch->segs = committer_.TakeForJournal(target);
  uint64_t bytes = 0;
  for (const auto& seg : batch->segs) bytes += seg->image.size();
  // The active buffer's delta only behind every older segment (taken above or journaled
  // already): while one of them still encodes, its deltas may be all the journal has of it.
  const bool delta = target == committer_.next_seq() && !write_.active_empty() &&
                     !write_.changes().empty() && ActiveDeltaFits() &&
                     !committer_.JournalWaitsForEncode(target - 1);
  if (delta) bytes += write_.changes().delta_bytes() + kDeltaOverhead;
  if (batch->segs.empty() && !delta) {
    // The segments needed are still encoding (their tasks call back), or the active buffer is
    // to be sealed for them (SealForWaitersNow).
    journal_spare_ = std::move(batch);
    return;
  }
  if (!svc_.journal->Reserve(bytes)) {
    // Past the journal's bound: the flushes wait for the uploads instead (backpressure), and
    // the next flush or durable segment tries the journal again.
    committer_.Journaled(batch->segs, /*ok=*/false);
    batch->segs.clear();
    journal_spare_ = std::move(batch);
    if (write_.active_has_waiters()) Seal();
    return;
  }
  batch->has_delta = delta;
  if (delta) {
    batch->delta.Reset();
    batch->delta_seq = committer_.next_seq();
    batch->delta_number = write_.TakeDelta(&batch->delta);
    batch->delta_stamp = write_.stamp();
    batch->run_id = run_id_;
    batch->run_first_seq = run_first_seq_;
  }
  journal_busy_ = true;
  auto self = shared_from_this();
  RunInBackground(
      [self, batch = std::move(batch), bytes] { self->CommitJournalBatch(batch, bytes); });
}

void Volume::CommitJournalBatch(std::shared_ptr<JournalBatch> batch, uint64_t reserved) {
  // The images are immutable while `journaling` is set: the committer neither re-encodes nor
  // recycles them until Journaled below. The delta is this task's own.
  std::vector<LocalJournal::Segment> entries;
  entries.reserve(batch->segs.size() + 1);
  for (const auto& seg : batch->segs)
    entries.push_back(LocalJournal::Segment{seg->seq, seg->image.Parts()});
  Status s;
  if (batch->has_delta) {
    s = EncodeSegmentImage(batch->delta, batch->delta_seq, meta_.uuid, *chain_, meta_.unit_size,
                           &batch->delta_image, /*keep_in_buffer=*/false, batch->run_id,
                           batch->run_first_seq);
    if (!(svc_.options.sabotage & Sabotage::kSkipDeltaCommit)) {  // engine_options.h
      entries.push_back(
          LocalJournal::Segment{batch->delta_seq, batch->delta_image.Parts(), batch->delta_number});
    }
  }
  if (s.ok()) {
    s = svc_.journal->Append(meta_.uuid, meta_.name, entries, reserved);
  } else {
    svc_.journal->Unreserve(reserved);
  }
  Completions done;
  MutexLock lock(&mu_);
  committer_.Journaled(batch->segs, s.ok());
  journal_busy_ = false;
  if (batch->has_delta) DeltaCommitted(*batch, s.ok());
  if (s.ok()) {
    // Segments that became durable while they were being journaled leave it again at once.
    for (const auto& seg : batch->segs) {
      if (seg->seq <= committer_.synced_seq() ||
          (svc_.options.sabotage & Sabotage::kDropJournalBeforeUpload)) {  // engine_options.h
        SegmentLeftJournal(seg->seq, /*journaled=*/true);
      }
    }
    CompleteAckedWaiters(&done);
  } else {
    spdlog::error(
        "volume {}: committing {} segment(s) to the local journal failed: {} (the flushes "
        "waiting for them fail; the data stays in memory and keeps uploading)",
        meta_.name, entries.size(), s.ToString());
    write_.FailWaiters(EIO, &done);
  }
  batch->segs.clear();
  journal_spare_ = std::move(batch);
  if (write_.active_has_waiters() && SealForWaitersNow()) Seal();
  MaybeJournal();
  BackgroundDone();
}

void Volume::DeltaCommitted(const JournalBatch& batch, bool ok) {
  const uint64_t seq = batch.delta_seq;
  if (seq == committer_.next_seq()) {  // still the active buffer
    if (ok) {
      write_.DeltaJournaled(batch.delta_number, batch.delta_stamp);
    } else {
      write_.DeltaFailed();
    }
    return;
  }
  // Sealed meanwhile. Had the delta failed, the segment goes to the journal whole when a flush
  // needs it.
  if (!ok) return;
  if (PendingSegment* seg = committer_.Find(seq)) {
    seg->deltas = batch.delta_number;
    seg->delta_stamp = batch.delta_stamp;
  } else if (seq <= committer_.synced_seq()) {
    SegmentLeftJournal(seq, /*journaled=*/true);  // durable already: forget it again
  } else {
    committer_.NoteInJournal(seq);  // durable, not yet synced: the sync lets the journal forget
  }
}

void Volume::CompleteAckedWaiters(Completions* done) {
  const uint64_t frontier = committer_.AckFrontier();
  write_.CompleteWaiters(frontier, JournaledStampOf(frontier + 1), done);
}

uint64_t Volume::JournaledStampOf(uint64_t seq) const {
  if (seq == committer_.next_seq()) return write_.active_journaled_stamp();
  if (const PendingSegment* seg = committer_.Find(seq)) return seg->delta_stamp;
  return 0;
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
  size_t end = 0;
  for (size_t begin = 0; begin < rows.size(); begin = end) {
    const uint64_t seq = rows[begin].seq;
    for (end = begin; end < rows.size() && rows[end].seq == seq;) ++end;
    if (seq < next) continue;  // the store has it already
    if (seq != next) {
      spdlog::warn(
          "volume {}: the local journal skips from segment {} to {}; what follows the gap was "
          "never acknowledged and is not replayed",
          name, next - 1, seq);
      break;
    }
    if (rows[begin].delta != 0) {
      // The segment that was being filled: its deltas are the journal's last rows.
      bool uploaded = false, stop = false;
      BP_RETURN_IF_ERROR(ReplayDeltas(rows, begin, end, &uploaded, &stop));
      if (uploaded) {
        ++*replayed;
        ++next;
      }
      if (end != rows.size()) {
        spdlog::warn(
            "volume {}: the local journal goes on past the deltas of segment {}; what "
            "follows was never acknowledged and is not replayed",
            name, seq);
      }
      break;
    }
    Bytes image;
    Status s = journal.Read(meta_.uuid, seq, 0, &image);
    if (s.IsCorrupt() || s.IsNotFound()) {
      spdlog::error("volume {}: {}; journal replay stops before it", name, s.ToString());
      break;
    }
    BP_RETURN_IF_ERROR(s.WithContext("reading the local journal"));
    const std::string key = SegmentKey(name, seq);
    // An upload that landed before the crash holds exactly these bytes (the common case: one
    // read, and no validity check of the whole object); only other bytes can be torn remains.
    Bytes existing;
    bool have_existing = false;
    s = PutReplayed(store, name, key, image, fenced_puts_, [&] {
      have_existing = store.Get(key, &existing).ok();
      const bool torn =
          have_existing && existing != image && TornByPowerLoss(store, key, seq, existing.size());
      if (torn) have_existing = false;  // replaced: whatever is there now is read below
      return torn;
    });
    if (s.IsPrecondition()) {
      // Anything but these bytes was written by another writer, which took the volume over
      // with --force.
      if (!have_existing) {
        BP_RETURN_IF_ERROR(store.Get(key, &existing).WithContext("reading " + key));
      }
      if (existing != image) {
        lost = rows.back().seq - seq + 1;
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

Status Volume::ReplayDeltas(const std::vector<JournalRow>& rows, size_t begin, size_t end,
                            bool* uploaded, bool* stop) {
  ObjectStore& store = *svc_.store;
  const std::string& name = meta_.name;
  const uint64_t seq = rows[begin].seq;
  const std::string key = SegmentKey(name, seq);
  // Each delta holds the blocks and ranges changed since the one before, as they were when it
  // was taken: applied in order to an empty buffer they give the buffer as of the last one.
  WriteBuffer buffer;
  uint64_t journaled_run = 0;
  uint32_t applied = 0;
  for (size_t i = begin; i < end; ++i) {
    if (rows[i].delta != applied + 1) {
      spdlog::error(
          "volume {}: the local journal skips from delta {} to {} of segment {}; "
          "replay stops before the gap",
          name, applied, rows[i].delta, seq);
      break;
    }
    Bytes object;
    Status s = svc_.journal->Read(meta_.uuid, seq, rows[i].delta, &object);
    SegmentMeta meta;
    if (s.ok()) {
      s = ApplySegmentObject(object, key + " delta " + std::to_string(rows[i].delta), seq,
                             meta_.uuid, *chain_, meta_.max_size() / kBlockSize, &buffer, &meta);
    }
    if (s.IsCorrupt() || s.IsNotFound()) {
      spdlog::error("volume {}: {}; journal replay stops before it", name, s.ToString());
      break;
    }
    BP_RETURN_IF_ERROR(s.WithContext("reading the local journal"));
    journaled_run = meta.run_id;
    ++applied;
  }
  *stop = true;
  if (applied == 0) return Status::Ok();
  // The segment is stamped as the first of this run: the crashed run may have left later
  // segments in the store, holding only writes no flush covered (a flush of them would have
  // journaled this segment whole), and recovery then stops before them (a segment of an
  // earlier run after a later run's: recovery_plan.h) and deletes them, before and after a
  // crash during this replay alike.
  BuiltSegment built;
  BP_RETURN_IF_ERROR(
      BuildSegment(buffer, seq, meta_.uuid, *chain_, meta_.unit_size, &built, run_id_, seq));
  const Status s = PutReplayed(store, name, key, built.object, fenced_puts_,
                               [&] { return TornByPowerLoss(store, key, seq, 0); });
  if (s.IsPrecondition()) {
    // The crashed run's own upload of the whole segment holds every delta: keep it. Anything
    // else was written by another writer, which took the volume over with --force.
    SegmentMeta meta;
    uint64_t size = 0;
    const Status mine = ReadSegmentMeta(store, key, seq, meta_.uuid, *chain_,
                                        meta_.max_size() / kBlockSize, 0, &meta, &size);
    if (mine.ok() && journaled_run != 0 && meta.run_id == journaled_run) {
      *uploaded = true;
      return Status::Ok();
    }
    spdlog::error(
        "volume {}: {} in the store is not the segment this host journaled: another writer "
        "took the volume over (--force); the writes only this host's journal held are lost",
        name, key);
    return Status::Ok();
  }
  BP_RETURN_IF_ERROR(s.WithContext("replaying " + key + " from the local journal"));
  run_first_seq_ = seq;
  *uploaded = true;
  return Status::Ok();
}

}  // namespace bp
