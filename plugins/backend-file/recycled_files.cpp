// RecycledFiles implementation (see recycled_files.h).
#include "recycled_files.h"

#include <unistd.h>

#include <vector>

namespace filebackend {

RecycledFiles::RecycledFiles(uint64_t max_bytes) : max_bytes_(max_bytes) {}

RecycledFiles::~RecycledFiles() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (expirer_.joinable()) expirer_.join();
  for (const Entry& e : entries_) ::unlink(e.path.c_str());
}

bool RecycledFiles::Offer(std::string path, uint64_t size) {
  if (size < kMinBytes) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (stopping_ || size > max_bytes_ || bytes_ > max_bytes_ - size) return false;
  if (!expirer_.joinable()) expirer_ = std::thread([this] { ExpireLoop(); });
  entries_.push_back(Entry{std::move(path), size, std::chrono::steady_clock::now()});
  bytes_ += size;
  return true;
}

bool RecycledFiles::Take(std::string* path) {
  std::lock_guard<std::mutex> lock(mu_);
  if (entries_.empty()) return false;
  // The most recently kept file: its pages are the likeliest to be in memory still.
  *path = std::move(entries_.back().path);
  bytes_ -= entries_.back().size;
  entries_.pop_back();
  return true;
}

uint64_t RecycledFiles::kept_bytes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_;
}

void RecycledFiles::ExpireLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    wake_.wait_for(lock, kMaxIdle / 4);
    const auto limit = std::chrono::steady_clock::now() - kMaxIdle;
    std::vector<std::string> doomed;
    while (!entries_.empty() && entries_.front().since < limit) {
      doomed.push_back(std::move(entries_.front().path));
      bytes_ -= entries_.front().size;
      entries_.pop_front();
    }
    if (doomed.empty()) continue;
    lock.unlock();
    for (const std::string& path : doomed) ::unlink(path.c_str());
    lock.lock();
  }
}

}  // namespace filebackend
