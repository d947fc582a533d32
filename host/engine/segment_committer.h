// SegmentCommitter: the volume's part that takes sealed write buffers to durable segments. It
// numbers segments (strictly increasing seq), keeps the sealed ones in order until they are
// durable (their buffers still answer reads), owns the upload slot — one upload at a time, in
// seq order, so the durable segments are always a prefix (also borrowed by checkpoint
// serialization, see Volume::MaybeCheckpoint) — times retries of failed encodes and uploads
// with exponential backoff, and recycles buffer and image memory between segments.
//
// It only keeps books and decides what comes next; the Volume runs the work it hands out
// (encoding, uploading) on its executor without the lock and reports the outcome back.
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
    kEncodeFailed,  // retried (encoded again) when the retry is due
    kUploadFailed,  // retried (uploaded again) when the retry is due
  };
  uint64_t seq = 0;
  Stage stage = Stage::kEncoding;
  std::unique_ptr<WriteBuffer> buffer;  // immutable once sealed; readable until durable
  uint64_t bytes = 0;                   // memory counted against the write-buffer limit
  SegmentImage image;  // the encoded object, built in memory recycled between segments
};

class SegmentCommitter {
 public:
  explicit SegmentCommitter(const EngineOptions& options);

  // After recovery: the store holds segments 1..durable_seq.
  void Reset(uint64_t durable_seq);

  uint64_t next_seq() const { return next_seq_; }
  uint64_t durable_seq() const { return durable_seq_; }
  // Memory of sealed segments not yet durable (buffers and their encoded images).
  uint64_t pending_bytes() const { return pending_bytes_; }
  bool has_pending() const { return !pending_.empty(); }
  size_t pending_count() const { return pending_.size(); }

  // Seal `buffer` (non-empty) as the next segment; the caller runs its encode task.
  std::shared_ptr<PendingSegment> Seal(std::unique_ptr<WriteBuffer> buffer);
  // An empty buffer for the next writes: a recycled one when there is one.
  std::unique_ptr<WriteBuffer> FreshBuffer();

  // The encode task of seg finished with status s.
  void Encoded(PendingSegment* seg, const Status& s, Clock::TimePoint now);

  // What the head of the queue needs next. kUpload and kEncode hand *seg to the caller, who
  // runs that task (kUpload also takes the upload slot). retry_now: a failed head is retried
  // even if its backoff has not passed (a FLUSH asks for it).
  enum class Step { kNone, kEncode, kUpload };
  Step Next(Clock::TimePoint now, bool retry_now, std::shared_ptr<PendingSegment>* seg);
  // The head's upload succeeded and its map delta is applied: it leaves the queue and its
  // memory is recycled. Returns the new durable seq.
  uint64_t Durable(PendingSegment* seg);
  // The head's upload failed (transiently): back off. Returns the wait in ms before the retry.
  uint32_t UploadFailed(PendingSegment* seg, Clock::TimePoint now);
  // The head's upload ended in a fence (another writer): just release the slot.
  void UploadFenced() { slot_ = Slot::kFree; }
  // A failed head is due for its retry.
  bool RetryDue(Clock::TimePoint now) const;
  // An upload succeeded after one or more failed attempts (for the log).
  bool had_failures() const { return retry_backoff_ms_ != 0; }

  // The upload slot, which checkpoint serialization borrows: the map changes only when an
  // upload completes, so holding the slot freezes it.
  bool slot_free() const { return slot_ == Slot::kFree; }
  void BorrowSlot() { slot_ = Slot::kBorrowed; }
  void ReturnSlot() { slot_ = Slot::kFree; }

  // What the sealed, not yet durable buffers say about block lba (newest first).
  WriteBuffer::Hit Lookup(uint64_t lba, const uint8_t** data) const;
  // True when no sealed, not yet durable buffer touches [lba, lba+blocks).
  bool Untouched(uint64_t lba, uint64_t blocks) const;

 private:
  enum class Slot { kFree, kUploading, kBorrowed };
  // Keep a durable segment's buffer and image memory for the next segments, within the limit.
  void Recycle(PendingSegment* seg);

  const EngineOptions options_;
  std::deque<std::shared_ptr<PendingSegment>> pending_;
  std::vector<std::unique_ptr<WriteBuffer>> spare_buffers_;
  std::vector<Bytes> spare_images_;  // storage of uploaded segment images, kept for reuse
  uint64_t spare_bytes_ = 0;         // memory the two spare lists hold
  uint64_t pending_bytes_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t durable_seq_ = 0;
  Slot slot_ = Slot::kFree;
  Clock::TimePoint retry_at_{};
  uint32_t retry_backoff_ms_ = 0;
};

}  // namespace bp
