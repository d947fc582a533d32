// Typed values the bundled filters read from strings of their [[filter]] section — durations
// ("20ms", "1.5s"), rates ("2%", "0.02") and operation kinds — plus the deterministic random
// numbers the faults filter draws. Header-only, built into each filter's shared object. Every
// parser returns false with a message naming what was expected, for the caller to prefix with
// the key.
#pragma once

#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

namespace bpplugin {

// "0", "250us", "20ms", "1.5s", "2m": a non-negative duration of at most `max`. A bare number
// is refused (unless it is 0): a latency in the wrong unit is the mistake this catches.
inline bool ParseDuration(const std::string& text, std::chrono::nanoseconds max,
                          std::chrono::nanoseconds* out, std::string* error) {
  auto fail = [&] {
    *error =
        "must be a duration like \"20ms\", \"250us\", \"1.5s\" or \"2m\" (got \"" + text + "\")";
    return false;
  };
  if (text == "0") {
    *out = std::chrono::nanoseconds(0);
    return true;
  }
  if (text.empty() || !(text[0] >= '0' && text[0] <= '9')) return fail();
  char* end = nullptr;
  const double number = std::strtod(text.c_str(), &end);
  const std::string unit(end);
  double scale = 0;
  if (unit == "ns") scale = 1;
  else if (unit == "us") scale = 1e3;
  else if (unit == "ms") scale = 1e6;
  else if (unit == "s") scale = 1e9;
  else if (unit == "m") scale = 60e9;
  else return fail();
  const double ns = number * scale;
  if (!std::isfinite(ns) || ns < 0) return fail();
  if (ns > static_cast<double>(max.count())) {
    *error =
        "must be at most " + std::to_string(max.count() / 1000000) + "ms (got \"" + text + "\")";
    return false;
  }
  *out = std::chrono::nanoseconds(static_cast<int64_t>(ns));
  return true;
}

// "0", "2%", "0.5%", "0.02", "1": a probability in [0, 1].
inline bool ParseRate(const std::string& text, double* out, std::string* error) {
  auto fail = [&] {
    *error = "must be a rate like \"2%\" or \"0.02\", between 0 and 1 (got \"" + text + "\")";
    return false;
  };
  if (text.empty() || !((text[0] >= '0' && text[0] <= '9') || text[0] == '.')) return fail();
  char* end = nullptr;
  double value = std::strtod(text.c_str(), &end);
  const std::string rest(end);
  if (rest == "%") value /= 100;
  else if (!rest.empty()) return fail();
  if (!std::isfinite(value) || value < 0 || value > 1) return fail();
  *out = value;
  return true;
}

// The four kinds of operation a filter tells apart. read: get, read and get_tagged. write: put,
// put_parts and put_if_match. delete: del. list: list.
enum OpKind { kOpRead = 0, kOpWrite = 1, kOpDelete = 2, kOpList = 3, kOpKinds = 4 };

inline const char* OpKindName(OpKind kind) {
  switch (kind) {
    case kOpRead: return "read";
    case kOpWrite: return "write";
    case kOpDelete: return "delete";
    case kOpList: return "list";
    default: return "?";
  }
}

inline bool ParseOpKind(const std::string& text, OpKind* out) {
  for (int k = 0; k < kOpKinds; ++k) {
    if (text == OpKindName(static_cast<OpKind>(k))) {
      *out = static_cast<OpKind>(k);
      return true;
    }
  }
  return false;
}

// SplitMix64: a stateless mixer. Draw(seed, n, lane) is the lane-th uniform number in [0, 1) of
// the n-th call, the same for the same inputs on every run and machine.
inline uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

inline double Draw(uint64_t seed, uint64_t n, uint64_t lane) {
  const uint64_t bits = SplitMix64(SplitMix64(seed ^ SplitMix64(n)) + lane);
  return static_cast<double>(bits >> 11) * (1.0 / 9007199254740992.0);  // 53 bits
}

}  // namespace bpplugin
