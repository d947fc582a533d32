// A plugin codec encoding into reused memory (Codec::EncodeAt through the host's bp_buf): the
// plugin's output lands right after the given length, over whatever stale bytes were there,
// the vector is neither trimmed nor cleared, and the bytes equal what Encode appends.
#include <gtest/gtest.h>

#include "loader/plugin_registry.h"
#include "support/status_assert.h"
#include "test_plugins.h"

namespace bp {
namespace {

using testing::MakeConfig;
using testing::PluginDir;

const uint8_t kUuid[16] = {9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3, 4, 5, 6};

TEST(PluginEncodeAt, WritesOverStaleRoomWithoutTrimming) {
  PluginRegistry registry({PluginDir()});
  Config c = MakeConfig(
      "[backend]\nurl = \"testmem://b\"\n[[frontend]]\nplugin = \"testfront\"\nlisten = [\"x\"]\n"
      "[[codec]]\nplugin = \"testpack\"\n");
  std::unique_ptr<CodecFactory> factory;
  Status st = registry.OpenCodecs(c, &factory);
  ASSERT_OK(st);
  std::vector<CodecRecord> records;
  std::unique_ptr<CodecChain> chain;
  ASSERT_OK(factory->CreateChain(kUuid, "v", &records, &chain));

  Bytes data(4096, 0);
  for (size_t i = 0; i < 64; ++i) data[i * 61] = static_cast<uint8_t>(i + 1);
  UnitId unit{BP_UNIT_DATA, 5, 2, data.size()};
  Bytes expect;
  ASSERT_OK(chain->Encode(unit, data.data(), data.size(), &expect));

  // Room longer than the output and full of bytes the codec must overwrite, not rely on.
  Bytes out(64 << 10, 0xA5);
  size_t length = 100;
  ASSERT_OK(chain->EncodeAt(unit, data.data(), data.size(), &out, &length));
  EXPECT_EQ(length, 100 + expect.size());
  EXPECT_EQ(out.size(), 64u << 10) << "the vector keeps its room";
  EXPECT_EQ(Bytes(out.begin() + 100, out.begin() + static_cast<long>(length)), expect);
  EXPECT_EQ(out[99], 0xA5);

  // Back to back, as units are encoded into a segment; then decodable from where they sit.
  const size_t second = length;
  ASSERT_OK(chain->EncodeAt(unit, data.data(), data.size(), &out, &length));
  EXPECT_EQ(length - second, expect.size());
  Bytes decoded;
  ASSERT_OK(chain->Decode(unit, out.data() + second, length - second, &decoded));
  EXPECT_EQ(decoded, data);

  // Room too short: the vector grows as far as the output needs.
  Bytes tight(10, 0x5A);
  size_t tight_length = 10;
  ASSERT_OK(chain->EncodeAt(unit, data.data(), data.size(), &tight, &tight_length));
  EXPECT_EQ(tight_length, 10 + expect.size());
  EXPECT_EQ(Bytes(tight.begin() + 10, tight.begin() + static_cast<long>(tight_length)), expect);
}

}  // namespace
}  // namespace bp
