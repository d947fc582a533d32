// GarbageCollector: the volume's part that decides what garbage collection rewrites and when.
//
// A segment object stays in the store as long as one of its blocks is live, so a volume of
// scattered overwrites keeps paying for the dead blocks around the live ones. The collector
// picks segments whose dead share is at least `gc_min_dead_ratio` (most garbage first), and
// the volume copies their live blocks — decoded, exactly the bytes the map points to — into
// its active write buffer (volume_gc.cpp). From there they are ordinary writes: sealed into a
// new segment, encoded under the new segment's identity (so an authenticating codec's
// associated data, which binds volume, segment and unit, is right by construction), uploaded
// with put-if-absent, journaled or not like any segment, and applied to the map in seq order.
// The old segment is then dead and the reclaimer deletes it once nothing pins it
// (segment_pins.h). No new object kind, record or flag is needed, so every blockpipe that reads
// the format reads a collected volume, and a crash at any point leaves a prefix of the log as
// always: a relocated block's content is the content it already had.
//
// A block is relocated only if, when it is put into the buffer, the map still points to the
// very place it was read from and no buffer (active or sealed) holds anything for it: a client
// write, trim or zero that arrived meanwhile is newer and wins.
//
// A block moved out of a unit the memory cache holds is cached again in its new unit once that
// is stored (WriteBuffer::MarkWarm, Volume::CacheUploadedUnits), so moving it costs its readers
// no cache miss.
//
// Client I/O keeps priority: a batch starts only while the write buffers are less than half
// full and no write waits for room, it is at most a quarter of the buffer limit, and while
// clients write, the store traffic of collection — the bytes it reads (on a remote store whole
// spans of a segment, dead units between the live ones included) and the bytes it rewrites —
// is paced by a token bucket of `gc_rate` bytes per second. While clients only read, the
// bucket fills at kReadersShare of that: reads make no garbage, so nothing grows while
// collection waits, and every byte it moves takes CPU and store time from the readers (4 KiB
// random reads on the file backend ran 20-25% slower while it moved 230 MiB in 7 s at the full
// rate). Once no client has read or written for kClientsIdle, batches are not paced (there is
// nobody to give way to), and neither is a manual pass, `blockpipe gc`; both still yield to
// clients by the buffer rule.
//
// Settling: rewritten segments are deleted only below the oldest of two kept checkpoints, and
// an idle volume writes no segments that would bring checkpoints along. When dead segment
// objects outweigh kWriteRatio times the last checkpoint (or a manual pass asks), the volume
// forces checkpoints, sealing an empty segment if nothing else moves the log on.
//
// Not thread-safe: the Volume holds its mutex around every call.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <vector>

#include "engine/engine_options.h"
#include "engine/volume_state.h"
#include "util/clock.h"

namespace bp {

// A run of live blocks to relocate: [lba, lba+blocks) maps to segment `seq` at block `index`.
struct GcMove {
  uint64_t lba = 0;
  uint64_t blocks = 0;
  uint64_t seq = 0;
  uint64_t index = 0;
};

// What `volume list` and `stats` report about garbage collection.
struct GcCounters {
  uint64_t client_bytes = 0;      // bytes clients wrote since open (WRITE payloads)
  uint64_t rewritten_bytes = 0;   // live bytes GC put back into the buffer since open
  uint64_t batches = 0;           // copy batches run
  uint64_t passes_requested = 0;  // manual passes asked for (`blockpipe gc`)
  uint64_t passes_done = 0;       // manual passes finished
  bool running = false;           // a batch or a manual pass is in progress
};

class GarbageCollector {
 public:
  explicit GarbageCollector(const EngineOptions& options);

  // Whether background collection (or a requested pass) may look for work at `now`.
  bool ShouldScan(Clock::TimePoint now) const;
  // The segments worth rewriting (dead share >= min_dead_ratio), most garbage first, leaving
  // out those whose relocated blocks have not reached the map yet (durable_seq: the volume's)
  // and those above max_seq, and those `held` (if set) names: segments something besides the
  // live map keeps (a clone's base, what a snapshot pins), where rewriting the live blocks
  // would free nothing.
  std::vector<uint64_t> Candidates(const VolumeState& state, uint64_t durable_seq,
                                   uint64_t max_seq = UINT64_MAX,
                                   const std::function<bool(uint64_t seq)>& held = nullptr);
  // Live runs of those segments, in map order, at most max_blocks blocks in all.
  static std::vector<GcMove> LiveRuns(const VolumeState& state, const std::vector<uint64_t>& segs,
                                      uint64_t max_blocks);

  // No client request for this long: background batches stop being paced.
  static constexpr std::chrono::milliseconds kClientsIdle{1000};
  static constexpr double kReadersShare = 0.25;

  // Bytes a batch may rewrite now: the token bucket while clients read or write, filling at a
  // quarter of the rate while they only read (client_reads:
  // the volume's count of reads so far; writes are counted by ClientWrote); unlimited during a
  // manual pass or once clients have been idle for kClientsIdle (the batch is then not paced).
  uint64_t Allowance(Clock::TimePoint now, uint64_t client_reads = 0);

  // A batch of `planned` bytes was handed out / came back having relocated `bytes` after
  // reading `read_bytes` from the store; a paced batch's reads are charged to the bucket too.
  void BatchStarted(uint64_t planned);
  void BatchDone(uint64_t bytes, uint64_t read_bytes);
  bool copying() const { return copying_; }

  // A segment whose units could not be read: not picked again by this process.
  void SkipSegment(uint64_t seq) { skip_.insert(seq); }
  // Blocks of segment `seq` were relocated into the buffer that becomes segment `landing`:
  // until that is durable the map still points into seq, which is not picked again.
  void Relocated(uint64_t seq, uint64_t landing);
  // Some relocated blocks have not reached the map yet; *landing: the highest segment they
  // land in.
  bool InFlight(uint64_t durable_seq, uint64_t* landing);
  // Segment `seq` was sealed empty to move the log on for a checkpoint (Volume::Settle): it
  // is dead from the start and no reason to settle again.
  void MarkerSealed(uint64_t seq) { markers_.insert(seq); }
  bool IsMarker(uint64_t seq) const { return markers_.count(seq) != 0; }

  // Settling (Volume::Settle): every segment dead now (`dead`) is dead in any checkpoint
  // through the durable seq of this moment, so once a deletion pass whose reference is at or
  // past it has run, those of them still there are pinned (or failed to delete and wait for
  // the next pass) and no reason to settle again. A segment that died after settling started
  // (its last blocks relocated meanwhile) is still live in that checkpoint: it is no such
  // reason, and settles next time. 0: not settling.
  uint64_t settle_through() const { return settle_through_; }
  void StartSettling(uint64_t durable_seq, std::set<uint64_t> dead) {
    settle_through_ = durable_seq;
    settling_dead_ = std::move(dead);
  }
  // still_dead: the segments dead now.
  void Settled(const std::set<uint64_t>& still_dead) {
    settle_through_ = 0;
    settled_dead_.clear();
    for (uint64_t seq : still_dead) {
      if (settling_dead_.count(seq) != 0) settled_dead_.insert(seq);
    }
    settling_dead_.clear();
  }
  bool LeftBySettling(uint64_t seq) const { return settled_dead_.count(seq) != 0; }
  // A snapshot or clone reference went: what settling left because it was pinned may go now.
  void PinsReleased() { settled_dead_.clear(); }

  // A scan found nothing to rewrite (and settling has nothing left to do either, when
  // `settled`): finishes a manual pass in progress.
  void Idle(Clock::TimePoint now, bool settled);

  // Manual passes (`blockpipe gc`): request one with segments through durable_seq durable;
  // returns its number. A pass rewrites only segments that existed when it was asked for, so
  // it ends on a volume that clients keep writing (background collection takes the rest).
  uint64_t Request(uint64_t durable_seq);
  uint64_t pass_through() const { return pass_through_; }
  bool pass_pending() const { return counters_.passes_done < counters_.passes_requested; }

  void ClientWrote(uint64_t bytes) { counters_.client_bytes += bytes; }
  GcCounters counters() const;

 private:
  const EngineOptions options_;
  bool copying_ = false;
  bool paced_ = true;     // the batch Allowance was last asked for is paced
  bool working_ = false;  // the last scan found work (and no scan found none since)
  Clock::TimePoint last_scan_{};
  uint64_t seen_client_bytes_ = 0;  // counters_.client_bytes when Allowance last looked
  uint64_t seen_client_reads_ = 0;  // and the volume's count of client reads
  Clock::TimePoint last_client_request_{};
  Clock::TimePoint last_client_write_{};
  Clock::TimePoint refilled_{};
  double tokens_ = 0;
  std::set<uint64_t> skip_;
  std::map<uint64_t, uint64_t> in_flight_;  // segment -> the segment its blocks land in
  std::set<uint64_t> markers_;
  uint64_t settle_through_ = 0;
  uint64_t pass_through_ = 0;
  std::set<uint64_t> settling_dead_;  // dead when the current settling started
  std::set<uint64_t> settled_dead_;
  GcCounters counters_;
};

}  // namespace bp
