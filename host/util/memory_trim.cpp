// IdleTrimmer implementation (see memory_trim.h).
#include "util/memory_trim.h"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace bp {

bool IdleTrimmer::IdleNow(std::chrono::steady_clock::time_point now) {
  const uint64_t activity = activity_.load(std::memory_order_relaxed);
  if (activity != seen_) {
    seen_ = activity;
    last_change_ = now;
    trimmed_ = false;
    return false;
  }
  if (trimmed_ || now - last_change_ < idle_after_) return false;
  trimmed_ = true;
  return true;
}

void IdleTrimmer::LimitArenas(int arenas) {
#if defined(__GLIBC__)
  mallopt(M_ARENA_MAX, arenas);
#else
  (void)arenas;
#endif
}

void IdleTrimmer::TrimNow() {
#if defined(__GLIBC__)
  malloc_trim(0);
#endif
}

}  // namespace bp
