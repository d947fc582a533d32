// Bounded LRU of read descriptors; see fd_cache.h. One mutex guards the list and the index: the
// critical sections are a few pointer moves, far cheaper than the open(2) they save.
#include "fd_cache.h"

namespace filebackend {

std::shared_ptr<UniqueFd> FdCache::Find(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  return it->second->second;
}

uint64_t FdCache::Epoch() {
  std::lock_guard<std::mutex> lock(mutex_);
  return epoch_;
}

void FdCache::Insert(const std::string& key, std::shared_ptr<UniqueFd> fd,
                     uint64_t epoch_before_open) {
  if (capacity_ == 0) return;
  std::lock_guard<std::mutex> lock(mutex_);
  // Coarse but safe: any invalidation may have been of this key.
  if (epoch_ != epoch_before_open) return;
  auto it = index_.find(key);
  if (it != index_.end()) {
    // Two threads raced to open the same key; keep the newer descriptor.
    it->second->second = std::move(fd);
    lru_.splice(lru_.begin(), lru_, it->second);
    return;
  }
  lru_.emplace_front(key, std::move(fd));
  index_[key] = lru_.begin();
  while (lru_.size() > capacity_) {
    index_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

void FdCache::Invalidate(const std::string& key) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++epoch_;
  auto it = index_.find(key);
  if (it == index_.end()) return;
  lru_.erase(it->second);
  index_.erase(it);
}

}  // namespace filebackend
