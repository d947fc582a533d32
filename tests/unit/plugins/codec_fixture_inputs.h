// The plain inputs behind the committed codec fixtures in tests/unit/plugins/fixtures/. Each
// fixture file holds the frame an earlier release of a bundled codec produced for one of these
// inputs; codec_legacy_frames_test.cpp regenerates the input here and checks that today's
// decoder still turns the old frame into exactly these bytes. The generators depend only on
// std::mt19937's raw output (fixed by the C++ standard), so they are the same on every platform.
// Never change an existing input: the frames on disk were made from it. Add new ones instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace plugintest {

struct FixtureInput {
  std::string name;           // fixture files are <codec-config>/<name>.frame
  std::vector<uint8_t> data;  // what the frame decodes to
};

inline std::vector<uint8_t> FixtureRandom(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng() >> 24);
  return out;
}

inline std::vector<uint8_t> FixtureText(size_t n) {
  static const char kWords[] =
      "block devices served over nbd whose data lives in object storage, compressed on the way; ";
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(kWords[(i * 7 + i / 13) % (sizeof(kWords) - 1)]);
  }
  return out;
}

// Random bytes with a short repeated run every `period` bytes: lz4 and zstd save only a little,
// which puts the "did it shrink" decision right at its edge.
inline std::vector<uint8_t> FixtureBarelyCompressible(size_t n, size_t period, uint32_t seed) {
  std::vector<uint8_t> out = FixtureRandom(n, seed);
  for (size_t at = 0; at + 64 <= n; at += period) {
    for (size_t k = 0; k < 48; ++k) out[at + 16 + k] = out[at + k % 16];
  }
  return out;
}

inline std::vector<FixtureInput> FixtureInputs() {
  std::vector<FixtureInput> inputs;
  inputs.push_back({"empty", {}});
  inputs.push_back({"one-byte", {0x42}});
  inputs.push_back({"two-bytes", {0x42, 0x42}});
  inputs.push_back({"three-bytes", {0x61, 0x61, 0x61}});
  inputs.push_back({"text-4k", FixtureText(4096)});
  inputs.push_back({"text-64k", FixtureText(65536)});
  inputs.push_back({"random-4k", FixtureRandom(4096, 1)});
  inputs.push_back({"random-16k", FixtureRandom(16384, 2)});
  std::vector<uint8_t> mixed = FixtureText(32768);
  std::vector<uint8_t> noise = FixtureRandom(32768, 3);
  mixed.insert(mixed.end(), noise.begin(), noise.end());
  inputs.push_back({"half-text-half-random-64k", std::move(mixed)});
  inputs.push_back({"zeros-64k", std::vector<uint8_t>(65536, 0)});
  inputs.push_back({"barely-compressible-4k", FixtureBarelyCompressible(4096, 512, 4)});
  inputs.push_back({"barely-compressible-16k", FixtureBarelyCompressible(16384, 2048, 5)});
  return inputs;
}

}  // namespace plugintest
