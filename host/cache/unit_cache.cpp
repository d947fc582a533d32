// UnitCache implementation: an LRU list plus a hash index, and a table of loads in progress.
#include "cache/unit_cache.h"

#include <algorithm>
#include <cstring>

#include "util/metrics.h"

namespace bp {
namespace {
// Per-entry bookkeeping counted against the budget besides the data itself.
constexpr uint64_t kEntryOverhead = 128;

std::atomic<int64_t>& HitCounter() {
  static std::atomic<int64_t>& c = Metrics::Global().Counter(
      "unit_cache_hits_total", "Unit lookups served by the decoded-unit memory cache");
  return c;
}
std::atomic<int64_t>& MissCounter() {
  static std::atomic<int64_t>& c = Metrics::Global().Counter(
      "unit_cache_misses_total", "Unit lookups that had to read and decode the unit");
  return c;
}
}  // namespace

size_t UnitKeyHash::operator()(const UnitKey& k) const {
  uint64_t a, b;
  std::memcpy(&a, k.volume.data(), 8);
  std::memcpy(&b, k.volume.data() + 8, 8);
  uint64_t h = a ^ (b * 0x9E3779B97F4A7C15ull) ^ (k.seq * 0xC2B2AE3D27D4EB4Full) ^
               (k.index * 0x165667B19E3779F9ull);
  h ^= h >> 29;
  return static_cast<size_t>(h * 0xBF58476D1CE4E5B9ull);
}

UnitCache::UnitCache(uint64_t capacity_bytes) : capacity_(capacity_bytes) {}
UnitCache::~UnitCache() = default;

UnitData UnitCache::Lookup(const UnitKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second);
  hits_++;
  HitCounter().fetch_add(1, std::memory_order_relaxed);
  return it->second->data;
}

bool UnitCache::ContainsOrLoading(const UnitKey& key) {
  std::lock_guard<std::mutex> lock(mu_);
  return index_.count(key) != 0 || loading_.count(key) != 0;
}

Status UnitCache::GetOrLoad(const UnitKey& key, const std::function<Status(Bytes*)>& loader,
                            UnitData* out) {
  std::shared_ptr<Loading> loading;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      hits_++;
      *out = it->second->data;
      return Status::Ok();
    }
    auto pending = loading_.find(key);
    if (pending != loading_.end()) {
      // Another thread is loading this unit: wait for its result. The loader is running (not
      // queued), so this wait is bounded by one backend read.
      auto waiting = pending->second;
      loaded_cv_.wait(lock, [&] { return waiting->done; });
      hits_++;
      *out = waiting->data;
      return waiting->status;
    }
    misses_++;
    MissCounter().fetch_add(1, std::memory_order_relaxed);
    loading = std::make_shared<Loading>();
    loading_.emplace(key, loading);
  }
  auto bytes = std::make_shared<Bytes>();
  Status s = loader(bytes.get());
  UnitData data = s.ok() ? UnitData(std::move(bytes)) : nullptr;
  {
    std::lock_guard<std::mutex> lock(mu_);
    loading->done = true;
    loading->status = s;
    loading->data = data;
    loading_.erase(key);
    if (s.ok()) InsertLocked(key, data);
  }
  loaded_cv_.notify_all();
  *out = data;
  return s;
}

void UnitCache::InsertMany(std::vector<std::pair<UnitKey, UnitData>>* units) {
  // Slices bound how long readers wait for the lock behind a large segment.
  constexpr size_t kSlice = 256;
  for (size_t first = 0; first < units->size(); first += kSlice) {
    const size_t last = std::min(units->size(), first + kSlice);
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = first; i < last; ++i) {
      auto& [key, data] = (*units)[i];
      const uint64_t charge = data->size() + kEntryOverhead;
      if (charge > capacity_) continue;
      if (!loading_.empty() && loading_.count(key) != 0) continue;
      auto [it, inserted] = index_.try_emplace(key, lru_.end());
      if (!inserted) continue;
      lru_.push_front(Entry{key, std::move(data), charge});
      it->second = lru_.begin();
      used_ += charge;
      EvictLocked();
    }
  }
}

void UnitCache::InsertLocked(const UnitKey& key, UnitData data) {
  const uint64_t charge = data->size() + kEntryOverhead;
  if (charge > capacity_) return;  // would evict everything for one unit; just hand it out
  auto it = index_.find(key);
  if (it != index_.end()) {
    used_ -= it->second->charge;
    lru_.erase(it->second);
    index_.erase(it);
  }
  lru_.push_front(Entry{key, std::move(data), charge});
  index_.emplace(key, lru_.begin());
  used_ += charge;
  EvictLocked();
}

void UnitCache::EvictLocked() {
  while (used_ > capacity_ && !lru_.empty()) {
    Entry& victim = lru_.back();
    used_ -= victim.charge;
    index_.erase(victim.key);
    lru_.pop_back();
  }
}

void UnitCache::EraseVolume(const std::array<uint8_t, 16>& volume) {
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = lru_.begin(); it != lru_.end();) {
    if (it->key.volume == volume) {
      used_ -= it->charge;
      index_.erase(it->key);
      it = lru_.erase(it);
    } else {
      ++it;
    }
  }
}

uint64_t UnitCache::used_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return used_;
}
uint64_t UnitCache::hits() const {
  std::lock_guard<std::mutex> lock(mu_);
  return hits_;
}
uint64_t UnitCache::misses() const {
  std::lock_guard<std::mutex> lock(mu_);
  return misses_;
}

}  // namespace bp
