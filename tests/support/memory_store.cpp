// MemoryStore implementation: a std::map of byte vectors behind one mutex, with the fault hooks
// applied before each operation touches the map.
#include "support/memory_store.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <thread>

#include <blockpipe/bp_backend.h>

namespace bp {
namespace {
// A paused put gives up after this long so a test that forgets ResumePuts cannot hang.
constexpr auto kPauseTimeout = std::chrono::seconds(20);

std::string Tag(uint64_t version) {
  std::string tag = std::to_string(version);
  tag.insert(tag.begin(), 'v');
  return tag;
}
}  // namespace

MemoryStore::MemoryStore() = default;

Status MemoryStore::Inject(Op op, const std::string& key) {
  uint32_t delay;
  {
    MutexLock lock(&mu_);
    op_counts_[static_cast<int>(op)]++;
    for (auto it = failures_.begin(); it != failures_.end(); ++it) {
      if (it->op == op && key.find(it->key_part) != std::string::npos) {
        Status s = it->status;
        if (--it->remaining <= 0) failures_.erase(it);
        return s;
      }
    }
    delay = delay_ms_[static_cast<int>(op)];
  }
  if (delay) std::this_thread::sleep_for(std::chrono::milliseconds(delay));
  return Status::Ok();
}

Status MemoryStore::Get(const std::string& key, Bytes* out) {
  BP_RETURN_IF_ERROR(Inject(Op::kGet, key));
  MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound(key);
  *out = it->second.bytes;
  return Status::Ok();
}

Status MemoryStore::Read(const std::string& key, uint64_t offset, uint64_t length, void* buf,
                         uint64_t* nread) {
  BP_RETURN_IF_ERROR(Inject(Op::kRead, key));
  MutexLock lock(&mu_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound(key);
  const Bytes& b = it->second.bytes;
  uint64_t n = offset >= b.size() ? 0 : std::min<uint64_t>(length, b.size() - offset);
  if (n) std::memcpy(buf, b.data() + offset, n);
  *nread = n;
  return Status::Ok();
}

Status MemoryStore::WaitWhilePaused(const std::string& key) {
  if (!puts_paused_ || key.find(pause_key_part_) == std::string::npos) return Status::Ok();
  paused_puts_++;
  const auto until = std::chrono::steady_clock::now() + kPauseTimeout;
  while (puts_paused_ && std::chrono::steady_clock::now() < until) {
    resume_cv_.WaitUntil(&mu_, until);
  }
  const bool resumed = !puts_paused_;
  paused_puts_--;
  if (!resumed) return Status::Transient("memory store: paused put timed out: " + key);
  return Status::Ok();
}

void MemoryStore::SetLocked(const std::string& key, Bytes bytes) {
  unsynced_.erase(key);  // a plain put is durable (PutPartsDeferSync marks its key afterwards)
  Object& o = objects_[key];
  o.bytes = std::move(bytes);
  o.version = next_version_++;
}

Status MemoryStore::StoreLocked(const std::string& key, const void* data, uint64_t length) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  uint64_t keep = length;
  if (truncate_armed_ && key.find(truncate_key_part_) != std::string::npos) {
    truncate_armed_ = false;
    keep = std::min(keep, truncate_keep_);
  }
  SetLocked(key, Bytes(p, p + keep));
  for (auto it = after_put_failures_.begin(); it != after_put_failures_.end(); ++it) {
    if (key.find(it->key_part) != std::string::npos) {
      Status s = it->status;
      after_put_failures_.erase(it);
      return s;
    }
  }
  return Status::Ok();
}

Status MemoryStore::Put(const std::string& key, const void* data, uint64_t length, bool if_absent) {
  BP_RETURN_IF_ERROR(Inject(Op::kPut, key));
  MutexLock lock(&mu_);
  BP_RETURN_IF_ERROR(WaitWhilePaused(key));
  if (if_absent && put_if_absent_ && objects_.count(key)) {
    return Status::Precondition("object exists: " + key);
  }
  return StoreLocked(key, data, length);
}

Status MemoryStore::GetTagged(const std::string& key, Bytes* out, std::string* tag) {
  BP_RETURN_IF_ERROR(Inject(Op::kGet, key));
  MutexLock lock(&mu_);
  if (!conditional_put_) return ObjectStore::GetTagged(key, out, tag);
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::NotFound(key);
  *out = it->second.bytes;
  *tag = Tag(it->second.version);
  return Status::Ok();
}

Status MemoryStore::PutIfMatch(const std::string& key, const void* data, uint64_t length,
                               const std::string& expected_tag, std::string* new_tag) {
  BP_RETURN_IF_ERROR(Inject(Op::kPut, key));
  std::function<void()> hook;
  {
    MutexLock lock(&mu_);
    if (before_put_if_match_ && key.find(before_put_if_match_key_part_) != std::string::npos) {
      hook = std::move(before_put_if_match_);
      before_put_if_match_ = nullptr;
    }
  }
  if (hook) hook();
  MutexLock lock(&mu_);
  if (!conditional_put_) return ObjectStore::PutIfMatch(key, data, length, expected_tag, new_tag);
  BP_RETURN_IF_ERROR(WaitWhilePaused(key));
  auto it = objects_.find(key);
  if (it == objects_.end()) return Status::Precondition("object is gone: " + key);
  if (Tag(it->second.version) != expected_tag) {
    return Status::Precondition("object " + key + " is at version " + Tag(it->second.version) +
                                ", not " + expected_tag);
  }
  Status st = StoreLocked(key, data, length);
  *new_tag = Tag(objects_[key].version);
  return st;
}

Status MemoryStore::Delete(const std::string& key) {
  BP_RETURN_IF_ERROR(Inject(Op::kDelete, key));
  MutexLock lock(&mu_);
  objects_.erase(key);
  unsynced_.erase(key);
  return Status::Ok();
}

Status MemoryStore::PutPartsDeferSync(const std::string& key, const ObjectParts& parts,
                                      bool if_absent) {
  {
    MutexLock lock(&mu_);
    if (!defer_sync_) {
      lock.Unlock();
      return PutParts(key, parts, if_absent);
    }
  }
  Bytes joined;
  JoinParts(parts, &joined);
  BP_RETURN_IF_ERROR(Inject(Op::kPut, key));
  MutexLock lock(&mu_);
  BP_RETURN_IF_ERROR(WaitWhilePaused(key));
  if (if_absent && put_if_absent_ && objects_.count(key)) {
    return Status::Precondition("object exists: " + key);
  }
  Status st = StoreLocked(key, joined.data(), joined.size());
  // Stored (even when a lost reply is reported): not durable until synced.
  if (objects_.count(key) != 0) unsynced_.insert(key);
  return st;
}

Status MemoryStore::Sync(const std::vector<std::string>& keys) {
  BP_RETURN_IF_ERROR(Inject(Op::kSync, keys.empty() ? std::string() : keys.front()));
  MutexLock lock(&mu_);
  for (const std::string& key : keys) unsynced_.erase(key);
  return Status::Ok();
}

void MemoryStore::SetDeferSync(bool defer) {
  MutexLock lock(&mu_);
  defer_sync_ = defer;
}

size_t MemoryStore::LosePower(const std::function<int(const std::string& key)>& fate) {
  MutexLock lock(&mu_);
  size_t hit = 0;
  for (const std::string& key : unsynced_) {
    const int what = fate(key);
    auto it = objects_.find(key);
    if (it == objects_.end() || what == 0) continue;
    ++hit;
    if (what == 1) {
      objects_.erase(it);
    } else {
      Bytes& bytes = it->second.bytes;
      if (bytes.size() > 4096) std::fill(bytes.begin() + 4096, bytes.end(), uint8_t{0});
      it->second.version = next_version_++;
    }
  }
  unsynced_.clear();
  return hit;
}

std::vector<std::string> MemoryStore::UnsyncedKeys() const {
  MutexLock lock(&mu_);
  return std::vector<std::string>(unsynced_.begin(), unsynced_.end());
}

Status MemoryStore::List(const std::string& prefix, std::vector<ObjectInfo>* out) {
  BP_RETURN_IF_ERROR(Inject(Op::kList, prefix));
  MutexLock lock(&mu_);
  out->clear();
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    out->push_back({it->first, it->second.bytes.size()});
  }
  return Status::Ok();
}

uint64_t MemoryStore::Capabilities() const {
  MutexLock lock(&mu_);
  uint64_t caps = BP_BACKEND_CAP_RANGED_GET | BP_BACKEND_CAP_DURABLE_PUT;
  if (put_if_absent_) caps |= BP_BACKEND_CAP_PUT_IF_ABSENT;
  if (conditional_put_) caps |= BP_BACKEND_CAP_CONDITIONAL_PUT;
  if (local_reads_) caps |= BP_BACKEND_CAP_LOCAL_READS;
  if (defer_sync_) caps |= BP_BACKEND_CAP_DEFER_SYNC;
  return caps;
}

void MemoryStore::FailNext(Op op, Status status, int count, const std::string& key_part) {
  MutexLock lock(&mu_);
  failures_.push_back({op, std::move(status), count, key_part});
}

void MemoryStore::FailNextPutAfterStoring(Status status, const std::string& key_part) {
  MutexLock lock(&mu_);
  after_put_failures_.push_back({Op::kPut, std::move(status), 1, key_part});
}

void MemoryStore::SetDelay(Op op, uint32_t milliseconds) {
  MutexLock lock(&mu_);
  delay_ms_[static_cast<int>(op)] = milliseconds;
}

void MemoryStore::PausePuts(const std::string& key_part) {
  MutexLock lock(&mu_);
  puts_paused_ = true;
  pause_key_part_ = key_part;
}

void MemoryStore::ResumePuts() {
  {
    MutexLock lock(&mu_);
    puts_paused_ = false;
  }
  resume_cv_.SignalAll();
}

int MemoryStore::PausedPuts() const {
  MutexLock lock(&mu_);
  return paused_puts_;
}

void MemoryStore::TruncateNextPut(uint64_t keep, const std::string& key_part) {
  MutexLock lock(&mu_);
  truncate_armed_ = true;
  truncate_keep_ = keep;
  truncate_key_part_ = key_part;
}

void MemoryStore::SetPutIfAbsentSupported(bool supported) {
  MutexLock lock(&mu_);
  put_if_absent_ = supported;
}

void MemoryStore::SetConditionalPutSupported(bool supported) {
  MutexLock lock(&mu_);
  conditional_put_ = supported;
}

void MemoryStore::SetLocalReads(bool local) {
  MutexLock lock(&mu_);
  local_reads_ = local;
}

void MemoryStore::BeforeNextPutIfMatch(std::function<void()> hook, const std::string& key_part) {
  MutexLock lock(&mu_);
  before_put_if_match_ = std::move(hook);
  before_put_if_match_key_part_ = key_part;
}

bool MemoryStore::Has(const std::string& key) const {
  MutexLock lock(&mu_);
  return objects_.count(key) != 0;
}

Bytes MemoryStore::Peek(const std::string& key) const {
  MutexLock lock(&mu_);
  auto it = objects_.find(key);
  return it == objects_.end() ? Bytes() : it->second.bytes;
}

void MemoryStore::Poke(const std::string& key, Bytes bytes) {
  MutexLock lock(&mu_);
  SetLocked(key, std::move(bytes));
}

void MemoryStore::Erase(const std::string& key) {
  MutexLock lock(&mu_);
  objects_.erase(key);
}

std::vector<std::string> MemoryStore::Keys(const std::string& prefix) const {
  MutexLock lock(&mu_);
  std::vector<std::string> keys;
  for (auto it = objects_.lower_bound(prefix);
       it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    keys.push_back(it->first);
  }
  return keys;
}

uint64_t MemoryStore::CountOps(Op op) const {
  MutexLock lock(&mu_);
  return op_counts_[static_cast<int>(op)];
}

}  // namespace bp
