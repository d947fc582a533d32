// UnitCache implementation: a hash index whose nodes carry the recency list, spare nodes and
// buffers for reuse, and a table of loads in progress.
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

namespace {
// Spare buffers are bounded by this share of the budget, and by kSpareMax: enough to recycle
// one segment's worth of scattered units between two segments.
constexpr uint64_t kSpareShare = 16;
constexpr uint64_t kSpareMax = 32u << 20;
constexpr size_t kSpareNodesMax = 8192;

// True when `data` is the last reference to its buffer, which may then be written again. The
// count's read (use_count) is relaxed: alone it does not order the other holders' reads of the
// bytes before our writes. Taking a copy and dropping it does: the drop is an acquire-release
// decrement of the count, after every holder's own release of it, so their last reads happen
// before whatever the buffer is used for next (ThreadSanitizer sees it too, which it does not
// for a bare fence).
bool LastReference(const UnitData& data) {
  if (data.use_count() != 1) return false;
  UnitData probe = data;
  probe.reset();
  return true;
}
}  // namespace

UnitCache::UnitCache(uint64_t capacity_bytes)
    : capacity_(capacity_bytes), spare_limit_(std::min(capacity_bytes / kSpareShare, kSpareMax)) {}
UnitCache::~UnitCache() = default;

void UnitCache::LinkNewestLocked(Entry* e) {
  e->older = newest_;
  e->newer = nullptr;
  if (newest_ != nullptr) newest_->newer = e;
  newest_ = e;
  if (oldest_ == nullptr) oldest_ = e;
}

void UnitCache::UnlinkLocked(Entry* e) {
  (e->newer ? e->newer->older : newest_) = e->older;
  (e->older ? e->older->newer : oldest_) = e->newer;
  e->newer = e->older = nullptr;
}

UnitData UnitCache::Lookup(const UnitKey& key) {
  MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  UnlinkLocked(&it->second);
  LinkNewestLocked(&it->second);
  hits_++;
  HitCounter().fetch_add(1, std::memory_order_relaxed);
  return it->second.data;
}

UnitData UnitCache::Peek(const UnitKey& key) {
  MutexLock lock(&mu_);
  auto it = index_.find(key);
  return it == index_.end() ? nullptr : it->second.data;
}

bool UnitCache::ContainsOrLoading(const UnitKey& key) {
  MutexLock lock(&mu_);
  return index_.count(key) != 0 || loading_.count(key) != 0;
}

Status UnitCache::GetOrLoad(const UnitKey& key, const std::function<Status(Bytes*)>& loader,
                            UnitData* out) {
  std::shared_ptr<Loading> loading;
  {
    MutexLock lock(&mu_);
    auto it = index_.find(key);
    if (it != index_.end()) {
      UnlinkLocked(&it->second);
      LinkNewestLocked(&it->second);
      hits_++;
      *out = it->second.data;
      return Status::Ok();
    }
    auto pending = loading_.find(key);
    if (pending != loading_.end()) {
      // Another thread is loading this unit: wait for its result. The loader is running (not
      // queued), so this wait is bounded by one backend read.
      auto waiting = pending->second;
      while (!waiting->done) loaded_cv_.Wait(&mu_);
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
    MutexLock lock(&mu_);
    loading->done = true;
    loading->status = s;
    loading->data = data;
    loading_.erase(key);
    if (s.ok()) InsertLocked(key, data);
  }
  loaded_cv_.SignalAll();
  *out = data;
  return s;
}

UnitCache::Claim UnitCache::TryClaim(const UnitKey& key, UnitData* hit) {
  MutexLock lock(&mu_);
  auto it = index_.find(key);
  if (it != index_.end()) {
    UnlinkLocked(&it->second);
    LinkNewestLocked(&it->second);
    hits_++;
    *hit = it->second.data;
    return Claim::kCached;
  }
  if (loading_.count(key) != 0) return Claim::kLoading;
  misses_++;
  MissCounter().fetch_add(1, std::memory_order_relaxed);
  loading_.emplace(key, std::make_shared<Loading>());
  return Claim::kClaimed;
}

void UnitCache::Finish(const UnitKey& key, const Status& status, UnitData data) {
  {
    MutexLock lock(&mu_);
    auto it = loading_.find(key);
    if (it == loading_.end()) return;  // not claimed: a caller bug, but harmless
    std::shared_ptr<Loading> loading = std::move(it->second);
    loading_.erase(it);
    loading->done = true;
    loading->status = status;
    loading->data = status.ok() ? data : nullptr;
    if (status.ok() && data) InsertLocked(key, std::move(data));
  }
  loaded_cv_.SignalAll();
}

void UnitCache::TakeBuffers(const std::vector<size_t>& sizes,
                            std::vector<std::shared_ptr<Bytes>>* out) {
  out->clear();
  out->reserve(sizes.size());
  {
    MutexLock lock(&mu_);
    for (size_t size : sizes) {
      const int c = SpareClass(size);
      if (c < 0 || spare_buffers_[c].empty()) {
        out->emplace_back();
        continue;
      }
      out->push_back(std::move(spare_buffers_[c].back()));
      spare_buffers_[c].pop_back();
      spare_bytes_ -= size;
      used_ -= size;  // back with the caller until it is inserted again
    }
  }
  for (size_t i = 0; i < sizes.size(); ++i) {
    if (!(*out)[i]) (*out)[i] = std::make_shared<Bytes>(sizes[i]);
  }
}

std::shared_ptr<Bytes> UnitCache::TakeSpare(size_t size) {
  const int c = SpareClass(size);
  if (c < 0) return nullptr;
  MutexLock lock(&mu_);
  if (spare_buffers_[c].empty()) return nullptr;
  std::shared_ptr<Bytes> buffer = std::move(spare_buffers_[c].back());
  spare_buffers_[c].pop_back();
  spare_bytes_ -= size;
  used_ -= size;  // back with the caller until it is inserted again
  return buffer;
}

void UnitCache::InsertMany(std::vector<std::pair<UnitKey, UnitData>>* units) {
  // Slices bound how long readers wait for the lock behind a large segment.
  constexpr size_t kSlice = 256;
  for (size_t first = 0; first < units->size(); first += kSlice) {
    const size_t last = std::min(units->size(), first + kSlice);
    MutexLock lock(&mu_);
    for (size_t i = first; i < last; ++i) {
      auto& [key, data] = (*units)[i];
      if (!loading_.empty() && loading_.count(key) != 0) continue;
      if (index_.count(key) != 0) continue;
      AddLocked(key, std::move(data));
    }
  }
}

void UnitCache::InsertLocked(const UnitKey& key, UnitData data) {
  auto it = index_.find(key);
  if (it != index_.end()) RemoveLocked(&it->second, false);
  AddLocked(key, std::move(data));
}

void UnitCache::AddLocked(const UnitKey& key, UnitData data) {
  const uint64_t charge = data->size() + kEntryOverhead;
  if (charge > capacity_) return;  // would evict everything for one unit; just hand it out
  Index::iterator pos;
  if (!spare_nodes_.empty()) {
    Index::node_type node = std::move(spare_nodes_.back());
    spare_nodes_.pop_back();
    node.key() = key;
    pos = index_.insert(std::move(node)).position;
  } else {
    pos = index_.try_emplace(key).first;
  }
  Entry* e = &pos->second;
  e->data = std::move(data);
  e->charge = charge;
  e->key = &pos->first;
  LinkNewestLocked(e);
  used_ += charge;
  EvictLocked();
}

void UnitCache::RemoveLocked(Entry* e, bool recycle) {
  UnlinkLocked(e);
  used_ -= e->charge;
  UnitData data = std::move(e->data);
  Index::node_type node = index_.extract(*e->key);
  if (spare_nodes_.size() < kSpareNodesMax) spare_nodes_.push_back(std::move(node));
  // Only a buffer no reader holds any more can be written again.
  const size_t size = data->size();
  const int c = SpareClass(size);
  if (recycle && c >= 0 && spare_bytes_ + size <= spare_limit_ && LastReference(data)) {
    spare_buffers_[c].push_back(std::const_pointer_cast<Bytes>(std::move(data)));
    spare_bytes_ += size;
    used_ += size;
  }
}

void UnitCache::EvictLocked() {
  while (used_ > capacity_) {
    if (oldest_ != nullptr) {
      RemoveLocked(oldest_, true);
      continue;
    }
    // Only spare buffers left (a budget smaller than the spares after a shrink): drop them.
    for (auto& spares : spare_buffers_) {
      for (auto& b : spares) {
        used_ -= b->size();
        spare_bytes_ -= b->size();
      }
      spares.clear();
    }
    break;
  }
}

void UnitCache::EraseVolume(const std::array<uint8_t, 16>& volume) {
  MutexLock lock(&mu_);
  for (Entry* e = oldest_; e != nullptr;) {
    Entry* newer = e->newer;
    if (e->key->volume == volume) RemoveLocked(e, false);
    e = newer;
  }
}

void UnitCache::DropSpares() {
  std::vector<std::shared_ptr<Bytes>> buffers;
  std::vector<Index::node_type> nodes;
  {
    MutexLock lock(&mu_);
    for (auto& spares : spare_buffers_) {
      for (auto& b : spares) buffers.push_back(std::move(b));
      spares.clear();
    }
    used_ -= spare_bytes_;
    spare_bytes_ = 0;
    nodes.swap(spare_nodes_);
  }
}

uint64_t UnitCache::used_bytes() const {
  MutexLock lock(&mu_);
  return used_;
}
uint64_t UnitCache::hits() const {
  MutexLock lock(&mu_);
  return hits_;
}
uint64_t UnitCache::misses() const {
  MutexLock lock(&mu_);
  return misses_;
}
uint64_t UnitCache::spare_bytes() const {
  MutexLock lock(&mu_);
  return spare_bytes_;
}

}  // namespace bp
