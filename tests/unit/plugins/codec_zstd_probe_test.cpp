// The zstd codec's compressibility probe (plugins/codec/common/compress_probe.h): units of 16 KiB
// and more that would barely shrink are stored raw without running zstd, units that compress
// still do, both decode, and damaged frames of either method are refused. The size estimate the
// probe relies on is checked directly on data whose compressibility is known.
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "../../../plugins/codec/common/compress_probe.h"
#include "codec_fixture_inputs.h"
#include "fake_host.h"

namespace plugintest {
namespace {

using Bytes = std::vector<uint8_t>;

// Like fio's write buffers: random bytes whose every 512-byte sector starts with the same 16
// bytes (zstd saves about 3% on it).
Bytes SectorStamped(size_t n, uint32_t seed) {
  Bytes out = FixtureRandom(n, seed);
  for (size_t at = 512; at + 16 <= n; at += 512)
    std::copy_n(out.begin(), 16, out.begin() + static_cast<long>(at));
  return out;
}

// 4 KiB pages with a header, rows of small integers and short words, and free space as zeros.
Bytes DatabasePages(size_t n) {
  static const char* kWords[] = {"paid", "shipped", "berlin", "oslo", "anna", "oskar", "SKU-"};
  Bytes out(n, 0);
  std::mt19937 rng(17);
  for (size_t page = 0; page < n; page += 4096) {
    out[page] = 0x0d;
    size_t at = page + 16;
    const size_t used = page + 1024 + rng() % 2048;
    while (at + 24 < std::min(used, n)) {
      for (int i = 0; i < 3; ++i) out[at++] = static_cast<uint8_t>(rng() % 40);
      const char* word = kWords[rng() % 7];
      while (*word != '\0') out[at++] = static_cast<uint8_t>(*word++);
    }
  }
  return out;
}

class ZstdProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = std::make_unique<LoadedPlugin>("blockpipe-codec-zstd.so");
    ASSERT_NE(plugin_->header(), nullptr);
    bp_codec_volume volume{sizeof(bp_codec_volume), 0, uuid_, "probe"};
    FakeConfig config;
    Buffer header;
    ASSERT_EQ(plugin_->codec()->open(config.get(), &volume, nullptr, 0, header.get(), &handle_),
              BP_OK);
  }
  void TearDown() override {
    if (handle_ != nullptr) plugin_->codec()->close(handle_);
  }
  bp_unit_ctx Unit(size_t n) {
    return bp_unit_ctx{sizeof(bp_unit_ctx), BP_UNIT_DATA, uuid_, 1, 0, n};
  }
  // Encodes, checks the round trip, returns the frame.
  Bytes RoundTrip(const Bytes& input) {
    bp_unit_ctx unit = Unit(input.size());
    Buffer encoded, decoded;
    EXPECT_EQ(plugin_->codec()->encode(handle_, &unit, input.data(), input.size(), encoded.get()),
              BP_OK);
    EXPECT_EQ(plugin_->codec()->decode(handle_, &unit, encoded.storage.data(), encoded.size,
                                       decoded.get()),
              BP_OK);
    EXPECT_EQ(decoded.bytes(), input);
    return encoded.bytes();
  }
  int Decode(const Bytes& frame) {
    bp_unit_ctx unit = Unit(0);
    Buffer out;
    return plugin_->codec()->decode(handle_, &unit, frame.data(), frame.size(), out.get());
  }

  std::unique_ptr<LoadedPlugin> plugin_;
  void* handle_ = nullptr;
  uint8_t uuid_[16] = {};
};

TEST_F(ZstdProbeTest, BarelyCompressibleUnitsAreStoredRaw) {
  for (size_t n : {16384, 32768, 65536}) {
    Bytes input = SectorStamped(n, static_cast<uint32_t>(n));
    Bytes frame = RoundTrip(input);
    EXPECT_EQ(frame[1], 0) << n << ": stored raw";
    EXPECT_LE(frame.size(), input.size() + 12);
  }
}

TEST_F(ZstdProbeTest, CompressibleUnitsAreStillCompressed) {
  EXPECT_EQ(RoundTrip(FixtureText(16384))[1], 1);
  Bytes pages = DatabasePages(65536);
  Bytes frame = RoundTrip(pages);
  EXPECT_EQ(frame[1], 1);
  EXPECT_LT(frame.size(), pages.size() / 2);
  // Random data with a zero tail of a quarter: only the probe's last window sees the zeros.
  Bytes tail = FixtureRandom(65536, 21);
  std::fill(tail.end() - 16384, tail.end(), 0);
  frame = RoundTrip(tail);
  EXPECT_EQ(frame[1], 1);
  EXPECT_LT(frame.size(), 65536u - 16000);
  // Half text, half random: the text windows carry it.
  Bytes mixed = FixtureText(32768);
  Bytes noise = FixtureRandom(32768, 22);
  mixed.insert(mixed.end(), noise.begin(), noise.end());
  frame = RoundTrip(mixed);
  EXPECT_EQ(frame[1], 1);
  EXPECT_LT(frame.size(), 40000u);
}

TEST_F(ZstdProbeTest, UnitsBelowSixteenKibAreNotProbed) {
  // Outside a streak of incompressible units (text first ends any), zstd itself decides: a
  // 4 KiB unit that saves 1/8 and a little more is compressed, although the probe's 512-byte
  // windows would see too little of its repeats.
  ASSERT_EQ(RoundTrip(FixtureText(4096))[1], 1);
  Bytes input = FixtureBarelyCompressible(4096, 256, 23);
  Bytes frame = RoundTrip(input);
  EXPECT_EQ(frame[1], 1);
  EXPECT_LT(frame.size(), input.size());
}

TEST_F(ZstdProbeTest, DamagedFramesOfBothMethodsAreRefused) {
  Bytes raw = RoundTrip(SectorStamped(65536, 24));
  Bytes packed = RoundTrip(FixtureText(65536));
  ASSERT_EQ(raw[1], 0);
  ASSERT_EQ(packed[1], 1);
  // The method byte flipped: raw bytes are not a zstd frame; a zstd frame is not the claimed
  // number of raw bytes.
  Bytes damaged = raw;
  damaged[1] = 1;
  EXPECT_EQ(Decode(damaged), BP_ERR_CORRUPT);
  damaged = packed;
  damaged[1] = 0;
  EXPECT_EQ(Decode(damaged), BP_ERR_CORRUPT);
  // A raw unit one byte short or long, and a compressed one cut or extended.
  for (const Bytes* frame : {&raw, &packed}) {
    damaged = *frame;
    damaged.pop_back();
    EXPECT_EQ(Decode(damaged), BP_ERR_CORRUPT);
    damaged = *frame;
    damaged.push_back(0);
    EXPECT_EQ(Decode(damaged), BP_ERR_CORRUPT);
  }
  // An unknown method.
  damaged = raw;
  damaged[1] = 2;
  EXPECT_EQ(Decode(damaged), BP_ERR_CORRUPT);
  EXPECT_FALSE(TakeError().empty());
}

// Literals are entropy coded only where that saves at least 1/16 of them (compress_probe.h): not
// for random-looking bytes, whatever the sample size, but for text and database pages.
TEST(LiteralEntropyCheckTest, SkipsFlatHistogramsOnly) {
  using codecframe::HistogramWorthEntropyCoding;
  for (size_t n : {512, 1024, 4096, 16384}) {
    Bytes random = FixtureRandom(n, static_cast<uint32_t>(40 + n));
    EXPECT_FALSE(HistogramWorthEntropyCoding(random.data(), random.size())) << n;
    Bytes stamped = SectorStamped(n, static_cast<uint32_t>(41 + n));
    EXPECT_FALSE(HistogramWorthEntropyCoding(stamped.data(), stamped.size())) << n;
    Bytes text = FixtureText(n);
    EXPECT_TRUE(HistogramWorthEntropyCoding(text.data(), text.size())) << n;
  }
  Bytes pages = DatabasePages(4096);
  EXPECT_TRUE(HistogramWorthEntropyCoding(pages.data(), pages.size()));
  // Random bytes with text in the second half: the windows there see it. (A quarter of text is
  // not enough: Huffman codes one table for all literals of a block, and three quarters of
  // random bytes leave it under 1/16 to gain.)
  Bytes mixed = FixtureRandom(4096, 42);
  Bytes text = FixtureText(2048);
  std::copy(text.begin(), text.end(), mixed.end() - 2048);
  EXPECT_TRUE(HistogramWorthEntropyCoding(mixed.data(), mixed.size()));
  std::copy(text.begin(), text.begin() + 1024, mixed.end() - 1024);
  std::copy_n(FixtureRandom(1024, 44).begin(), 1024, mixed.end() - 2048);
  EXPECT_FALSE(HistogramWorthEntropyCoding(mixed.data(), mixed.size()));
  // The probe's windows: 1 KiB of random bytes measures a little under 8 bits per byte, which
  // the sample-size correction takes back.
  Bytes window = FixtureRandom(1024, 43);
  const codecframe::WindowEstimate estimate =
      codecframe::EstimateWindow(window.data(), window.size());
  EXPECT_LT(estimate.literal_bytes, estimate.literals);
  EXPECT_FALSE(codecframe::LiteralsWorthEntropyCoding(estimate.literals, estimate.literal_bytes,
                                                      estimate.literal_symbols));
  const Bytes hex_like = FixtureText(1024);
  const codecframe::WindowEstimate text_estimate =
      codecframe::EstimateWindow(hex_like.data(), hex_like.size());
  EXPECT_TRUE(codecframe::LiteralsWorthEntropyCoding(
      text_estimate.literals, text_estimate.literal_bytes, text_estimate.literal_symbols));
}

// Units whose literals zstd leaves uncompressed are ordinary zstd frames: they decode, and the
// ratio on data whose gain is its repeats is what it was.
TEST_F(ZstdProbeTest, UnitsWithRawLiteralsRoundTrip) {
  for (size_t n : {4096, 65536}) {
    Bytes input = FixtureBarelyCompressible(n, 256, static_cast<uint32_t>(n));
    Bytes frame = RoundTrip(input);
    EXPECT_LE(frame.size(), input.size() + 12) << n;
  }
  Bytes text = FixtureText(4096);
  EXPECT_LT(RoundTrip(text).size(), text.size() / 2);
}

TEST(CompressionEstimateTest, TracksWhatCompressorsFind) {
  using codecframe::EstimateCompressedSize;
  // 1 KiB of random bytes is too short to show all 256 values evenly, so the entropy comes out a
  // little under 8 bits; what matters is staying above the probe's 1/16 threshold.
  Bytes random = FixtureRandom(1024, 31);
  EXPECT_GT(EstimateCompressedSize(random.data(), random.size()), 1024u - 1024u / 16);
  Bytes zeros(1024, 0);
  EXPECT_LT(EstimateCompressedSize(zeros.data(), zeros.size()), 16u);
  Bytes text = FixtureText(1024);
  EXPECT_LT(EstimateCompressedSize(text.data(), text.size()), 512u);
  Bytes pages = DatabasePages(4096);
  EXPECT_LT(EstimateCompressedSize(pages.data() + 1024, 1024), 512u);
  // No repeats but only 16 distinct byte values: the literals' entropy is 4 bits.
  Bytes hex(1024);
  std::mt19937 rng(32);
  for (auto& b : hex) b = static_cast<uint8_t>("0123456789abcdef"[rng() % 16]);
  const size_t hex_estimate = EstimateCompressedSize(hex.data(), hex.size());
  EXPECT_GT(hex_estimate, 400u);
  EXPECT_LT(hex_estimate, 640u);
  // Beyond 4 KiB nothing is claimed.
  Bytes long_text = FixtureText(8192);
  EXPECT_GE(EstimateCompressedSize(long_text.data(), long_text.size()), 4096u);
}

}  // namespace
}  // namespace plugintest
