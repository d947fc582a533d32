// Unit tests of the built lz4 and zstd codec plugins, loaded through the fake host: round trips
// of compressible, incompressible and edge-size units, config validation, and fail-closed decode
// of garbage, truncated, bit-flipped, oversized and foreign input (a quick random fuzz: any
// outcome but a clean error or an exact-length result is a failure, and so is a crash).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../../../plugins/codec/common/compress_probe.h"
#include "codec_fixture_inputs.h"
#include "fake_host.h"

namespace plugintest {
namespace {

using Bytes = std::vector<uint8_t>;

struct CodecCase {
  const char* file;
  const char* name;
  const char* config_key;
};

class CompressionCodecTest : public ::testing::TestWithParam<CodecCase> {
 protected:
  void SetUp() override {
    plugin_ = std::make_unique<LoadedPlugin>(GetParam().file);
    ASSERT_NE(plugin_->header(), nullptr);
    handle_ = Open({});
    ASSERT_NE(handle_, nullptr) << TakeError();
    uuid_.assign(16, 0x5a);
    unit_.struct_size = sizeof(unit_);
    unit_.kind = BP_UNIT_DATA;
    unit_.volume_uuid = uuid_.data();
  }
  void TearDown() override {
    if (handle_ != nullptr) api()->close(handle_);
  }

  const bp_codec_plugin* api() const { return plugin_->codec(); }

  void* Open(const std::map<std::string, std::string>& values, const Bytes& stored = {}) {
    FakeConfig config;
    config.values = values;
    bp_codec_volume volume{sizeof(bp_codec_volume), 0, uuid_.data(), "test"};
    Buffer new_header;
    void* handle = reinterpret_cast<void*>(0x1);
    int rc = api()->open(config.get(), &volume, stored.empty() ? nullptr : stored.data(),
                         stored.size(), stored.empty() ? new_header.get() : nullptr, &handle);
    last_rc_ = rc;
    if (rc != BP_OK) {
      EXPECT_EQ(handle, nullptr);
      return nullptr;
    }
    EXPECT_EQ(new_header.size, 0u) << "compression codecs persist no header";
    return handle;
  }

  Bytes Encode(const Bytes& in) {
    Buffer out;
    unit_.logical_length = in.size();
    EXPECT_EQ(api()->encode(handle_, &unit_, in.data(), in.size(), out.get()), BP_OK)
        << TakeError();
    return out.bytes();
  }
  int Decode(const Bytes& in, Bytes* decoded) {
    Buffer out;
    int rc = api()->decode(handle_, &unit_, in.data(), in.size(), out.get());
    *decoded = out.bytes();
    return rc;
  }

  std::unique_ptr<LoadedPlugin> plugin_;
  void* handle_ = nullptr;
  Bytes uuid_;
  bp_unit_ctx unit_{};
  int last_rc_ = 0;
};

Bytes RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  Bytes out(n);
  for (auto& b : out) b = static_cast<uint8_t>(rng());
  return out;
}

Bytes TextLike(size_t n) {
  static const char kWords[] = "the quick brown fox jumps over the lazy dog; blockpipe segment ";
  Bytes out(n);
  for (size_t i = 0; i < n; ++i)
    out[i] = static_cast<uint8_t>(kWords[(i * 7 + i / 13) % (sizeof(kWords) - 1)]);
  return out;
}

TEST_P(CompressionCodecTest, DeclaresItself) {
  EXPECT_EQ(plugin_->header()->kind, static_cast<uint32_t>(BP_KIND_CODEC));
  EXPECT_STREQ(plugin_->header()->name, GetParam().name);
  EXPECT_EQ(api()->flags & BP_CODEC_COMPRESSES, static_cast<uint32_t>(BP_CODEC_COMPRESSES));
  EXPECT_STREQ(api()->config_keys[0].name, GetParam().config_key);
  EXPECT_EQ(api()->config_keys[1].name, nullptr);
}

TEST_P(CompressionCodecTest, RoundTripsEverySize) {
  for (size_t n : {0, 1, 2, 3, 100, 4095, 4096, 65536, 1 << 20}) {
    for (const Bytes& input : {TextLike(n), RandomBytes(n, static_cast<uint32_t>(n))}) {
      Bytes encoded = Encode(input);
      Bytes decoded;
      ASSERT_EQ(Decode(encoded, &decoded), BP_OK) << n << ": " << TakeError();
      ASSERT_EQ(decoded, input) << n;
    }
  }
}

TEST_P(CompressionCodecTest, CompressesRedundantDataAndStoresRandomDataRaw) {
  Bytes text = TextLike(65536);
  EXPECT_LT(Encode(text).size(), text.size() / 4);
  Bytes random = RandomBytes(65536, 1);
  Bytes encoded = Encode(random);
  EXPECT_LE(encoded.size(), random.size() + 12);
  EXPECT_EQ(encoded[1], 0) << "incompressible input is flagged as stored raw";
}

TEST_P(CompressionCodecTest, ValidatesConfig) {
  std::string key = GetParam().config_key;
  for (const char* bad : {"0", "-100", "1000000"}) {
    EXPECT_EQ(Open({{key, bad}}), nullptr) << key << "=" << bad;
    EXPECT_EQ(last_rc_, BP_ERR_INVALID);
    EXPECT_NE(TakeError().find(key), std::string::npos);
  }
  void* tuned = Open({{key, "9"}});
  ASSERT_NE(tuned, nullptr);
  api()->close(tuned);
  // A header this codec never writes means the volume was made by something else.
  EXPECT_EQ(Open({}, Bytes{1, 2, 3}), nullptr);
  EXPECT_EQ(last_rc_, BP_ERR_INVALID);
}

TEST_P(CompressionCodecTest, EveryTruncationIsCorrupt) {
  for (const Bytes& input : {TextLike(20000), RandomBytes(3000, 9)}) {
    Bytes encoded = Encode(input);
    for (size_t cut = 0; cut < encoded.size(); ++cut) {
      Bytes decoded;
      Bytes truncated(encoded.begin(), encoded.begin() + static_cast<long>(cut));
      ASSERT_EQ(Decode(truncated, &decoded), BP_ERR_CORRUPT) << "cut at " << cut;
      EXPECT_FALSE(TakeError().empty());
    }
  }
}

TEST_P(CompressionCodecTest, RandomGarbageIsRefusedNeverCrashes) {
  std::mt19937 rng(12345);
  const uint8_t magic = Encode(TextLike(100))[0];
  for (int i = 0; i < 20000; ++i) {
    Bytes input = RandomBytes(rng() % 300, static_cast<uint32_t>(rng()));
    // Half the inputs start like a real unit so the fuzz reaches the decompressor itself.
    if (i % 2 == 0 && input.size() >= 3) {
      input[0] = magic;
      input[1] = static_cast<uint8_t>(rng() % 2);
    }
    Bytes decoded;
    int rc = Decode(input, &decoded);
    if (rc == BP_OK) {
      // Mostly raw units whose length field happens to match; in any case a bounded output.
      ASSERT_LE(decoded.size(), input.size() * 256 + 64);
    } else {
      ASSERT_EQ(rc, BP_ERR_CORRUPT);
    }
  }
}

TEST_P(CompressionCodecTest, BitFlipsYieldCorruptOrExactLengthOutput) {
  Bytes input = TextLike(30000);
  Bytes encoded = Encode(input);
  std::mt19937 rng(99);
  for (int i = 0; i < 3000; ++i) {
    Bytes damaged = encoded;
    damaged[rng() % damaged.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    Bytes decoded;
    int rc = Decode(damaged, &decoded);
    // Compression is not authentication: a flipped literal may decode to different bytes, but
    // never to a different length and never with anything but CORRUPT as the error.
    if (rc == BP_OK) {
      ASSERT_EQ(decoded.size(), input.size());
    } else {
      ASSERT_EQ(rc, BP_ERR_CORRUPT);
    }
  }
}

TEST_P(CompressionCodecTest, OversizedLengthClaimsAreRefusedBeforeAllocating) {
  Bytes encoded = Encode(TextLike(10000));
  // Rewrite the LEB128 length to 2^62 and to 2^40, keeping the compressed payload.
  size_t pos = 2;
  while (encoded[pos] & 0x80) ++pos;
  Bytes payload(encoded.begin() + static_cast<long>(pos) + 1, encoded.end());
  for (uint64_t claim : {1ull << 62, 1ull << 40, 10001ull, 9999ull}) {
    Bytes forged = {encoded[0], encoded[1]};
    uint64_t v = claim;
    do {
      forged.push_back(static_cast<uint8_t>((v & 0x7f) | (v >= 0x80 ? 0x80 : 0)));
      v >>= 7;
    } while (v != 0);
    forged.insert(forged.end(), payload.begin(), payload.end());
    Bytes decoded;
    EXPECT_EQ(Decode(forged, &decoded), BP_ERR_CORRUPT) << claim;
  }
  // A 10-byte length with bits beyond 64, and a non-canonical (padded) length.
  Bytes overflow = {encoded[0], 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0};
  Bytes decoded;
  EXPECT_EQ(Decode(overflow, &decoded), BP_ERR_CORRUPT);
  Bytes padded = {encoded[0], 0, 0x81, 0x00, 'x'};
  EXPECT_EQ(Decode(padded, &decoded), BP_ERR_CORRUPT);
}

TEST_P(CompressionCodecTest, ParallelEncodeDecodeOnOneHandle) {
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200 && !failed; ++i) {
        Bytes input = (i % 3 == 0) ? RandomBytes(4096, static_cast<uint32_t>(t * 1000 + i))
                                   : TextLike(static_cast<size_t>(4096 * (1 + i % 16)));
        Buffer encoded, decoded;
        bp_unit_ctx unit = unit_;
        if (api()->encode(handle_, &unit, input.data(), input.size(), encoded.get()) != BP_OK ||
            api()->decode(handle_, &unit, encoded.storage.data(), encoded.size, decoded.get()) !=
                BP_OK ||
            decoded.bytes() != input) {
          failed = true;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_FALSE(failed.load());
}

INSTANTIATE_TEST_SUITE_P(Bundled, CompressionCodecTest,
                         ::testing::Values(CodecCase{"blockpipe-codec-lz4.so", "lz4",
                                                     "acceleration"},
                                           CodecCase{"blockpipe-codec-zstd.so", "zstd", "level"}),
                         [](const auto& info) { return std::string(info.param.name); });

// lz4 probes units of 16 KiB and more before compressing them (codec_lz4.cpp): data that only
// barely compresses is stored raw, and the probe must not throw away what clearly compresses.
class Lz4ProbeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    plugin_ = std::make_unique<LoadedPlugin>("blockpipe-codec-lz4.so");
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
  // Encodes, checks the round trip, returns the frame (and how much of it the codec appended
  // as its unchanged input, if asked).
  Bytes RoundTrip(const Bytes& input, size_t* input_bytes = nullptr) {
    bp_unit_ctx unit{sizeof(bp_unit_ctx), BP_UNIT_DATA, uuid_, 1, 0, input.size()};
    Buffer encoded, decoded;
    EXPECT_EQ(plugin_->codec()->encode(handle_, &unit, input.data(), input.size(), encoded.get()),
              BP_OK);
    EXPECT_EQ(plugin_->codec()->decode(handle_, &unit, encoded.storage.data(), encoded.size,
                                       decoded.get()),
              BP_OK);
    EXPECT_EQ(decoded.bytes(), input);
    if (input_bytes != nullptr) *input_bytes = encoded.input_bytes;
    return encoded.bytes();
  }

  std::unique_ptr<LoadedPlugin> plugin_;
  void* handle_ = nullptr;
  uint8_t uuid_[16] = {};
};

TEST_F(Lz4ProbeTest, BarelyCompressibleUnitIsStoredRawWithoutCompressingIt) {
  // A 48-byte repeat every 4 KiB: lz4 would save about 1%, the probe sees too little to bother.
  Bytes input = FixtureBarelyCompressible(65536, 4096, 11);
  size_t appended_as_input = 0;
  Bytes frame = RoundTrip(input, &appended_as_input);
  EXPECT_EQ(frame[1], 0) << "stored raw";
  EXPECT_LE(frame.size(), input.size() + 12);
  // The raw bytes go through buf_append_input, so a host may write them from where they lie;
  // the frame is the one every decoder reads: 'L', method 0, LEB128 length, the bytes.
  EXPECT_EQ(appended_as_input, input.size());
  EXPECT_EQ(Bytes(frame.begin(), frame.begin() + 5), (Bytes{'L', 0, 0x80, 0x80, 0x04}));
  EXPECT_EQ(Bytes(frame.begin() + 5, frame.end()), input);
}

TEST_F(Lz4ProbeTest, ClearlyCompressibleMultiBlockUnitsAreStillCompressed) {
  // Random data with a zero tail of a quarter: only the probe's last two windows see the zeros.
  Bytes tail = FixtureRandom(65536, 12);
  std::fill(tail.end() - 16384, tail.end(), 0);
  Bytes frame = RoundTrip(tail);
  EXPECT_EQ(frame[1], 1);
  EXPECT_LT(frame.size(), 65536u - 16000);
  // Text in every window, and a unit that is half text, half random.
  EXPECT_EQ(RoundTrip(FixtureText(16384))[1], 1);
  Bytes mixed = FixtureText(32768);
  Bytes noise = FixtureRandom(32768, 13);
  mixed.insert(mixed.end(), noise.begin(), noise.end());
  frame = RoundTrip(mixed);
  EXPECT_EQ(frame[1], 1);
  EXPECT_LT(frame.size(), 40000u);
}

TEST_F(Lz4ProbeTest, SmallUnitsAreKeptCompressedOnlyWhenThatSavesAnEighth) {
  // Below 16 KiB lz4 itself decides (outside a streak; text first ends any): a 4 KiB block that
  // saves under 1/8 is stored raw, by reference, like a unit the probe turned down.
  Bytes text = FixtureText(4096);
  Bytes frame = RoundTrip(text);
  EXPECT_EQ(frame[1], 1);
  EXPECT_LT(frame.size(), text.size() - text.size() / 8);
  Bytes input = FixtureBarelyCompressible(4096, 512, 14);
  size_t appended_as_input = 0;
  frame = RoundTrip(input, &appended_as_input);
  EXPECT_EQ(frame[1], 0);
  EXPECT_EQ(appended_as_input, input.size());
}

// A streak of units that do not save 1/8 is judged by the cheap scout (the first and the last
// bytes of each unit, codecframe::EffortTracker); text ends the streak at once, and data only a
// fuller look recognises (here: random edges around a run of zeros, which the scout's windows
// miss) ends it within EffortTracker::kFullEvery units, after which every such unit is
// compressed again; in a long streak, where only every kScoutEvery-th unit is looked at, text
// ends it within that many units. Units of one thread, as the host encodes a segment.
TEST_P(CompressionCodecTest, AStreakOfIncompressibleUnitsIsScoutedAndEnds) {
  auto method = [&](const Bytes& in) {
    Bytes encoded = Encode(in);
    Bytes decoded;
    EXPECT_EQ(Decode(encoded, &decoded), BP_OK);
    EXPECT_EQ(decoded, in);
    return encoded[1];
  };
  auto start_streak = [&] {
    for (uint32_t i = 0; i < 8; ++i) EXPECT_EQ(method(FixtureRandom(4096, 100 + i)), 0);
  };
  start_streak();
  EXPECT_EQ(method(FixtureText(4096)), 1) << "text is seen by the scout and ends the streak";
  start_streak();
  Bytes hidden = FixtureRandom(4096, 200);
  std::fill(hidden.begin() + 1024, hidden.end() - 1024, 0);
  int first_compressed = -1;
  for (int i = 0; i < 40; ++i) {
    const uint8_t m = method(hidden);
    if (first_compressed < 0 && m == 1) first_compressed = i;
    if (first_compressed >= 0) EXPECT_EQ(m, 1) << "unit " << i << " after the streak ended";
  }
  EXPECT_GE(first_compressed, 0);
  EXPECT_LT(first_compressed, 16) << "the streak lasted past the periodic full look";
  // A long streak looks at one unit in kScoutEvery only, and the scout still sees text then.
  constexpr int kScoutEvery = static_cast<int>(codecframe::EffortTracker::kScoutEvery);
  for (uint32_t i = 0; i < 100; ++i) EXPECT_EQ(method(FixtureRandom(4096, 300 + i)), 0);
  Bytes text = FixtureText(4096);
  int text_compressed = -1;
  for (int i = 0; i < 2 * kScoutEvery && text_compressed < 0; ++i) {
    if (method(text) == 1) text_compressed = i;
  }
  EXPECT_GE(text_compressed, 0);
  EXPECT_LT(text_compressed, kScoutEvery) << "text went unseen for more than one scouting interval";
  EXPECT_EQ(method(text), 1) << "and the streak is over";
}

TEST(CompressionCodecCrossTest, OneCodecRefusesTheOthersUnits) {
  LoadedPlugin lz4("blockpipe-codec-lz4.so"), zstd("blockpipe-codec-zstd.so");
  ASSERT_NE(lz4.header(), nullptr);
  ASSERT_NE(zstd.header(), nullptr);
  uint8_t uuid[16] = {};
  bp_codec_volume volume{sizeof(bp_codec_volume), 0, uuid, "x"};
  FakeConfig config;
  Buffer header;
  void *lz4_handle = nullptr, *zstd_handle = nullptr;
  ASSERT_EQ(lz4.codec()->open(config.get(), &volume, nullptr, 0, header.get(), &lz4_handle), BP_OK);
  ASSERT_EQ(zstd.codec()->open(config.get(), &volume, nullptr, 0, header.get(), &zstd_handle),
            BP_OK);
  bp_unit_ctx unit{sizeof(bp_unit_ctx), BP_UNIT_DATA, uuid, 1, 0, 8192};
  Bytes input = TextLike(8192);
  Buffer by_lz4, by_zstd, out;
  ASSERT_EQ(lz4.codec()->encode(lz4_handle, &unit, input.data(), input.size(), by_lz4.get()),
            BP_OK);
  ASSERT_EQ(zstd.codec()->encode(zstd_handle, &unit, input.data(), input.size(), by_zstd.get()),
            BP_OK);
  EXPECT_EQ(zstd.codec()->decode(zstd_handle, &unit, by_lz4.storage.data(), by_lz4.size, out.get()),
            BP_ERR_CORRUPT);
  EXPECT_EQ(lz4.codec()->decode(lz4_handle, &unit, by_zstd.storage.data(), by_zstd.size, out.get()),
            BP_ERR_CORRUPT);
  EXPECT_NE(TakeError().find("magic"), std::string::npos);
  lz4.codec()->close(lz4_handle);
  zstd.codec()->close(zstd_handle);
}

}  // namespace
}  // namespace plugintest
