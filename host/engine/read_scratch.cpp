// ReadScratch implementation (see read_scratch.h).
#include "engine/read_scratch.h"

#include <utility>

namespace bp {
namespace {

struct FreeList {
  Mutex mu;
  std::vector<std::unique_ptr<Bytes>> buffers BP_GUARDED_BY(mu);
};

FreeList& Buffers() {
  static FreeList* list = new FreeList;  // never destroyed: I/O threads may outlive statics
  return *list;
}

}  // namespace

ReadScratch::Lease::Lease(size_t at_least) {
  FreeList& list = Buffers();
  {
    MutexLock lock(&list.mu);
    if (!list.buffers.empty()) {
      bytes_ = std::move(list.buffers.back());
      list.buffers.pop_back();
    }
  }
  if (!bytes_) bytes_ = std::make_unique<Bytes>();
  // Growing zero-fills the new part once; a buffer that went round keeps its size.
  if (bytes_->size() < at_least) bytes_->resize(at_least);
}

ReadScratch::Lease::~Lease() {
  FreeList& list = Buffers();
  MutexLock lock(&list.mu);
  list.buffers.push_back(std::move(bytes_));
}

void ReadScratch::ReleaseIdle() {
  std::vector<std::unique_ptr<Bytes>> idle;
  FreeList& list = Buffers();
  {
    MutexLock lock(&list.mu);
    idle.swap(list.buffers);
  }
  // Freed outside the lock.
}

size_t ReadScratch::IdleBytes() {
  FreeList& list = Buffers();
  MutexLock lock(&list.mu);
  size_t bytes = 0;
  for (const auto& b : list.buffers) bytes += b->size();
  return bytes;
}

}  // namespace bp
