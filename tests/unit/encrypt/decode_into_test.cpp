// CodecChain::DecodeInto with the bundled plugins through the real host services, as the read
// path uses it: the output vector's size is room the decoder overwrites (a recycled unit buffer
// full of an evicted unit's bytes), so the result must equal Decode's whatever the room held,
// be it larger, exactly as large or smaller than the unit, for raw and compressed frames, for one
// codec (lz4, zstd) and for a chain (zstd → encrypt) that passes through stage buffers kept
// between calls; and a unit that does not decode leaves an empty vector and a Corrupt status.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

#include "config/config.h"
#include "fake_host.h"
#include "loader/plugin_registry.h"
#include "support/status_assert.h"

namespace bp {
namespace {

using ::testing::HasSubstr;

const uint8_t kUuid[16] = {3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3};

class DecodeIntoTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    const std::string text =
        std::string("[backend]\nurl = \"file:///srv/bp/objects\"\n") + GetParam() +
        "[[frontend]]\nplugin = \"nbd\"\nlisten = [\"unix:/srv/bp/nbd.sock\"]\n";
    Config config;
    ASSERT_OK(ParseConfig(text, "/srv/bp/blockpipe.toml", &config));
    registry_ = std::make_unique<PluginRegistry>(
        std::vector<std::filesystem::path>{plugintest::PluginDir()});
    std::unique_ptr<CodecFactory> factory;
    ASSERT_OK(registry_->OpenCodecs(config, &factory));
    std::vector<CodecRecord> records;
    ASSERT_OK(factory->CreateChain(kUuid, "vol", &records, &chain_));
    factory_ = std::move(factory);
  }

  // 64 KiB that compresses (text-like) or does not (random).
  static Bytes Unit(bool compressible, uint32_t seed) {
    Bytes b(64 << 10);
    std::mt19937 rng(seed);
    for (size_t i = 0; i < b.size(); ++i) {
      b[i] = compressible ? static_cast<uint8_t>("abcdefgh"[(i / 7 + seed) % 8])
                          : static_cast<uint8_t>(rng());
    }
    return b;
  }

  std::unique_ptr<PluginRegistry> registry_;
  std::unique_ptr<CodecFactory> factory_;
  std::unique_ptr<CodecChain> chain_;
};

TEST_P(DecodeIntoTest, OverwritesAnyRoomAndEqualsDecode) {
  for (bool compressible : {true, false}) {
    for (uint32_t seed = 1; seed <= 3; ++seed) {
      const Bytes plain = Unit(compressible, seed);
      const UnitId unit{BP_UNIT_DATA, 7, seed, plain.size()};
      Bytes stored;
      ASSERT_OK(chain_->Encode(unit, plain.data(), plain.size(), &stored));
      if (!compressible) EXPECT_GT(stored.size(), plain.size() - 1024) << "a raw frame";
      if (compressible) EXPECT_LT(stored.size(), plain.size() / 2) << "a compressed frame";
      Bytes decoded;
      ASSERT_OK(chain_->Decode(unit, stored.data(), stored.size(), &decoded));
      ASSERT_EQ(decoded, plain);
      for (size_t room : {size_t{0}, size_t{100}, plain.size(), plain.size() + 5000}) {
        Bytes out(room, 0xEE);  // stale bytes of another unit
        Status st = chain_->DecodeInto(unit, stored.data(), stored.size(), &out);
        ASSERT_OK(st) << "room " << room;
        EXPECT_EQ(out, plain) << "room " << room << (compressible ? " compressed" : " raw");
      }
    }
  }
}

TEST_P(DecodeIntoTest, FailureLeavesNothing) {
  const Bytes plain = Unit(true, 4);
  const UnitId unit{BP_UNIT_DATA, 8, 0, plain.size()};
  Bytes stored;
  ASSERT_OK(chain_->Encode(unit, plain.data(), plain.size(), &stored));
  Bytes damaged = stored;
  damaged[damaged.size() / 2] ^= 0x5A;
  damaged.resize(damaged.size() - 3);
  Bytes out(plain.size(), 0xEE);
  Status st = chain_->DecodeInto(unit, damaged.data(), damaged.size(), &out);
  EXPECT_TRUE(st.IsCorrupt()) << st.ToString();
  EXPECT_THAT(st.message(), HasSubstr("decode"));
  EXPECT_TRUE(out.empty());
  // The same thread's stage buffers serve the next unit correctly after the failure.
  ASSERT_OK(chain_->DecodeInto(unit, stored.data(), stored.size(), &out));
  EXPECT_EQ(out, plain);
}

INSTANTIATE_TEST_SUITE_P(
    Chains, DecodeIntoTest,
    ::testing::Values("[[codec]]\nplugin = \"lz4\"\n", "[[codec]]\nplugin = \"zstd\"\n",
                      "[[codec]]\nplugin = \"zstd\"\n[[codec]]\nplugin = "
                      "\"encrypt\"\npassword = \"pw\"\nkdf_ops = 1\n"
                      "kdf_mem = \"8KiB\"\n"),
    [](const ::testing::TestParamInfo<const char*>& info) {
      return std::string(info.index == 0 ? "lz4" : info.index == 1 ? "zstd" : "zstd_encrypt");
    });

}  // namespace
}  // namespace bp
