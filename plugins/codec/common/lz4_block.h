// lz4 block compression with one reusable state per thread: the lz4 codec's compressor, and the
// window sizer of both compression codecs' probes (compress_probe.h). zstd's scout probe sizes
// its windows with lz4 too, as OpenZFS's zstd "early abort" does: lz4 tells "barely compresses"
// from "compresses" for a fraction of zstd's fixed cost per call.
//
// A one-shot LZ4_compress_fast clears a 16 KiB hash table on every call, more work than
// compressing a 4 KiB unit. The thread's state is reused instead, with
// LZ4_compress_fast_extState_fastReset, which invalidates the table cheaply and produces the same
// bytes as the one-shot call. That entry point is only in liblz4's static API; without the static
// archive (BLOCKPIPE_LZ4_FAST_RESET unset) the exported LZ4_resetStream_fast +
// LZ4_compress_fast_continue do the same (independent blocks, slightly different table, same
// format). Header-only: each plugin compiles its own copy.
#pragma once

#if BLOCKPIPE_LZ4_FAST_RESET
#define LZ4_STATIC_LINKING_ONLY
#endif
#include <lz4.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "compress_probe.h"

namespace codecframe {

struct Lz4StreamFree {
  void operator()(LZ4_stream_t* stream) const { LZ4_freeStream(stream); }
};

// This thread's compression state, shared by every volume (the acceleration is per call);
// nullptr when out of memory.
inline LZ4_stream_t* ThreadLz4Stream() {
  thread_local std::unique_ptr<LZ4_stream_t, Lz4StreamFree> stream(LZ4_createStream());
  return stream.get();
}

// Compress src as one independent lz4 block into at most `capacity` bytes; <= 0 when it does
// not fit.
inline int Lz4CompressBlock(LZ4_stream_t* stream, const uint8_t* src, size_t n, uint8_t* dest,
                            size_t capacity, int acceleration) {
#if BLOCKPIPE_LZ4_FAST_RESET
  return LZ4_compress_fast_extState_fastReset(stream, reinterpret_cast<const char*>(src),
                                              reinterpret_cast<char*>(dest), static_cast<int>(n),
                                              static_cast<int>(capacity), acceleration);
#else
  LZ4_resetStream_fast(stream);
  return LZ4_compress_fast_continue(stream, reinterpret_cast<const char*>(src),
                                    reinterpret_cast<char*>(dest), static_cast<int>(n),
                                    static_cast<int>(capacity), acceleration);
#endif
}

// What lz4 makes of a probe window of at most 512 bytes alone, or len when it does not shrink.
// At lz4's full search effort whatever the configured speed: a high acceleration skips most of a
// window this small and would call good text incompressible.
inline size_t Lz4WindowSize(LZ4_stream_t* stream, const uint8_t* at, size_t len) {
  uint8_t scratch[512];
  const size_t capacity = std::min(len, sizeof scratch) - 1;
  const int produced = Lz4CompressBlock(stream, at, len, scratch, capacity, 1);
  return produced > 0 ? static_cast<size_t>(produced) : len;
}

// The scout both codecs run in a streak of units that did not save 1/8 (EffortTracker): the
// unit's first and last 256 bytes, each sized by lz4 alone, from 4 KiB units up (smaller ones
// are worth compressing as far as the scout can tell). 2 x 512 bytes cost half again as much on
// fio's 4 KiB buffers and judged this repository's text the same; lz4 rather than zstd's own
// estimate, which looks at every byte (about 3.5 ns per byte) where lz4 skips ahead through
// bytes that do not repeat. Data whose repeats lie 256 bytes apart or more (fio's buffers) looks
// incompressible to these windows, which under the 1/8 rule it is (zstd level 1 saves 10-11%).
inline constexpr ProbePlan kScoutPlan{256, 4096, size_t{1} << 30, 2, 2};

inline bool ScoutWorthCompressing(LZ4_stream_t* stream, const uint8_t* src, size_t n) {
  return WorthCompressing(src, n, kScoutPlan, [stream](const uint8_t* at, size_t len) {
    return Lz4WindowSize(stream, at, len);
  });
}

}  // namespace codecframe
