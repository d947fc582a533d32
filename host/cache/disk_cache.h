// DiskCache: stored (encoded) units of every volume on a local disk, so a working set larger
// than the memory cache, and a daemon that just restarted, read from the local disk instead of
// paying an object-store round trip per unit. Shared by every volume of a manager. Thread-safe.
//
// What it holds. The units exactly as the object store holds them, after the codec chain: an
// encrypted volume stays encrypted on the local disk, and a hit is checked and decoded like a
// unit read from the store. Entries come from read misses (UnitLoader) and from the units of
// segments this daemon uploads.
//
// Layout. Unit bytes live in one preallocated data file (`units.dat`) cut into regions of
// kRegionSize bytes; the index (which unit lies where) is an SQLite table (`index.db`, WAL,
// synchronous=NORMAL). Units are appended to the one region being filled, each behind a record
// header that repeats the entry's key and carries a CRC-32C of header and payload. Space is
// reclaimed a region at a time: when no region is free, the least recently used one is
// emptied (its index rows deleted) and filled again, which is LRU at region granularity and
// writes the disk sequentially. docs/engine.md explains why not SQLite blobs.
//
// Never wrong data, never stale. A unit is identified by (volume uuid, segment seq, unit index)
// AND an identity of the object version it came from (UnitIdentity: the object's size and the
// unit's place, length and stored CRC from the segment meta). After a crash a segment number
// can be written again with different bytes by the next writer; its units then have another
// identity and the old entry is a miss (and dropped), never a hit. A hit is verified every time:
// the record header must name the key and identity asked for, the record CRC must match, and
// the payload's CRC-32C must equal the stored CRC the segment meta gives for the unit. Anything
// else (a flipped byte, a region refilled under a reader, a torn write after a power cut) makes
// Lookup drop the entry and report a miss, so the caller fetches the unit from the store.
// Entries of deleted segments and volumes are removed (EraseSegments, RetainSegments,
// EraseVolume).
//
// Bounds. The data file is `size` minus the index's share (kIndexShare); the index is kept
// within its share by evicting regions too. Inserts are queued to a writer thread and dropped
// (counted) when more than kQueueLimit bytes wait, so neither a read nor an upload ever waits
// for the cache's disk. Lookups use a small pool of read connections, so they run in parallel
// with each other and with the writer (WAL).
#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <blockpipe/bp_thread_safety.h>

#include "pipeline/object_store.h"
#include "util/sqlite_db.h"
#include "util/status.h"

namespace bp {

// Which unit: volume uuid, segment seq, unit index in the segment.
struct DiskCacheKey {
  std::array<uint8_t, 16> volume{};
  uint64_t seq = 0;
  uint32_t unit = 0;
};

// The version of a unit's stored bytes, from the segment meta the reader holds. Two objects
// written under one key differ in at least one of these unless their unit bytes are the same.
struct UnitIdentity {
  uint64_t object_size = 0;
  uint64_t offset = 0;
  uint32_t stored_length = 0;
  uint32_t logical_length = 0;
  uint32_t crc = 0;  // CRC-32C of the stored bytes
  uint64_t Hash() const;
};

struct DiskCacheStats {
  uint64_t capacity = 0;      // configured size (data file and index)
  uint64_t data_bytes = 0;    // bytes of regions in use (live and not yet reclaimed entries)
  uint64_t index_bytes = 0;   // pages of the index database in use
  uint64_t entries = 0;       // indexed units
  uint64_t hits = 0;          // verified lookups
  uint64_t misses = 0;        // lookups that found nothing usable
  uint64_t dropped = 0;       // entries dropped because they failed verification or were stale
  uint64_t inserts = 0;       // units written
  uint64_t insert_drops = 0;  // inserts skipped because the queue was full or the disk failed
};

class DiskCache {
 public:
  static constexpr uint64_t kRegionSize = 4ull << 20;
  // The index may use 1/kIndexShare of the size; the data file gets the rest.
  static constexpr uint64_t kIndexShare = 16;
  // Smallest accepted size: a few regions and the index.
  static constexpr uint64_t kMinSize = 64ull << 20;
  // Most bytes of queued inserts; more are dropped. Two default segments' worth, so the units
  // of an uploaded segment fit while the previous one is still being written.
  static constexpr uint64_t kQueueLimit = 32ull << 20;

  // Open (creating) the cache in dir, bounded by size bytes. A cache written with other
  // parameters (region size, format) is emptied; a smaller size drops the regions past the end.
  static Status Open(const std::string& dir, uint64_t size, std::unique_ptr<DiskCache>* out);
  // Writes what is queued, then stops the writer.
  ~DiskCache();
  DiskCache(const DiskCache&) = delete;
  DiskCache& operator=(const DiskCache&) = delete;

  // The stored bytes of the unit, verified against id (see above): true and *out filled, or
  // false (a miss; a damaged or stale entry is dropped).
  bool Lookup(const DiskCacheKey& key, const UnitIdentity& id, Bytes* out);
  // Queue the stored bytes of a unit (copied). Dropped when the queue is full.
  void Insert(const DiskCacheKey& key, const UnitIdentity& id, const uint8_t* data, size_t length);
  // Remove the entries of these segments (they were deleted from the store).
  void EraseSegments(const std::array<uint8_t, 16>& volume, std::vector<uint64_t> seqs);
  // Remove the entries of every segment of the volume not in live (at open: what recovery
  // left out or quarantined, what was deleted while this daemon was down).
  void RetainSegments(const std::array<uint8_t, 16>& volume, std::vector<uint64_t> live);
  // Remove every entry of the volume (it was deleted).
  void EraseVolume(const std::array<uint8_t, 16>& volume);
  // Wait until everything queued so far is applied (tests, shutdown).
  void Drain();

  DiskCacheStats Stats() const;
  const std::string& dir() const { return dir_; }

 private:
  // Work for the writer thread.
  struct Op {
    enum class Kind { kInsert, kDrop, kEraseSegments, kRetain, kEraseVolume };
    Kind kind = Kind::kInsert;
    DiskCacheKey key;
    uint64_t ident = 0;
    Bytes data;                  // kInsert: the stored bytes
    uint32_t region = 0;         // kDrop: only while the entry still lies here
    uint64_t pos = 0;            // kDrop
    std::vector<uint64_t> seqs;  // kEraseSegments, kRetain (sorted)
  };
  struct Reader {
    Mutex mu;
    std::unique_ptr<SqliteDb> db BP_GUARDED_BY(mu);
    SqliteStatement select BP_GUARDED_BY(mu);
  };
  struct Region {
    std::atomic<uint64_t> last_used{0};  // tick of the last hit or insert
    uint64_t fill = 0;                   // bytes appended; writer thread only
  };

  DiskCache(std::string dir, uint64_t size);
  Status Init();
  void WriterLoop();
  // Writer thread only.
  Status ApplyBatch(std::deque<Op>* batch);
  Status ApplyInsert(const Op& op);
  Status TakeRegion();
  Status EmptyRegion(uint32_t region);
  Status EvictForIndex();
  Status SaveRegions(bool all);
  void PublishStats();
  uint64_t IndexBytes();
  // Queue an op; inserts count against the queue limit.
  bool Enqueue(Op op);
  void QueueDrop(const DiskCacheKey& key, uint32_t region, uint64_t pos);

  const std::string dir_;
  const uint64_t size_;
  const uint64_t index_budget_;
  const uint32_t region_count_;
  int fd_ = -1;
  int lock_fd_ = -1;  // flock'ed for the cache's life
  std::unique_ptr<Region[]> regions_;
  std::atomic<uint64_t> tick_{1};

  // The writer's connection and state (writer thread, and Init before it starts).
  std::unique_ptr<SqliteDb> db_;
  SqliteStatement find_, insert_, erase_at_, erase_seq_, erase_volume_, erase_region_, seqs_of_,
      save_region_, count_;
  uint32_t active_ = UINT32_MAX;  // region being filled
  std::vector<uint8_t> dirty_regions_;

  static constexpr size_t kReaders = 4;
  std::array<Reader, kReaders> readers_;

  mutable Mutex mu_;
  CondVar work_cv_;   // an op was queued, or stopping
  CondVar drain_cv_;  // a batch was applied
  std::deque<Op> queue_ BP_GUARDED_BY(mu_);
  uint64_t queued_bytes_ BP_GUARDED_BY(mu_) = 0;
  uint64_t queued_ops_ BP_GUARDED_BY(mu_) = 0;   // ever queued
  uint64_t applied_ops_ BP_GUARDED_BY(mu_) = 0;  // ever applied
  bool stopping_ BP_GUARDED_BY(mu_) = false;
  std::thread writer_;

  std::atomic<uint64_t> hits_{0}, misses_{0}, dropped_{0}, inserts_{0}, insert_drops_{0};
  std::atomic<uint64_t> entries_{0}, data_bytes_{0}, index_bytes_{0};
};

}  // namespace bp
