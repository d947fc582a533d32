// CRC-32C implementations, fastest first: carry-less multiplication folding 256 bytes per step
// (AVX-512 VPCLMULQDQ, on inputs of 256 bytes and more), the crc32 instruction over three
// independent lanes (SSE4.2), and slicing-by-8 over tables built at compile time from the
// reflected Castagnoli polynomial. Each is chosen once, from what the CPU offers.
#include "util/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <immintrin.h>
#define BP_CRC32C_X86 1
#define BP_CRC32C_FOLD 1
#elif defined(__i386__)
#include <nmmintrin.h>
#define BP_CRC32C_X86 1
#endif

namespace bp {
namespace {

constexpr uint32_t kPolynomial = 0x82F63B78u;  // Castagnoli, bit-reflected

using Tables = std::array<std::array<uint32_t, 256>, 8>;

constexpr Tables BuildTables() {
  Tables t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ ((c & 1u) ? kPolynomial : 0u);
    t[0][i] = c;
  }
  for (uint32_t i = 0; i < 256; ++i) {
    for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xFFu];
  }
  return t;
}

constexpr Tables kTables = BuildTables();

uint32_t PortableRaw(uint32_t c, const uint8_t* p, size_t n) {
  while (n >= 8) {
    uint32_t lo = static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
                  static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
    lo ^= c;
    c = kTables[7][lo & 0xFF] ^ kTables[6][(lo >> 8) & 0xFF] ^ kTables[5][(lo >> 16) & 0xFF] ^
        kTables[4][lo >> 24] ^ kTables[3][p[4]] ^ kTables[2][p[5]] ^ kTables[1][p[6]] ^
        kTables[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) c = (c >> 8) ^ kTables[0][(c ^ *p++) & 0xFF];
  return c;
}

#ifdef BP_CRC32C_X86
__attribute__((target("sse4.2"))) uint32_t HardwareLane(uint32_t c, const uint8_t* p, size_t n) {
#if defined(__x86_64__)
  uint64_t c64 = c;
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c64 = _mm_crc32_u64(c64, v);
    p += 8;
    n -= 8;
  }
  c = static_cast<uint32_t>(c64);
#endif
  while (n >= 4) {
    uint32_t v;
    std::memcpy(&v, p, 4);
    c = _mm_crc32_u32(c, v);
    p += 4;
    n -= 4;
  }
  while (n--) c = _mm_crc32_u8(c, *p++);
  return c;
}

// The crc32 instruction has a latency of three cycles but issues every cycle, so one dependent
// chain uses a third of it. Long inputs are cut into chunks of three lanes of kLane bytes, each
// lane checksummed independently from a zero register, and the lanes combined: the CRC register
// is linear, so crc(A B C) = shift(crc(A), 2 kLane) ^ shift(crc0(B), kLane) ^ crc0(C), where
// shift(x, n) is the register after feeding n zero bytes from x. A shift by a fixed length is a
// linear map on 32 bits, tabulated per byte of x.
constexpr size_t kLane = 1024;

struct ShiftTable {
  uint32_t t[4][256];
  uint32_t operator()(uint32_t x) const {
    return t[0][x & 0xFF] ^ t[1][(x >> 8) & 0xFF] ^ t[2][(x >> 16) & 0xFF] ^ t[3][x >> 24];
  }
};

ShiftTable BuildShift(size_t zeros) {
  static const uint8_t kZeros[kLane] = {};
  uint32_t basis[32];
  for (int bit = 0; bit < 32; ++bit) {
    uint32_t x = 1u << bit;
    for (size_t left = zeros; left > 0;) {
      const size_t k = left < kLane ? left : kLane;
      x = HardwareLane(x, kZeros, k);
      left -= k;
    }
    basis[bit] = x;
  }
  ShiftTable table;
  for (int byte = 0; byte < 4; ++byte) {
    for (uint32_t v = 0; v < 256; ++v) {
      uint32_t out = 0;
      for (int bit = 0; bit < 8; ++bit) {
        if (v & (1u << bit)) out ^= basis[byte * 8 + bit];
      }
      table.t[byte][v] = out;
    }
  }
  return table;
}

__attribute__((target("sse4.2"))) uint32_t HardwareRaw(uint32_t c, const uint8_t* p, size_t n) {
#if defined(__x86_64__)
  if (n >= 3 * kLane) {
    static const ShiftTable shift1 = BuildShift(kLane);
    static const ShiftTable shift2 = BuildShift(2 * kLane);
    do {
      uint64_t a = c, b = 0, d = 0;
      const uint8_t* pa = p;
      const uint8_t* pb = p + kLane;
      const uint8_t* pd = p + 2 * kLane;
      for (size_t i = 0; i < kLane; i += 8) {
        uint64_t va, vb, vd;
        std::memcpy(&va, pa + i, 8);
        std::memcpy(&vb, pb + i, 8);
        std::memcpy(&vd, pd + i, 8);
        a = _mm_crc32_u64(a, va);
        b = _mm_crc32_u64(b, vb);
        d = _mm_crc32_u64(d, vd);
      }
      c = shift2(static_cast<uint32_t>(a)) ^ shift1(static_cast<uint32_t>(b)) ^
          static_cast<uint32_t>(d);
      p += 3 * kLane;
      n -= 3 * kLane;
    } while (n >= 3 * kLane);
  }
#endif
  return HardwareLane(c, p, n);
}

bool DetectHardware() { return __builtin_cpu_supports("sse4.2"); }
#else
bool DetectHardware() { return false; }
#endif

// Bytes per folding step; shorter inputs, and what is left after the steps, take the lanes.
constexpr size_t kFoldBlock = 256;

#ifdef BP_CRC32C_FOLD
// Folding. The crc32 instruction retires at most 8 bytes per cycle however many lanes run; a
// carry-less multiply moves 64 bytes at once. The register is a polynomial remainder, so a
// 128-bit piece A of the message followed by D more bits contributes A(x) x^D to the remainder,
// and any F = A(x) x^D mod P(x) shorter than 128 bits may replace it: XORed into the piece D
// bits later, F leaves the CRC unchanged. With A = Ahi x^64 + Alo,
// F = Ahi (x^(D+64) mod P) + Alo (x^D mod P): two 64x32-bit carry-less products per piece.
// Data is bit-reflected (the first bit on the wire is the lowest bit of the first byte), and the
// product of two reflected operands comes out one bit short of the reflected product, so the
// constants are x^(D+63) and x^(D-1) mod P, reflected into 64 bits (x^k at bit 63-k).
// Four 512-bit accumulators each fold 64 bytes forward by 256 per step. At the end they are
// folded into the last one, whose 64 bytes then have the CRC of everything read so far: the
// crc32 instruction reduces them.

// x^e mod P with P = x^32 + 0x1EDC6F41 (the unreflected Castagnoli polynomial), reflected into
// the 64-bit layout above.
uint64_t ReflectedPowerOfX(uint64_t e) {
  uint32_t r = 1;
  for (uint64_t i = 0; i < e; ++i) r = (r << 1) ^ ((r & 0x80000000u) ? 0x1EDC6F41u : 0u);
  uint64_t reflected = 0;
  for (int k = 0; k < 32; ++k) reflected |= static_cast<uint64_t>((r >> k) & 1u) << (63 - k);
  return reflected;
}

// The constant pair that folds a 128-bit piece forward by `bytes`.
struct FoldConstants {
  uint64_t high, low;
  explicit FoldConstants(uint64_t bytes)
      : high(ReflectedPowerOfX(bytes * 8 + 63)), low(ReflectedPowerOfX(bytes * 8 - 1)) {}
};

__attribute__((target("avx512f"))) inline __m512i Broadcast(const FoldConstants& k) {
  return _mm512_set_epi64(static_cast<long long>(k.low), static_cast<long long>(k.high),
                          static_cast<long long>(k.low), static_cast<long long>(k.high),
                          static_cast<long long>(k.low), static_cast<long long>(k.high),
                          static_cast<long long>(k.low), static_cast<long long>(k.high));
}

// next ^ (each 128-bit piece of `piece` folded forward by the distance `k` was built for).
__attribute__((target("avx512f,vpclmulqdq"))) inline __m512i FoldInto(__m512i piece, __m512i k,
                                                                      __m512i next) {
  const __m512i high = _mm512_clmulepi64_epi128(piece, k, 0x00);  // first 8 bytes x k.high
  const __m512i low = _mm512_clmulepi64_epi128(piece, k, 0x11);   // last 8 bytes x k.low
  return _mm512_ternarylogic_epi64(high, low, next, 0x96);        // three-way XOR
}

// Load 64 bytes at p + at, and store them at copy + at when copying (copy may be nullptr).
__attribute__((target("avx512f"))) inline __m512i LoadLine(const uint8_t* p, uint8_t* copy,
                                                           size_t at) {
  const __m512i line = _mm512_loadu_si512(p + at);
  if (copy != nullptr) _mm512_storeu_si512(copy + at, line);
  return line;
}

// The bare register after n bytes, n a multiple of kFoldBlock (at least one); with `copy`, the
// bytes are also stored there. Inlined into its two callers, where `copy` is a constant.
__attribute__((target("avx512f,vpclmulqdq,sse4.2"))) inline uint32_t FoldRaw(uint32_t c,
                                                                             const uint8_t* p,
                                                                             size_t n,
                                                                             uint8_t* copy) {
  static const FoldConstants by256(256), by192(192), by128(128), by64(64);
  const __m512i step = Broadcast(by256);
  // A register carried in equals that many bits XORed into the front of the message.
  __m512i a = _mm512_xor_si512(LoadLine(p, copy, 0),
                               _mm512_zextsi128_si512(_mm_cvtsi32_si128(static_cast<int>(c))));
  __m512i b = LoadLine(p, copy, 64);
  __m512i d = LoadLine(p, copy, 128);
  __m512i e = LoadLine(p, copy, 192);
  for (size_t at = kFoldBlock; at < n; at += kFoldBlock) {
    a = FoldInto(a, step, LoadLine(p, copy, at));
    b = FoldInto(b, step, LoadLine(p, copy, at + 64));
    d = FoldInto(d, step, LoadLine(p, copy, at + 128));
    e = FoldInto(e, step, LoadLine(p, copy, at + 192));
  }
  e = FoldInto(a, Broadcast(by192), e);
  e = FoldInto(b, Broadcast(by128), e);
  e = FoldInto(d, Broadcast(by64), e);
  alignas(64) uint64_t last[8];
  _mm512_store_si512(reinterpret_cast<__m512i*>(last), e);
  uint64_t r = 0;
  for (uint64_t word : last) r = _mm_crc32_u64(r, word);
  return static_cast<uint32_t>(r);
}

bool DetectFolding() {
  return __builtin_cpu_supports("sse4.2") && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("vpclmulqdq");
}
#else
bool DetectFolding() { return false; }
#endif

// Function-local so that other static initializers may already checksum.
bool UseHardware() {
  static const bool hardware = DetectHardware();
  return hardware;
}

bool UseFolding() {
  static const bool folding = DetectFolding();
  return folding;
}

uint32_t LanesRaw(uint32_t c, const uint8_t* p, size_t n) {
#ifdef BP_CRC32C_X86
  return HardwareRaw(c, p, n);
#else
  return PortableRaw(c, p, n);
#endif
}

#ifdef BP_CRC32C_FOLD
__attribute__((target("avx512f,vpclmulqdq,sse4.2"))) uint32_t FoldingRaw(uint32_t c,
                                                                         const uint8_t* p,
                                                                         size_t n) {
  const size_t bulk = n - n % kFoldBlock;
  if (bulk > 0) c = FoldRaw(c, p, bulk, nullptr);
  return HardwareLane(c, p + bulk, n - bulk);
}

__attribute__((target("avx512f,vpclmulqdq,sse4.2"))) uint32_t FoldingCopyRaw(uint32_t c,
                                                                             uint8_t* dst,
                                                                             const uint8_t* p,
                                                                             size_t n) {
  const size_t bulk = n - n % kFoldBlock;
  if (bulk > 0) c = FoldRaw(c, p, bulk, dst);
  std::memcpy(dst + bulk, p + bulk, n - bulk);
  return HardwareLane(c, p + bulk, n - bulk);
}
#else
uint32_t FoldingRaw(uint32_t c, const uint8_t* p, size_t n) { return LanesRaw(c, p, n); }
uint32_t FoldingCopyRaw(uint32_t c, uint8_t* dst, const uint8_t* p, size_t n) {
  std::memcpy(dst, p, n);
  return LanesRaw(c, p, n);
}
#endif

}  // namespace

uint32_t Crc32cAppendBlock(uint32_t crc, uint32_t block_crc) {
  // With the register's pre- and post-inversion, crc(A B) = zeros(crc(A), |B|) ^ crc(B), where
  // zeros(x, n) is the bare register x after n zero bytes: a linear map, tabulated per byte.
  static const struct ZeroBlock {
    uint32_t t[4][256];
    ZeroBlock() {
      static const uint8_t kZeros[4096] = {};
      uint32_t basis[32];
      for (int bit = 0; bit < 32; ++bit) basis[bit] = PortableRaw(1u << bit, kZeros, sizeof kZeros);
      for (int byte = 0; byte < 4; ++byte) {
        for (uint32_t v = 0; v < 256; ++v) {
          uint32_t out = 0;
          for (int bit = 0; bit < 8; ++bit) {
            if (v & (1u << bit)) out ^= basis[byte * 8 + bit];
          }
          t[byte][v] = out;
        }
      }
    }
  } zeros;
  return zeros.t[0][crc & 0xFF] ^ zeros.t[1][(crc >> 8) & 0xFF] ^ zeros.t[2][(crc >> 16) & 0xFF] ^
         zeros.t[3][crc >> 24] ^ block_crc;
}

uint32_t Crc32cPortable(const void* data, size_t n, uint32_t crc) {
  return ~PortableRaw(~crc, static_cast<const uint8_t*>(data), n);
}

uint32_t Crc32c(const void* data, size_t n, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (n >= kFoldBlock && UseFolding()) return ~FoldingRaw(~crc, p, n);
  if (UseHardware()) return ~LanesRaw(~crc, p, n);
  return Crc32cPortable(data, n, crc);
}

uint32_t Crc32cCopy(void* dst, const void* src, size_t n, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(src);
  auto* out = static_cast<uint8_t*>(dst);
  if (n >= kFoldBlock && UseFolding()) return ~FoldingCopyRaw(~crc, out, p, n);
  if (n != 0) std::memcpy(out, p, n);
  return Crc32c(out, n, crc);
}

bool Crc32cIsHardware() { return UseHardware(); }

bool Crc32cHas(Crc32cPath path) {
  switch (path) {
    case Crc32cPath::kPortable: return true;
    case Crc32cPath::kLanes: return UseHardware();
    case Crc32cPath::kFolding: return UseFolding();
  }
  return false;
}

uint32_t Crc32cVia(Crc32cPath path, const void* data, size_t n, uint32_t crc) {
  const auto* p = static_cast<const uint8_t*>(data);
  if (path == Crc32cPath::kFolding && UseFolding()) return ~FoldingRaw(~crc, p, n);
  if (path != Crc32cPath::kPortable && UseHardware()) return ~LanesRaw(~crc, p, n);
  return Crc32cPortable(data, n, crc);
}

}  // namespace bp
