// UnitCache: decoded data units in memory, shared by every volume, bounded by the configured
// byte budget and evicted least-recently-used. Keys are (volume uuid, segment seq, unit index):
// a unit never changes once written and a new write always lands in a new segment, so a cached
// unit can never be stale. Concurrent misses on the same unit are coalesced: one caller loads,
// the others wait for its result. Thread-safe.
#pragma once

#include <array>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <utility>
#include <vector>

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
  UnitData Lookup(const UnitKey& key);
  // The cached unit, or the result of loader() (run on this thread, or awaited when another
  // caller is already loading the same key). Failed loads are not cached.
  Status GetOrLoad(const UnitKey& key, const std::function<Status(Bytes*)>& loader,
                   UnitData* out);
  // Add units the caller already has decoded (a segment that just became durable). A unit
  // already cached or being loaded is left alone; it holds the same bytes. Takes the lock once
  // per slice of units, not per unit.
  void InsertMany(std::vector<std::pair<UnitKey, UnitData>>* units);
  // True when the unit is cached or being loaded (read-ahead skips those).
  bool ContainsOrLoading(const UnitKey& key);
  // Drop every unit of one volume (after it is deleted).
  void EraseVolume(const std::array<uint8_t, 16>& volume);

  uint64_t capacity() const { return capacity_; }
  uint64_t used_bytes() const;
  uint64_t hits() const;
  uint64_t misses() const;

 private:
  struct Entry {
    UnitKey key;
    UnitData data;
    uint64_t charge;
  };
  struct Loading {
    bool done = false;
    Status status;
    UnitData data;
  };
  void InsertLocked(const UnitKey& key, UnitData data);
  void EvictLocked();

  const uint64_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable loaded_cv_;
  std::list<Entry> lru_;  // front = most recent
  std::unordered_map<UnitKey, std::list<Entry>::iterator, UnitKeyHash> index_;
  std::unordered_map<UnitKey, std::shared_ptr<Loading>, UnitKeyHash> loading_;
  uint64_t used_ = 0;
  uint64_t hits_ = 0;
  uint64_t misses_ = 0;
};

}  // namespace bp
