// The compressibility probe the bundled compression codecs run before compressing a unit: a few
// sample windows spread over the unit are sized up alone, and only when together they shrink by
// at least 1/8 (kept in compressed form at all, see SavesEnough) is the whole unit worth the
// compressor's full search; otherwise the codec stores it raw (the frame's method 0, which every
// decoder reads). Data that barely compresses is where lz4 and zstd are slowest — every short
// match found restarts their search — so the probe turns the most expensive units into a copy,
// for a small fraction of a full compression on data that does compress. With two or more
// windows the first and the last bytes of the unit are among them, so "data, then a zero tail"
// is seen. lz4 sizes windows with lz4 itself; zstd with EstimateCompressedSize below, because
// zstd's own fixed cost per call is too high for a sample. EffortTracker decides, per thread,
// when a cheaper scout probe is enough. Header-only: each plugin compiles its own copy.
#pragma once

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace codecframe {

// A unit is kept compressed only when that saves at least 1/8 of it, ZFS's rule for the same
// trade: a unit that saves less costs a decompression on every read and, when it was close to
// incompressible, the compressor's slowest search on every write, for a few percent of space.
inline size_t MinSaving(size_t n) { return std::max<size_t>(1, n >> 3); }
inline bool SavesEnough(size_t compressed, size_t n) { return compressed + MinSaving(n) <= n; }

// Effort follows reward: a thread that has just met kStreakAfter units in a row that did not
// save 1/8 (a stream of encrypted, already compressed or random-looking data) judges the next
// units by a scout probe — two small windows, the unit's first and last bytes, also for units
// below the normal probe's size — instead of the normal probe or a full compression. A unit
// the scout finds worth compressing is compressed as usual and ends the streak; so does every
// kFullEvery-th unit of a streak, which gets the normal treatment whatever the scout would say,
// so data that only a fuller look recognises ends a streak within that many units. Once a
// streak is kLongStreak units long, only every kScoutEvery-th unit is scouted and the others
// are stored raw unseen, and the full look comes every kLongFullEvery-th unit: a change to
// compressible data is then noticed within kScoutEvery units, one the scout cannot see within
// kLongFullEvery. A scout costs more than its two windows suggest: the encoder reaches a unit's
// bytes long after they were written, so in a segment of scattered 4 KiB writes each window is a
// miss to memory (about 0.8 us a scouted unit, measured, against 0.13 us in cache); looking at
// one unit in 16 keeps a stream of random-looking writes from paying that on every fourth, for
// at most 16 units (64 KiB of scattered 4 KiB writes, 1 MiB of 64 KiB units) stored raw before
// compressible data is seen again. (btrfs goes further: one incompressible write turns
// compression off for the file.)
// Per thread, because the codecs are called in parallel; the units of one segment are encoded
// on one thread.
class EffortTracker {
 public:
  static constexpr uint32_t kStreakAfter = 4;
  static constexpr uint64_t kFullEvery = 16;
  static constexpr uint64_t kLongStreak = 64;
  static constexpr uint64_t kScoutEvery = 16;
  static constexpr uint64_t kLongFullEvery = 64;

  enum class Effort {
    kNormal,  // the codec's usual probe (large units) or compression (small ones)
    kScout,   // the scout decides whether the unit gets the usual treatment
    kSkip,    // store raw without looking
  };

  // How much to spend on the next unit.
  Effort Next() {
    if (misses_ < kStreakAfter) return Effort::kNormal;
    ++streak_units_;
    const bool long_streak = streak_units_ > kLongStreak;
    if (streak_units_ % (long_streak ? kLongFullEvery : kFullEvery) == 0) return Effort::kNormal;
    if (long_streak && streak_units_ % kScoutEvery != 0) return Effort::kSkip;
    return Effort::kScout;
  }
  // How the unit just encoded fared.
  void Record(bool saved_enough) {
    if (saved_enough) {
      misses_ = 0;
      streak_units_ = 0;
    } else if (misses_ < kStreakAfter) {
      ++misses_;
    }
  }

 private:
  uint32_t misses_ = 0;        // units in a row that did not save 1/8, up to kStreakAfter
  uint64_t streak_units_ = 0;  // units since the streak began
};

// This thread's tracker (one per plugin, which compiles its own copy of this header).
inline EffortTracker& ThreadEffortTracker() {
  thread_local EffortTracker effort;
  return effort;
}

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
  const size_t windows =
      std::clamp<size_t>(n / plan.bytes_per_window, plan.min_windows, plan.max_windows);
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
  return SavesEnough(compressed, sampled);
}

// A compressor's-eye estimate of what `n` bytes would shrink to (at most the first 4 KiB are
// looked at; the rest counts at its size), far cheaper than running zstd on them (whose fixed
// cost per call — entropy tables, context reset — is tens of thousands of instructions even for
// a 1 KiB window). Two things make general-purpose
// compressors gain, and both are counted: repeats (every position whose next 4 bytes already
// occurred in the window, found through a small hash table and extended, costs about 3 bytes per
// repeat instead of its length), and a skewed byte distribution (the bytes left as literals cost
// their order-0 entropy). Random bytes estimate at their size; text and database pages far
// below it. The parts are reported apart, because the zstd codec also decides from them whether
// entropy coding of the literals is worth its cost (LiteralsWorthEntropyCoding below).
inline constexpr size_t kMaxEstimateWindow = 4096;
struct WindowEstimate {
  size_t size = 0;             // estimated compressed size of the whole input
  size_t literals = 0;         // bytes of the looked-at part no repeat covered
  size_t literal_bytes = 0;    // what those literals cost entropy coded (order 0)
  size_t literal_symbols = 0;  // distinct byte values among them
};

// kNLog2N[c] = c * log2(c) * 256: n * log2(n) style sums in fixed point.
inline const std::array<uint32_t, kMaxEstimateWindow + 1>& NLog2NTable() {
  static const auto table = [] {
    std::array<uint32_t, kMaxEstimateWindow + 1> t{};
    for (size_t c = 1; c < t.size(); ++c) {
      t[c] =
          static_cast<uint32_t>(static_cast<double>(c) * std::log2(static_cast<double>(c)) * 256.0);
    }
    return t;
  }();
  return table;
}

// Order-0 entropy of `literals` bytes with this histogram, in bytes (rounded down).
inline size_t EntropyBytes(const uint32_t (&histogram)[256], size_t literals) {
  const auto& nlog2n = NLog2NTable();
  uint64_t spent256 = 0;
  for (uint32_t count : histogram) spent256 += nlog2n[count];
  // Entropy in bits: L*log2(L) - sum c*log2(c).
  const uint64_t bits256 = nlog2n[literals] - std::min<uint64_t>(spent256, nlog2n[literals]);
  return static_cast<size_t>(bits256 / 256 / 8);
}

inline WindowEstimate EstimateWindow(const uint8_t* p, size_t n) {
  constexpr int kHashBits = 10;
  constexpr size_t kRepeatCost = 3;
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
  WindowEstimate estimate;
  estimate.literals = literals;
  estimate.literal_bytes = EntropyBytes(histogram, literals);
  for (uint32_t count : histogram) estimate.literal_symbols += count != 0;
  estimate.size = estimate.literal_bytes + repeats * kRepeatCost + unseen;
  return estimate;
}

inline size_t EstimateCompressedSize(const uint8_t* p, size_t n) {
  return EstimateWindow(p, n).size;
}

// Whether entropy coding (zstd's Huffman literals) would shrink these literals by at least 1/16,
// from their order-0 entropy measured on a sample. An entropy measured on a sample comes out
// low by about (symbols - 1) / (2 ln 2) bits (the Miller–Madow correction: 1 KiB of random bytes
// "saves" 2.3%), so that is added back before comparing. Data whose literals are nearly
// uniform — random-looking payloads with a few repeated words, already compressed or encrypted
// content — fails this, and zstd then skips building and trying Huffman tables that it would
// throw away, or that would save under 1/16 of the literal bytes.
inline bool LiteralsWorthEntropyCoding(size_t literals, size_t literal_bytes, size_t symbols) {
  if (literals == 0) return false;
  const size_t bias_bytes = symbols > 1 ? (symbols - 1) * 1000 / (2 * 693 * 8) : 0;
  return literal_bytes + bias_bytes <= literals - literals / 16;
}

// The same judgement straight from a byte histogram (every byte counted as a literal), for
// units too small for the probe. It samples 1 KiB: four 256-byte windows spread over the unit
// (first and last included, so a unit that is half text is seen as such), which keeps it at a
// few percent of zstd's time on a 4 KiB unit.
inline bool HistogramWorthEntropyCoding(const uint8_t* p, size_t n) {
  constexpr size_t kWindow = 256, kWindows = 4;
  uint32_t histogram[256] = {};
  auto count = [&](const uint8_t* at, size_t len) {
    for (size_t i = 0; i < len; ++i) ++histogram[at[i]];
  };
  size_t sampled = 0;
  if (n <= kWindow * kWindows) {
    count(p, n);
    sampled = n;
  } else {
    const size_t stride = (n - kWindow) / (kWindows - 1);
    for (size_t w = 0; w < kWindows; ++w)
      count(p + (w + 1 == kWindows ? n - kWindow : w * stride), kWindow);
    sampled = kWindow * kWindows;
  }
  size_t symbols = 0;
  for (uint32_t c : histogram) symbols += c != 0;
  return LiteralsWorthEntropyCoding(sampled, EntropyBytes(histogram, sampled), symbols);
}

}  // namespace codecframe
