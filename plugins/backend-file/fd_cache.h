// A bounded LRU cache of read-only descriptors for ranged reads. The engine reads many small
// units out of the same segment objects; reusing a descriptor saves the path walk and the
// open/close pair on every read. Descriptors are shared (shared_ptr), so evicting or
// invalidating an entry never closes a descriptor another thread is still reading from.
//
// Staleness: a cached descriptor keeps reading the file it opened. This process invalidates the
// entry whenever it replaces or deletes the key, which covers everything the engine does
// (segments are written once). Another process replacing an object in place may be seen late;
// get() never uses the cache.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "posix_io.h"

namespace filebackend {

class FdCache {
 public:
  explicit FdCache(size_t capacity) : capacity_(capacity) {}

  // The cached descriptor for `key`, or null.
  std::shared_ptr<UniqueFd> Find(const std::string& key);

  // Invalidation counter. Read it before opening a file and pass it to Insert: a descriptor
  // opened while the key was being replaced must not be cached after the invalidation.
  uint64_t Epoch();

  // Remember fd for key, evicting the least recently used entry when full. Skipped when the
  // capacity is 0 or when any invalidation happened since `epoch_before_open`.
  void Insert(const std::string& key, std::shared_ptr<UniqueFd> fd, uint64_t epoch_before_open);

  // Forget key (after put or delete of it).
  void Invalidate(const std::string& key);

 private:
  using Lru = std::list<std::pair<std::string, std::shared_ptr<UniqueFd>>>;
  const size_t capacity_;
  std::mutex mutex_;
  uint64_t epoch_ = 0;
  Lru lru_;  // most recently used first
  std::unordered_map<std::string, Lru::iterator> index_;
};

}  // namespace filebackend
