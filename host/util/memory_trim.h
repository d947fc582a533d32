// IdleTrimmer: gives freed heap memory back to the system once the daemon goes idle.
//
// glibc's malloc keeps memory that was freed in its arenas (one per thread that allocated, up
// to 8 x cores) and returns only what lies at the top of each heap. After a burst of I/O —
// segment images, unit buffers evicted from the cache, request buffers — the daemon's
// resident size stays at its high-water mark for good although most of it is free. The
// manager's tick asks IdleNow; when no request arrived for `idle_after` it says so once (and
// again only after new activity), the manager drops the memory it keeps for reuse and calls
// TrimNow: malloc_trim(0), which also releases free pages inside the heaps (MADV_DONTNEED). LimitArenas caps the number of arenas at startup so that free memory is
// not spread over many of them. Thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace bp {

class IdleTrimmer {
 public:
  explicit IdleTrimmer(std::chrono::milliseconds idle_after = std::chrono::milliseconds(2000))
      : idle_after_(idle_after) {}
  // A request arrived (cheap: one relaxed increment).
  void NoteActivity() { activity_.fetch_add(1, std::memory_order_relaxed); }
  // True once per idle period: no request for idle_after since the last one. The caller
  // releases what it keeps for reuse, then calls TrimNow. Called from one thread (the
  // manager's tick).
  bool IdleNow(std::chrono::steady_clock::time_point now);

  // Cap malloc arenas (M_ARENA_MAX) for this process; call before threads start. No effect on
  // other allocators.
  static void LimitArenas(int arenas);
  // Release free heap memory now (malloc_trim(0) on glibc; nothing elsewhere).
  static void TrimNow();

 private:
  const std::chrono::milliseconds idle_after_;
  std::atomic<uint64_t> activity_{0};
  uint64_t seen_ = 0;
  std::chrono::steady_clock::time_point last_change_{};
  bool trimmed_ = true;  // nothing to give back before the first activity
};

}  // namespace bp
