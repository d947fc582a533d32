// The simulator's only source of randomness: xoshiro256** seeded through splitmix64. Every
// decision of a run — workload, faults, scheduling, crash points, backoff jitter — is drawn
// from generators derived from the run's seed, so a seed names one run exactly. Independent
// streams (Fork) keep one concern's draws from shifting another's when either changes.
#pragma once

#include <cstdint>

namespace bp::sim {

inline uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A 64-bit mix of two values, for deriving deterministic per-item streams (sector fill).
inline uint64_t Mix(uint64_t a, uint64_t b) {
  uint64_t s = a * 0x9E3779B97F4A7C15ull ^ b;
  return SplitMix64(&s);
}

class Rng {
 public:
  explicit Rng(uint64_t seed) {
    uint64_t s = seed;
    for (auto& word : s_) word = SplitMix64(&s);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  // Uniform in [0, n); n > 0. The modulo bias is irrelevant at the sizes drawn here.
  uint64_t Below(uint64_t n) { return Next() % n; }
  // Uniform in [lo, hi].
  uint64_t Range(uint64_t lo, uint64_t hi) { return lo + Below(hi - lo + 1); }
  // True with probability p (0..1).
  bool Chance(double p) { return p > 0 && (Next() >> 11) * 0x1.0p-53 < p; }
  // An independent generator for one concern, named by `stream`.
  Rng Fork(uint64_t stream) { return Rng(Mix(Next(), stream)); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

}  // namespace bp::sim
