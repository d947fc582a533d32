// SegmentCommitter: the volume's part that takes sealed write buffers to durable segments. It
// numbers segments (strictly increasing seq), keeps the sealed ones in order until they are
// durable (their buffers still answer reads), hands out up to `uploads_in_flight` uploads at a
// time (oldest first), and declares segments durable strictly in seq order: an upload that
// finishes before an older one waits (kUploaded) until every older segment is durable, so the
// durable segments are always a prefix and a FLUSH never outruns a gap. It times retries of
// failed encodes and uploads with exponential backoff and recycles buffer and image memory.
//
// The map changes only when the head segment is applied. `Applying` (one task applies durable
// heads at a time) and `Borrow` (checkpoint serialization reads the map without the lock, see
// Volume::MaybeCheckpoint) exclude each other, so holding the borrow freezes the map while
// uploads keep running.
//
// With the local journal (durability = "local") a segment may also be *journaled*: its encoded
// image is committed to the host's journal, which makes it safe to acknowledge before the
// store has it. AckFrontier() is the highest seq such that every segment up to it is durable or
// journaled; FLUSH/FUA waiters complete at that frontier.
//
// On a store with deferred durability (BP_BACKEND_CAP_DEFER_SYNC, set_defer_sync) a segment is
// uploaded without being made durable against a crash of the machine: once uploaded it is
// applied to the map in seq order as always (durable_seq counts it: the store has it, a
// restarted process reads it), and waits in the *unsynced* list until a sync names it. The
// ack frontier then stops at the first unsynced segment that is not journaled, and synced_seq()
// is the prefix a power loss cannot take away; checkpoints and snapshot records never refer
// past it.
//
// It only keeps books and decides what comes next; the Volume runs the work it hands out
// (encoding, uploading, journaling) on its executor without the lock and reports the outcome.
//
// Not thread-safe: the Volume holds its mutex around every call (volume.h). A PendingSegment's
// buffer and image are written only by the one task the committer handed it to (see Stage).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "engine/engine_options.h"
#include "engine/segment_format.h"
#include "engine/write_buffer.h"
#include "util/clock.h"
#include "util/status.h"

namespace bp {

struct PendingSegment {
  enum class Stage {
    kEncoding,      // an encode task owns `image`
    kEncoded,       // ready to upload
    kUploading,     // an upload task reads `image`
    kUploaded,      // in the store; durable once every older segment is
    kEncodeFailed,  // retried (encoded again) when the retry is due
    kUploadFailed,  // retried (uploaded again) when the retry is due
  };
  uint64_t seq = 0;
  Stage stage = Stage::kEncoding;
  std::unique_ptr<WriteBuffer> buffer;  // immutable once sealed; readable until durable
  uint64_t bytes = 0;                   // memory counted against the write-buffer limit
  SegmentImage image;  // the encoded object, built in memory recycled between segments
  // Local journal: a journal task is writing the image (it reads `image` only), or committed it.
  bool journaling = false;
  bool journaled = false;
  // Local journal: deltas of this segment committed while it was the active buffer (the
  // journal holds rows of it even when not `journaled`), and the stamp they cover it through
  // (WritePath::stamp: flushes up to it are safe).
  uint32_t deltas = 0;
  uint64_t delta_stamp = 0;
  bool in_journal() const { return journaled || deltas != 0; }
  Clock::TimePoint retry_at{};  // kEncodeFailed / kUploadFailed: when the retry is due

  bool encoded() const { return stage != Stage::kEncoding && stage != Stage::kEncodeFailed; }
};

class SegmentCommitter {
 public:
  explicit SegmentCommitter(const EngineOptions& options);

  // After recovery: the store holds segments 1..durable_seq.
  void Reset(uint64_t durable_seq);

  uint64_t next_seq() const { return next_seq_; }
  // Segments through this seq are in the store and applied to the map.
  uint64_t durable_seq() const { return durable_seq_; }
  // Segments through this seq are in the store and durable against a crash of the machine
  // (== durable_seq() unless the store defers durability).
  uint64_t synced_seq() const {
    return unsynced_.empty() ? durable_seq_ : unsynced_.front().seq - 1;
  }
  // Every segment up to this seq is synced or journaled.
  uint64_t AckFrontier() const;
  // The pending segment `seq`, or null.
  PendingSegment* Find(uint64_t seq) const;

  // ---- deferred durability (the store's BP_BACKEND_CAP_DEFER_SYNC) ----
  void set_defer_sync(bool defer) { defer_sync_ = defer; }
  bool defer_sync() const { return defer_sync_; }
  bool has_unsynced() const { return !unsynced_.empty(); }
  // When the oldest unsynced segment became durable.
  Clock::TimePoint oldest_unsynced_since() const { return unsynced_.front().since; }
  // The first unsynced segment that is not journaled (the one the ack frontier stops at), or 0.
  uint64_t FirstUnsyncedBlocker() const;
  // The unsynced segments through `through`, oldest first.
  std::vector<uint64_t> UnsyncedThrough(uint64_t through) const;
  // Segments through `through` were synced: they leave the unsynced list. Returns whether the
  // journal holds rows of any of them (it may now forget them).
  bool Synced(uint64_t through);
  // Memory of sealed segments not yet durable (buffers and their encoded images).
  uint64_t pending_bytes() const { return pending_bytes_; }
  bool has_pending() const { return !pending_.empty(); }
  // A pending segment's upload failed and waits for its retry.
  bool has_upload_failure() const;
  size_t pending_count() const { return pending_.size(); }
  size_t uploads_in_flight() const { return uploading_; }

  // Seal `buffer` (non-empty) as the next segment; the caller runs its encode task.
  std::shared_ptr<PendingSegment> Seal(std::unique_ptr<WriteBuffer> buffer);
  // An empty buffer for the next writes: a recycled one when there is one.
  std::unique_ptr<WriteBuffer> FreshBuffer();

  // The encode task of seg finished with status s.
  void Encoded(PendingSegment* seg, const Status& s, Clock::TimePoint now);

  // What comes next. kUpload and kEncode hand *seg to the caller, who runs that task. Call
  // until kNone: several uploads may start at once. retry_now: a failed segment is retried even
  // if its backoff has not passed (a FLUSH asks for it).
  enum class Step { kNone, kEncode, kUpload };
  Step Next(Clock::TimePoint now, bool retry_now, std::shared_ptr<PendingSegment>* seg);
  // seg's upload succeeded. Returns true when the caller should apply durable heads now
  // (HeadToApply), false when an older segment is still missing or another task applies.
  // Segments whose upload failed earlier become due for a retry at once.
  bool Uploaded(PendingSegment* seg);
  // The oldest pending segment when it is uploaded and may be applied (takes the applying
  // role), else null (and the role is released).
  std::shared_ptr<PendingSegment> HeadToApply();
  // The head returned by HeadToApply has its map delta applied: it leaves the queue and its
  // memory is recycled (with deferred durability it joins the unsynced list; `now` is when).
  // Returns the new durable seq.
  uint64_t Durable(PendingSegment* seg, Clock::TimePoint now = Clock::TimePoint{});
  // seg's upload failed (transiently): back off. Returns the wait in ms before the retry.
  uint32_t UploadFailed(PendingSegment* seg, Clock::TimePoint now);
  // seg's upload ended in a fence (another writer).
  void UploadFenced(PendingSegment* seg);
  // A failed segment is due for its retry.
  bool RetryDue(Clock::TimePoint now) const;
  // An upload succeeded after one or more failed attempts (for the log).
  bool had_failures() const { return retry_backoff_ms_ != 0; }

  // Checkpoint serialization borrows the map: possible while no task applies segments; while
  // borrowed, uploads continue but nothing is applied.
  bool can_borrow() const { return !applying_ && !borrowed_; }
  void Borrow() { borrowed_ = true; }
  void ReturnBorrow() { borrowed_ = false; }

  // Local journal: encoded segments up to `through` that are neither durable, journaled nor
  // being journaled, oldest first, now marked `journaling`; stops at the first one not encoded
  // yet (a later one would not move the frontier).
  std::vector<std::shared_ptr<PendingSegment>> TakeForJournal(uint64_t through);
  // The journal task for these segments finished (those that became durable meanwhile are
  // marked journaled in the unsynced list too).
  void Journaled(const std::vector<std::shared_ptr<PendingSegment>>& segs, bool ok);
  // Deltas of durable segment `seq` reached the journal after it became durable but before it
  // was synced: the sync that comes is what lets the journal forget them.
  void NoteInJournal(uint64_t seq) {
    for (Unsynced& u : unsynced_) {
      if (u.seq == seq) u.in_journal = true;
    }
  }
  // A segment up to `through` waits for an encode before it can be journaled.
  bool JournalWaitsForEncode(uint64_t through) const;

  // Free the spare buffers and images (the volume went idle; memory.md in docs/engine.md).
  void DropSpares() {
    spare_buffers_.clear();
    spare_images_.clear();
    spare_bytes_ = 0;
  }

  // What the sealed, not yet durable buffers say about block lba (newest first).
  WriteBuffer::Hit Lookup(uint64_t lba, const uint8_t** data) const;
  // True when no sealed, not yet durable buffer touches [lba, lba+blocks).
  bool Untouched(uint64_t lba, uint64_t blocks) const;

 private:
  // Keep a durable segment's buffer and image memory for the next segments, within the limit.
  void Recycle(PendingSegment* seg);

  const EngineOptions options_;
  std::deque<std::shared_ptr<PendingSegment>> pending_;
  // Durable (applied) segments not yet synced, ascending and contiguous: synced_seq() + 1 ..
  // durable_seq_. Only with defer_sync_.
  struct Unsynced {
    uint64_t seq = 0;
    bool journaled = false;   // journaled whole: it counts for the ack frontier
    bool in_journal = false;  // the journal holds rows of it (whole or deltas)
    Clock::TimePoint since{};
  };
  std::deque<Unsynced> unsynced_;
  bool defer_sync_ = false;
  std::vector<std::unique_ptr<WriteBuffer>> spare_buffers_;
  std::vector<Bytes> spare_images_;  // storage of uploaded segment images, kept for reuse
  uint64_t spare_bytes_ = 0;         // memory the two spare lists hold
  uint64_t pending_bytes_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t durable_seq_ = 0;
  size_t uploading_ = 0;  // upload tasks running
  bool applying_ = false;
  bool borrowed_ = false;
  uint32_t retry_backoff_ms_ = 0;
};

}  // namespace bp
