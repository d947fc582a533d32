// UnitCache: decoded data units in memory, shared by every volume, bounded by the configured
// byte budget and evicted least-recently-used. Keys are (volume uuid, segment seq, unit index):
// a unit never changes once written and a new write always lands in a new segment, so a cached
// unit can never be stale. Concurrent misses on the same unit are coalesced: one caller loads,
// the others wait for its result. Thread-safe.
//
// Scattered writes insert hundreds of thousands of small units per second and evict as many.
// So the cache recycles what it evicts: map nodes go to a spare list that later inserts reuse,
// and the buffer of an evicted unit that nobody else holds goes, up to a bound, to spare
// buffers by size, handed out by TakeBuffers to the next units. In a steady stream nothing is
// allocated or freed, and no memory is returned to the system only to be faulted in again.
// Spare buffers count against the budget like cached units.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include <blockpipe/bp_thread_safety.h>

#include "pipeline/object_store.h"
#include "util/status.h"

namespace bp {

struct UnitKey {
  std::array<uint8_t, 16> volume{};
  uint64_t seq = 0;
  uint64_t index = 0;
  bool operator==(const UnitKey& o) const {
    return seq == o.seq && index == o.index && volume == o.volume;
  }
};

struct UnitKeyHash {
  size_t operator()(const UnitKey& k) const;
};

using UnitData = std::shared_ptr<const Bytes>;

class UnitCache {
 public:
  explicit UnitCache(uint64_t capacity_bytes);
  ~UnitCache();

  // The cached unit, or null. A hit becomes most recently used.
  UnitData Lookup(const UnitKey& key) BP_EXCLUDES(mu_);
  // The same for a reader that is not a client (garbage collection): the unit's place in the
  // recency order stays, and neither hits nor misses are counted.
  UnitData Peek(const UnitKey& key) BP_EXCLUDES(mu_);
  // The cached unit, or the result of loader() (run on this thread, or awaited when another
  // caller is already loading the same key). Failed loads are not cached.
  Status GetOrLoad(const UnitKey& key, const std::function<Status(Bytes*)>& loader, UnitData* out)
      BP_EXCLUDES(mu_);
  // Loading several units at once (UnitLoader's coalesced reads): TryClaim says whether the
  // unit is cached (*hit set, it becomes most recently used), being loaded by another caller
  // (wait for it with GetOrLoad), or now claimed by this caller, who must call Finish for it
  // exactly once, with the loaded unit or the error. Waiters of a claimed unit wait in
  // GetOrLoad until then, so the caller must not wait for anything queued before finishing.
  enum class Claim { kCached, kLoading, kClaimed };
  Claim TryClaim(const UnitKey& key, UnitData* hit) BP_EXCLUDES(mu_);
  void Finish(const UnitKey& key, const Status& status, UnitData data) BP_EXCLUDES(mu_);
  // Add units the caller already has decoded (a segment that just became durable). A unit
  // already cached or being loaded is left alone; it holds the same bytes. Takes the lock once
  // per slice of units, not per unit.
  void InsertMany(std::vector<std::pair<UnitKey, UnitData>>* units) BP_EXCLUDES(mu_);
  // Buffers for units about to be inserted: out[i] is an unshared buffer of sizes[i] bytes,
  // recycled from an evicted unit where one of that size is spare, else new.
  void TakeBuffers(const std::vector<size_t>& sizes, std::vector<std::shared_ptr<Bytes>>* out)
      BP_EXCLUDES(mu_);
  // One spare buffer of exactly `size` bytes for a unit about to be loaded (decoded into in
  // place), or null when none of that size is spare; never allocates.
  std::shared_ptr<Bytes> TakeSpare(size_t size) BP_EXCLUDES(mu_);
  // True when the unit is cached or being loaded (read-ahead skips those).
  bool ContainsOrLoading(const UnitKey& key) BP_EXCLUDES(mu_);
  // Drop every unit of one volume (after it is deleted).
  void EraseVolume(const std::array<uint8_t, 16>& volume) BP_EXCLUDES(mu_);

  // Free the spare buffers and nodes kept for reuse (the daemon went idle).
  void DropSpares() BP_EXCLUDES(mu_);

  uint64_t capacity() const { return capacity_; }
  uint64_t used_bytes() const BP_EXCLUDES(mu_);
  uint64_t hits() const BP_EXCLUDES(mu_);
  uint64_t misses() const BP_EXCLUDES(mu_);
  // Bytes of spare buffers held for reuse (part of used_bytes()).
  uint64_t spare_bytes() const BP_EXCLUDES(mu_);

 private:
  // Lives in its map node, linked into the recency list.
  struct Entry {
    UnitData data;
    uint64_t charge = 0;
    const UnitKey* key = nullptr;  // the node's own key
    Entry* newer = nullptr;
    Entry* older = nullptr;
  };
  using Index = std::unordered_map<UnitKey, Entry, UnitKeyHash>;
  // Buffers are recycled by size: class c holds buffers of exactly (c + 1) x 4 KiB, the sizes
  // of units of 1 .. kSpareClasses blocks.
  static constexpr size_t kSpareClasses = 16;
  static constexpr size_t kSpareGranule = 4096;
  // The spare class of a buffer of `size` bytes, or -1 when such buffers are not recycled.
  static int SpareClass(size_t size) {
    const size_t blocks = size / kSpareGranule;
    if (size % kSpareGranule != 0 || blocks == 0 || blocks > kSpareClasses) return -1;
    return static_cast<int>(blocks - 1);
  }
  // A load in progress. Its fields are read and written only with mu_ held (the analysis cannot
  // name the cache's mutex from this struct).
  struct Loading {
    bool done = false;
    Status status;
    UnitData data;
  };
  // Cache `data` under `key`, replacing what is there.
  void InsertLocked(const UnitKey& key, UnitData data) BP_REQUIRES(mu_);
  // Cache `data` under `key`, which is not cached.
  void AddLocked(const UnitKey& key, UnitData data) BP_REQUIRES(mu_);
  void LinkNewestLocked(Entry* e) BP_REQUIRES(mu_);
  void UnlinkLocked(Entry* e) BP_REQUIRES(mu_);
  // Remove a cached unit; its node and (when unshared) its buffer are kept for reuse.
  void RemoveLocked(Entry* e, bool recycle) BP_REQUIRES(mu_);
  void EvictLocked() BP_REQUIRES(mu_);

  const uint64_t capacity_;
  const uint64_t spare_limit_;  // most bytes kept in spare buffers
  mutable Mutex mu_;
  CondVar loaded_cv_;  // a Loading became done (waits on mu_)
  // Entries point into their own map nodes and at each other (the recency list), so both the
  // index and every Entry in it are only touched with mu_ held.
  Index index_ BP_GUARDED_BY(mu_);
  Entry* newest_ BP_GUARDED_BY(mu_) = nullptr;
  Entry* oldest_ BP_GUARDED_BY(mu_) = nullptr;
  std::vector<Index::node_type> spare_nodes_ BP_GUARDED_BY(mu_);
  std::vector<std::shared_ptr<Bytes>> spare_buffers_[kSpareClasses] BP_GUARDED_BY(mu_);
  uint64_t spare_bytes_ BP_GUARDED_BY(mu_) = 0;
  std::unordered_map<UnitKey, std::shared_ptr<Loading>, UnitKeyHash> loading_ BP_GUARDED_BY(mu_);
  uint64_t used_ BP_GUARDED_BY(mu_) = 0;
  uint64_t hits_ BP_GUARDED_BY(mu_) = 0;
  uint64_t misses_ BP_GUARDED_BY(mu_) = 0;
};

}  // namespace bp
