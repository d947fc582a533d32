// CRC-32C implementations. The hardware path folds 8 bytes per instruction, three independent
// lanes at a time on long inputs; the portable path is slicing-by-8 over tables built at compile
// time from the reflected Castagnoli polynomial.
#include "util/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
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

// Function-local so that other static initializers may already checksum.
bool UseHardware() {
  static const bool hardware = DetectHardware();
  return hardware;
}

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
#ifdef BP_CRC32C_X86
  if (UseHardware()) return ~HardwareRaw(~crc, static_cast<const uint8_t*>(data), n);
#endif
  return Crc32cPortable(data, n, crc);
}

bool Crc32cIsHardware() { return UseHardware(); }

}  // namespace bp
