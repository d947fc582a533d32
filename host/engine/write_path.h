// WritePath: the volume's part that takes writes in — the active write buffer (acknowledged
// writes not yet sealed into a segment), the application of a WRITE, TRIM or WRITE_ZEROES to it
// (with read-modify-write of partial edge blocks), writes deferred while the buffers are full
// (backpressure, in arrival order), and the FLUSH/FUA requests waiting for a segment to become
// durable.
//
// It only keeps books: it never does I/O and never blocks. The content of a partial edge block
// comes from an EdgeSource the volume supplies (sealed buffers, the map, the cache, units it
// fetched), and when that needs a unit from the store first, TryApply says which and changes
// nothing, so the volume can fetch it without the lock and try again.
//
// Not thread-safe: the Volume holds its mutex around every call (volume.h).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include <blockpipe/bp_frontend.h>

#include "engine/change_log.h"
#include "engine/completions.h"
#include "engine/unit_ref.h"
#include "engine/write_buffer.h"
#include "pipeline/codec_chain.h"
#include "util/clock.h"

namespace bp {

class WritePath {
 public:
  // Fill out[0, 4096) with the current content of block lba and return true, or return false
  // with *need naming the unit to load first (*map_broken when the map points nowhere).
  using EdgeSource =
      std::function<bool(uint64_t lba, uint8_t* out, UnitRef* need, bool* map_broken)>;

  // chain: the volume's codec chain (whether it may store a unit unchanged decides whether
  // block CRCs are taken while copying). Must outlive this. log_changes: keep the ChangeLog of
  // the active buffer (a volume with the local journal).
  explicit WritePath(const CodecChain* chain, bool log_changes = false);

  // ---- the active buffer ----
  const WriteBuffer& active() const { return *active_; }
  bool active_empty() const { return active_->empty(); }
  uint64_t active_bytes() const { return active_->memory_bytes(); }
  Clock::TimePoint active_since() const { return active_since_; }
  // Apply a write, trim or write-zeroes to the active buffer if both partial edge blocks are
  // available from `edges`; otherwise set *need (or *map_broken) and change nothing.
  bool TryApply(const bp_io* io, Clock::TimePoint now, const EdgeSource& edges, UnitRef* need,
                bool* map_broken);
  // Garbage collection: put block lba, relocated from a mostly-dead segment (data: its current
  // content), into the active buffer — unless the active buffer already says anything about
  // lba (a newer write, trim or zero), which then wins. The caller has checked that no sealed
  // buffer touches lba and that the map still points where `data` came from. Returns whether
  // the block was put. warm: `data` came from the memory cache (WriteBuffer::MarkWarm).
  bool PutRelocated(uint64_t lba, const uint8_t* data, Clock::TimePoint now, bool warm);
  // Hand the active buffer over for sealing; `fresh` (empty) takes its place. Waiters that
  // were waiting for the active buffer now wait for the sealed segment. The buffer's deltas
  // (below) stay with it: the caller reads them first.
  std::unique_ptr<WriteBuffer> TakeActive(std::unique_ptr<WriteBuffer> fresh);

  // ---- deltas of the active buffer for the local journal (change_log.h) ----
  // Every change applied gets the next stamp; a waiter remembers the stamp it came after, so a
  // delta taken at stamp s covers the waiters up to s. Changes are logged only with
  // log_changes (constructor).
  uint64_t stamp() const { return stamp_; }
  const ChangeLog& changes() const { return changes_; }
  // Copy the changed blocks and ranges of the active buffer into *delta (empty) and forget the
  // changes; returns the delta's number (1, 2, … per buffer). Until DeltaJournaled, the
  // active buffer's journaled stamp stays where it was.
  uint32_t TakeDelta(WriteBuffer* delta);
  // Delta `number`, taken at `stamp`, is committed to the journal.
  void DeltaJournaled(uint32_t number, uint64_t stamp) {
    active_deltas_ = number;
    active_journaled_stamp_ = stamp;
  }
  // A delta did not reach the journal: what it held is no longer logged, so the buffer can be
  // journaled only whole from now on.
  void DeltaFailed() { changes_.GiveUp(); }
  // Deltas of the active buffer in the journal, and the stamp through which they cover it
  // (0: none).
  uint32_t active_deltas() const { return active_deltas_; }
  uint64_t active_journaled_stamp() const { return active_journaled_stamp_; }

  // ---- backpressure ----
  struct Deferred {
    bp_io* io;
    Clock::TimePoint since;
  };
  void Defer(bp_io* io, Clock::TimePoint now) { deferred_.push_back(Deferred{io, now}); }
  bool has_deferred() const { return !deferred_.empty(); }
  std::deque<Deferred> TakeDeferred();
  // Remove and return the deferred writes that have waited `max_wait` or longer, oldest first.
  std::vector<bp_io*> ExpireDeferred(Clock::TimePoint now, Clock::Duration max_wait);

  // ---- FLUSH/FUA waiters ----
  // io completes once segment `target` is durable or journaled, or journaled as deltas through
  // the current stamp. covers_active: target is the seq the active buffer will be sealed as.
  void AddWaiter(uint64_t target, bp_io* io, bool covers_active);
  // Some waiter needs the active buffer sealed (group commit seals it when the upload slot is
  // free, so every flush arriving meanwhile shares that segment).
  bool active_has_waiters() const { return active_has_waiters_; }
  // The highest seq a waiter waits for (0: none).
  uint64_t max_waiter_target() const;
  // Complete, successfully, the waiters whose target is at or below `frontier`, and those
  // waiting for segment frontier + 1 whose stamp is at or below `next_stamp` (its deltas in
  // the journal cover them).
  void CompleteWaiters(uint64_t frontier, uint64_t next_stamp, Completions* done);
  // Complete every waiter with error.
  void FailWaiters(int error, Completions* done);
  // Forget a waiter (FlushSync's timeout). False if it is not waiting any more.
  bool RemoveWaiter(const bp_io* io);

 private:
  struct Waiter {
    uint64_t target;  // durable once seq >= target
    uint64_t stamp;   // the changes it covers
    bp_io* io;
  };
  void StoreBlock(uint64_t lba, const uint8_t* data);
  void CopyRun(uint64_t first, uint64_t end, const uint8_t* src);

  const CodecChain* const chain_;
  std::unique_ptr<WriteBuffer> active_;
  Clock::TimePoint active_since_{};
  bool active_has_waiters_ = false;
  const bool log_changes_;
  uint64_t stamp_ = 0;
  ChangeLog changes_;
  uint32_t active_deltas_ = 0;
  uint64_t active_journaled_stamp_ = 0;
  std::deque<Deferred> deferred_;
  std::vector<Waiter> waiters_;
};

// True when all 4096 bytes at p are zero.
bool IsZeroBlock(const uint8_t* p);

}  // namespace bp
