// The compressibility probe the bundled compression codecs run before compressing a unit: a few
// sample windows spread over the unit are sized up alone, and only when together they shrink by
// at least 1/16 is the whole unit worth the compressor's full search; otherwise the codec stores
// it raw (the frame's method 0, which every decoder reads). Data that barely compresses is where
// lz4 and zstd are slowest — every short match found restarts their search — so the probe turns
// the most expensive units into a copy, for a small fraction of a full compression on data that
// does compress. With two or more windows the first and the last bytes of the unit are among
// them, so "data, then a zero tail" is seen. lz4 sizes windows with lz4 itself; zstd with
// EstimateCompressedSize below, because zstd's own fixed cost per call is too high for a sample.
// Header-only: each plugin compiles its own copy.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace codecframe {

// Where a codec samples. Units shorter than `from` are not probed (compressed directly).
struct ProbePlan {
  size_t window = 512;             // bytes per sample window
  size_t from = 16384;             // smallest unit that is probed
  size_t bytes_per_window = 8192;  // one window per this many bytes of unit ...
  size_t min_windows = 2;          // ... but at least this many ...
  size_t max_windows = 8;          // ... and at most this many (one window sits in the middle)
};

// compress_window(const uint8_t* at, size_t len) -> size_t: what the codec's probe compressor
// makes of these len bytes alone, or len (or more) when they do not shrink.
template <typename CompressWindow>
bool WorthCompressing(const uint8_t* src, size_t n, const ProbePlan& plan,
                      CompressWindow&& compress_window) {
  if (n < plan.from || n < plan.window) return true;
  const size_t windows = std::clamp<size_t>(n / plan.bytes_per_window, plan.min_windows,
                                            plan.max_windows);
  const size_t stride = windows > 1 ? (n - plan.window) / (windows - 1) : 0;
  size_t sampled = 0, compressed = 0;
  for (size_t i = 0; i < windows; ++i) {
    const size_t at = windows == 1       ? (n - plan.window) / 2
                      : i + 1 == windows ? n - plan.window
                                         : i * stride;
    sampled += plan.window;
    compressed += std::min(compress_window(src + at, plan.window), plan.window);
    // Half saved already: whatever the other windows hold, the unit is worth compressing, and
    // on data that compresses well the probe then costs one window.
    if (compressed <= sampled / 2) return true;
  }
  return compressed <= sampled - sampled / 16;
}

// A compressor's-eye estimate of what `n` bytes would shrink to (at most the first 4 KiB are
// looked at; the rest counts at its size), far cheaper than running zstd on them (whose fixed
// cost per call — entropy tables, context reset — is tens of thousands of instructions even for
// a 1 KiB window). Two things make general-purpose
// compressors gain, and both are counted: repeats (every position whose next 4 bytes already
// occurred in the window, found through a small hash table and extended, costs about 3 bytes per
// repeat instead of its length), and a skewed byte distribution (the bytes left as literals cost
// their order-0 entropy). Random bytes estimate at their size; text and database pages far
// below it.
inline constexpr size_t kMaxEstimateWindow = 4096;
inline size_t EstimateCompressedSize(const uint8_t* p, size_t n) {
  constexpr int kHashBits = 10;
  constexpr size_t kRepeatCost = 3;
  // n * log2(n) style sums in fixed point: kNLog2N[c] = c * log2(c) * 256.
  static const auto kNLog2N = [] {
    std::array<uint32_t, kMaxEstimateWindow + 1> table{};
    for (size_t c = 1; c < table.size(); ++c) {
      table[c] = static_cast<uint32_t>(static_cast<double>(c) * std::log2(static_cast<double>(c)) * 256.0);
    }
    return table;
  }();
  // Beyond what is looked at, claim nothing: those bytes count at their size.
  const size_t unseen = n - std::min(n, kMaxEstimateWindow);
  n -= unseen;
  uint16_t last_seen[1 << kHashBits];
  std::memset(last_seen, 0xff, sizeof last_seen);
  uint32_t histogram[256] = {};
  size_t literals = 0, repeats = 0;
  auto load32 = [p](size_t at) {
    uint32_t v;
    std::memcpy(&v, p + at, sizeof v);
    return v;
  };
  size_t i = 0;
  while (i + 4 <= n) {
    const uint32_t word = load32(i);
    const uint32_t slot = (word * 2654435761u) >> (32 - kHashBits);
    const uint16_t candidate = last_seen[slot];
    last_seen[slot] = static_cast<uint16_t>(i);
    if (candidate != 0xffff && load32(candidate) == word) {
      size_t length = 4;
      while (i + length < n && p[candidate + length] == p[i + length]) ++length;
      ++repeats;
      i += length;
    } else {
      ++histogram[p[i++]];
      ++literals;
    }
  }
  for (; i < n; ++i, ++literals) ++histogram[p[i]];
  // Entropy of the literals in bits: L*log2(L) - sum c*log2(c).
  uint64_t spent256 = 0;
  for (uint32_t count : histogram) spent256 += kNLog2N[count];
  const uint64_t bits256 = kNLog2N[literals] - std::min<uint64_t>(spent256, kNLog2N[literals]);
  return static_cast<size_t>(bits256 / 256 / 8) + repeats * kRepeatCost + unseen;
}

}  // namespace codecframe
