// Today's lz4 and zstd plugins must decode every unit frame an earlier release wrote: volumes
// outlive the binaries that created them. The frames are committed files (fixtures/README.md says
// which encoder made them); their plain inputs are regenerated from codec_fixture_inputs.h.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "codec_fixture_inputs.h"
#include "fake_host.h"

namespace plugintest {
namespace {

namespace fs = std::filesystem;

fs::path FixtureDir() { return fs::path(__FILE__).parent_path() / "fixtures"; }

std::vector<uint8_t> ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct FrameSet {
  const char* dir;     // under fixtures/
  const char* plugin;  // file name of the plugin that decodes them
};

void PrintTo(const FrameSet& set, std::ostream* os) { *os << set.dir; }

class LegacyFramesTest : public ::testing::TestWithParam<FrameSet> {};

TEST_P(LegacyFramesTest, EveryOldFrameDecodesToItsInput) {
  const FrameSet& set = GetParam();
  LoadedPlugin plugin(set.plugin);
  ASSERT_NE(plugin.header(), nullptr);
  uint8_t uuid[16] = {};
  bp_codec_volume volume{sizeof(bp_codec_volume), 0, uuid, "legacy"};
  FakeConfig config;  // decoding never depends on the encoder's settings
  Buffer header;
  void* handle = nullptr;
  ASSERT_EQ(plugin.codec()->open(config.get(), &volume, nullptr, 0, header.get(), &handle), BP_OK)
      << TakeError();

  size_t checked = 0;
  for (const FixtureInput& input : FixtureInputs()) {
    const fs::path file = FixtureDir() / set.dir / (input.name + ".frame");
    ASSERT_TRUE(fs::exists(file)) << file;
    std::vector<uint8_t> frame = ReadFile(file);
    ASSERT_GE(frame.size(), 3u) << file;
    bp_unit_ctx unit{sizeof(bp_unit_ctx), BP_UNIT_DATA, uuid, 1, 0, input.data.size()};
    Buffer out;
    ASSERT_EQ(plugin.codec()->decode(handle, &unit, frame.data(), frame.size(), out.get()), BP_OK)
        << file << ": " << TakeError();
    EXPECT_EQ(out.bytes(), input.data) << file;
    ++checked;
  }
  EXPECT_EQ(checked, FixtureInputs().size());
  plugin.codec()->close(handle);
}

// The fixtures cover both frame methods, or the test would not pin what it claims to.
TEST_P(LegacyFramesTest, FixturesHoldRawAndCompressedFrames) {
  std::map<uint8_t, int> methods;
  for (const FixtureInput& input : FixtureInputs()) {
    std::vector<uint8_t> frame = ReadFile(FixtureDir() / GetParam().dir / (input.name + ".frame"));
    ASSERT_GE(frame.size(), 2u);
    ++methods[frame[1]];
  }
  EXPECT_GE(methods[0], 4) << "raw frames";
  EXPECT_GE(methods[1], 4) << "compressed frames";
}

INSTANTIATE_TEST_SUITE_P(Bundled, LegacyFramesTest,
                         ::testing::Values(FrameSet{"lz4-acceleration-1", "blockpipe-codec-lz4.so"},
                                           FrameSet{"lz4-acceleration-8", "blockpipe-codec-lz4.so"},
                                           FrameSet{"zstd-level-3", "blockpipe-codec-zstd.so"},
                                           FrameSet{"zstd-level-minus1",
                                                    "blockpipe-codec-zstd.so"}),
                         [](const auto& info) {
                           std::string name = info.param.dir;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace plugintest
